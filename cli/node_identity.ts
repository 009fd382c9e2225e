/**
 * A node's identity from its data directory: the Ed25519 seed in
 * `<data-dir>/identity.key` (mode 0600, created on first use), as an
 * {@linkcode Identity}; and `can-swarm identity`, which prints it.
 *
 * @module
 */

import { resolveDid } from "../protocols/identity/did_document.ts";
import { Identity } from "../protocols/identity/identity.ts";
import {
  KEY_FILE_ERROR_CODES,
  KeyFileError,
  loadOrCreateSeedFile,
} from "../runtime/store/key_file.ts";
import { type CommandSpec, type ParsedFlags, UsageError } from "./args.ts";

/** File name of the node key inside its data directory. */
export const NODE_KEY_FILE = "identity.key";

/** The node's identity and where it came from. */
export interface NodeIdentity {
  readonly identity: Identity;
  readonly path: string;
  readonly created: boolean;
}

/**
 * Loads the identity of the node whose data directory is `dataDir`,
 * creating its key on first use.
 *
 * @example
 * ```ts
 * const { identity } = await loadNodeIdentity("./data/node-1");
 * ```
 */
export async function loadNodeIdentity(dataDir: string): Promise<NodeIdentity> {
  await Deno.mkdir(dataDir, { recursive: true });
  const file = await loadOrCreateSeedFile(`${dataDir}/${NODE_KEY_FILE}`, {
    label: async (seed) => (await Identity.fromSeed(seed)).did,
  });
  const identity = await Identity.fromSeed(file.seed);
  if (file.label !== undefined && file.label !== identity.did) {
    throw new KeyFileError(
      KEY_FILE_ERROR_CODES.invalid,
      `Key file ${file.path} is labelled ${file.label} but its seed is ${identity.did}`,
    );
  }
  return { identity, path: file.path, created: file.created };
}

/** Flags of `identity`. */
export const IDENTITY_SPEC: CommandSpec = {
  name: "identity",
  summary: "Print the node's DID (creating its key on first use) and its DID document.",
  flags: {
    "data-dir": {
      type: "string",
      value: "DIR",
      description: "The node's data directory",
      default: "./data/node-0",
    },
    json: { type: "boolean", description: "Print DIDs and the DID document as JSON" },
  },
  notes:
    `The key is kept in <data-dir>/${NODE_KEY_FILE}, mode 0600; a key file others can read is refused.`,
};

/** Runs `identity`; resolves with the exit code. */
export async function identityCommand(flags: ParsedFlags): Promise<number> {
  const dataDir = typeof flags["data-dir"] === "string" ? flags["data-dir"] : "./data/node-0";
  if (dataDir.length === 0) throw new UsageError("--data-dir must not be empty");
  const { identity, path, created } = await loadNodeIdentity(dataDir);
  const report = {
    did: identity.did,
    didPeer0: identity.didPeer0(),
    didPeer2: identity.didPeer2(),
    keyFile: path,
    created,
    document: resolveDid(identity.did),
  };
  if (flags.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(
      [
        `${report.did}${created ? " (new key)" : ""}`,
        `  did:peer:0  ${report.didPeer0}`,
        `  did:peer:2  ${report.didPeer2}`,
        `  key file    ${path} (mode 0600)`,
      ].join("\n"),
    );
  }
  return 0;
}

/**
 * A node's identity from its data directory: the Ed25519 seed in
 * `<data-dir>/identity.key` (mode 0600, created on first use), as an
 * {@linkcode Identity}; and `can-swarm identity`, which prints it. The same
 * seed is the node's libp2p key (its PeerId) when it joins a network, so
 * one file names the node everywhere (`runtime/store/node_key.ts`).
 *
 * @module
 */

import { resolveDid } from "../protocols/identity/did_document.ts";
import { Identity } from "../protocols/identity/identity.ts";
import { KEY_FILE_ERROR_CODES, KeyFileError } from "../runtime/store/key_file.ts";
import { loadOrCreateNodeSeed, NODE_KEY_FILE } from "../runtime/store/node_key.ts";
import { base58btc } from "multiformats/bases/base58";
import { type CommandSpec, type ParsedFlags, UsageError } from "./args.ts";

export { NODE_KEY_FILE };

/** The node's identity and where it came from. */
export interface NodeIdentity {
  readonly identity: Identity;
  /** The 32-byte seed: the libp2p key of the node is made from it too. */
  readonly seed: Uint8Array;
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
  const file = await loadOrCreateNodeSeed(dataDir, {
    label: async (seed) => (await Identity.fromSeed(seed)).did,
  });
  const identity = await Identity.fromSeed(file.seed);
  if (file.label !== undefined && file.label !== identity.did) {
    throw new KeyFileError(
      KEY_FILE_ERROR_CODES.invalid,
      `Key file ${file.path} is labelled ${file.label} but its seed is ${identity.did}`,
    );
  }
  return { identity, seed: file.seed, path: file.path, created: file.created };
}

/** Multihash `identity` of the protobuf Ed25519 public key: `00 24`, then `08 01 12 20`. */
const PEER_ID_PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/**
 * The libp2p PeerId (`12D3KooW…`) of an Ed25519 public key, computed without
 * loading libp2p: the node's PeerId and its DID name the same key.
 */
export function peerIdOfPublicKey(publicKey: Uint8Array): string {
  const bytes = new Uint8Array(PEER_ID_PREFIX.length + publicKey.length);
  bytes.set(PEER_ID_PREFIX);
  bytes.set(publicKey, PEER_ID_PREFIX.length);
  return base58btc.baseEncode(bytes);
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
    peerId: peerIdOfPublicKey(identity.publicKey),
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
        `  PeerId      ${report.peerId} (libp2p)`,
        `  did:peer:0  ${report.didPeer0}`,
        `  did:peer:2  ${report.didPeer2}`,
        `  key file    ${path} (mode 0600)`,
      ].join("\n"),
    );
  }
  return 0;
}

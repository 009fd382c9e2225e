/**
 * A node's one key: the 32-byte Ed25519 seed in `<data-dir>/identity.key`
 * (a seed file, see `key_file.ts`). Everything that names the node derives
 * from it — its `did:key` (the signer of its envelopes and audit records)
 * and its libp2p PeerId (the key noise authenticates on every connection) —
 * so the peer at the other end of a connection and the signer of the
 * envelopes it sends are provably one identity.
 *
 * Nodes that ran the libp2p transport before the identities were unified
 * kept a second key, the libp2p protobuf key `node.key`. It is migrated
 * once: its seed becomes `identity.key` (so the node keeps its PeerId) and
 * the old file is removed. When both files exist they must hold the same
 * seed; two different keys are refused rather than guessed between.
 *
 * @module
 */

import {
  KEY_FILE_ERROR_CODES,
  KeyFileError,
  loadOrCreateSeedFile,
  loadSeedFile,
  privateKeyFileExists,
  type SeedFile,
  type SeedFileOptions,
  writeSeedFile,
} from "./key_file.ts";

/** File name of the node key inside its data directory. */
export const NODE_KEY_FILE = "identity.key";
/** File name of the libp2p-only key of earlier versions, migrated on first load. */
export const LEGACY_LIBP2P_KEY_FILE = "node.key";

/** A loaded node seed, and whether it came from the legacy libp2p key. */
export interface NodeSeed extends SeedFile {
  /** Path of the legacy key this seed was migrated from, when it was. */
  readonly migratedFrom?: string;
}

/** Protobuf of a libp2p Ed25519 private key: `08 01` (Type = Ed25519), `12 40` (64-byte Data). */
const LIBP2P_ED25519_HEADER = [0x08, 0x01, 0x12, 0x40];

/**
 * Loads the node's seed from `dataDir`, migrating a legacy `node.key`, or
 * creating a new seed on first use.
 *
 * @throws {KeyFileError} `E_KEY_FILE_PERMISSIONS`, `E_KEY_FILE_INVALID`, or
 * `E_KEY_FILE_CONFLICT` when `identity.key` and `node.key` hold different keys.
 *
 * @example
 * ```ts
 * const { seed } = await loadOrCreateNodeSeed("./data/node-1");
 * ```
 */
export async function loadOrCreateNodeSeed(
  dataDir: string,
  options?: SeedFileOptions,
): Promise<NodeSeed> {
  await Deno.mkdir(dataDir, { recursive: true });
  const path = `${dataDir}/${NODE_KEY_FILE}`;
  const legacyPath = `${dataDir}/${LEGACY_LIBP2P_KEY_FILE}`;
  const legacy = await loadLegacySeed(legacyPath);
  const current = await loadSeedFile(path);
  if (legacy === undefined) return current ?? await loadOrCreateSeedFile(path, options);
  if (current !== undefined) {
    if (!sameBytes(current.seed, legacy)) throw conflict(path, legacyPath);
    await Deno.remove(legacyPath);
    return { ...current, migratedFrom: legacyPath };
  }
  const label = options?.label === undefined ? undefined : await options.label(legacy);
  const written = await writeSeedFile(path, legacy, label);
  // Another process may have created identity.key meanwhile: keep both files then.
  if (!sameBytes(written.seed, legacy)) throw conflict(path, legacyPath);
  await Deno.remove(legacyPath);
  return { ...written, migratedFrom: legacyPath };
}

function conflict(path: string, legacyPath: string): KeyFileError {
  return new KeyFileError(
    KEY_FILE_ERROR_CODES.conflict,
    `Key files ${path} and ${legacyPath} hold different keys: the node would have two ` +
      `identities; remove the one that is not the node's`,
  );
}

/** The seed of a legacy libp2p key file, or undefined when there is none. */
async function loadLegacySeed(path: string): Promise<Uint8Array | undefined> {
  if (!await privateKeyFileExists(path)) return undefined;
  return seedOfLibp2pKey(await Deno.readFile(path), path);
}

/**
 * The 32-byte seed of a libp2p Ed25519 private key in its protobuf form
 * (`08 01 12 40` then seed ‖ public key).
 *
 * @throws {KeyFileError} `E_KEY_FILE_INVALID` for anything else.
 */
export function seedOfLibp2pKey(bytes: Uint8Array, path: string): Uint8Array {
  const wellFormed = bytes.length === LIBP2P_ED25519_HEADER.length + 64 &&
    LIBP2P_ED25519_HEADER.every((byte, index) => bytes[index] === byte);
  if (!wellFormed) {
    throw new KeyFileError(
      KEY_FILE_ERROR_CODES.invalid,
      `Key file ${path} is not a libp2p Ed25519 private key (${bytes.length} bytes)`,
    );
  }
  return bytes.slice(LIBP2P_ED25519_HEADER.length, LIBP2P_ED25519_HEADER.length + 32);
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

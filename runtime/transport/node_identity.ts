/**
 * A node's network identity: one Ed25519 key, persisted in the node's data
 * directory (owner-only, mode 0600), that is the node's libp2p PeerId. The
 * same key's raw 32-byte public key is what the node's `did:key` is derived
 * from, so the peer a connection authenticates (noise) and the signer of the
 * node's envelopes are provably one identity.
 *
 * @module
 */

import "./_deno_shim.ts";
import {
  generateKeyPair,
  generateKeyPairFromSeed,
  privateKeyFromProtobuf,
  privateKeyToProtobuf,
} from "@libp2p/crypto/keys";
import type { Ed25519PrivateKey, PeerId } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { SwarmError } from "../errors.ts";

/** File name of the key inside the data directory. */
export const NODE_KEY_FILE = "node.key";

/** Raised for a key file that is missing, unreadable, too open or not an Ed25519 key. */
export class NodeIdentityError extends SwarmError {}

/** A node's key pair and the ids derived from it. */
export interface NodeIdentity {
  /** The libp2p private key (Ed25519). */
  readonly privateKey: Ed25519PrivateKey;
  /** The PeerId derived from the key. */
  readonly peerId: PeerId;
  /** The raw 32-byte Ed25519 public key (for `did:key`). */
  readonly publicKeyRaw: Uint8Array;
  /** The 32-byte Ed25519 seed (private; for signing with WebCrypto or noble). */
  readonly seed: Uint8Array;
}

function identityOf(privateKey: Ed25519PrivateKey): NodeIdentity {
  return {
    privateKey,
    peerId: peerIdFromPrivateKey(privateKey),
    publicKeyRaw: privateKey.publicKey.raw.slice(),
    seed: privateKey.raw.slice(0, 32),
  };
}

/** A fresh random identity that is not persisted (tests, throwaway nodes). */
export async function ephemeralIdentity(): Promise<NodeIdentity> {
  return identityOf(await generateKeyPair("Ed25519"));
}

/** An identity derived from a 32-byte seed (simulation, reproducible tests). */
export async function identityFromSeed(seed: Uint8Array): Promise<NodeIdentity> {
  if (seed.length !== 32) {
    throw new NodeIdentityError("E_KEY_SEED", `Ed25519 seed must be 32 bytes, got ${seed.length}`);
  }
  return identityOf(await generateKeyPairFromSeed("Ed25519", seed));
}

/**
 * Loads the node's key from `dataDir`, creating it (mode 0600) on first run.
 *
 * @throws {NodeIdentityError} `E_KEY_PERMISSIONS` when group or others may
 * read the file, `E_KEY_FORMAT` when it is not an Ed25519 libp2p key.
 *
 * @example
 * ```ts
 * const identity = await loadOrCreateIdentity("./data/node-0");
 * console.log(identity.peerId.toString());
 * ```
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<NodeIdentity> {
  const path = `${dataDir}/${NODE_KEY_FILE}`;
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      throw new NodeIdentityError(
        "E_KEY_PERMISSIONS",
        `Key file ${path} must be readable by its owner only (mode 0600), got mode ${
          (info.mode & 0o777).toString(8)
        }`,
      );
    }
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return await createIdentityFile(dataDir, path);
  }
  let key;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (error) {
    throw new NodeIdentityError(
      "E_KEY_FORMAT",
      `Key file ${path} is not a libp2p private key: ${(error as Error).message}`,
    );
  }
  if (key.type !== "Ed25519") {
    throw new NodeIdentityError(
      "E_KEY_FORMAT",
      `Key file ${path} must hold an Ed25519 key, got ${key.type}`,
    );
  }
  return identityOf(key);
}

async function createIdentityFile(dataDir: string, path: string): Promise<NodeIdentity> {
  await Deno.mkdir(dataDir, { recursive: true });
  const identity = identityOf(await generateKeyPair("Ed25519"));
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(temporary, privateKeyToProtobuf(identity.privateKey), {
    mode: 0o600,
    createNew: true,
  });
  await Deno.chmod(temporary, 0o600);
  await Deno.rename(temporary, path);
  return identity;
}

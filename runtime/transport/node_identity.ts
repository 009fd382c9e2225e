/**
 * A node's network identity: the libp2p form of the node's one Ed25519 key
 * (`<data-dir>/identity.key`, see `runtime/store/node_key.ts`). The key is
 * the node's libp2p PeerId, and the same seed is what its `did:key` is
 * derived from, so the peer a connection authenticates (noise) and the
 * signer of the node's envelopes are provably one identity.
 *
 * @module
 */

import "./_deno_shim.ts";
import { generateKeyPair, generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import type { Ed25519PrivateKey, PeerId } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { SwarmError } from "../errors.ts";
import { loadOrCreateNodeSeed, NODE_KEY_FILE } from "../store/node_key.ts";

export { NODE_KEY_FILE };

/** Raised for a bad seed, or a PeerId that is not an Ed25519 key. */
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
 * Loads the node's key from `dataDir` (`identity.key`, migrating a legacy
 * libp2p `node.key`), creating it (mode 0600) on first run.
 *
 * @throws {KeyFileError} when the key file is too open, malformed, or in
 * conflict with a legacy key file.
 *
 * @example
 * ```ts
 * const identity = await loadOrCreateIdentity("./data/node-0");
 * console.log(identity.peerId.toString());
 * ```
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<NodeIdentity> {
  return await identityFromSeed((await loadOrCreateNodeSeed(dataDir)).seed);
}

/**
 * The raw 32-byte Ed25519 public key a PeerId names: what a node's `did:key`
 * is made of, so a connection's authenticated peer maps to a DID.
 *
 * @throws {NodeIdentityError} `E_PEER_ID` for a PeerId that is not an Ed25519 key.
 */
export function publicKeyOfPeer(peer: string): Uint8Array {
  let key;
  try {
    key = peerIdFromString(peer).publicKey;
  } catch (error) {
    throw new NodeIdentityError("E_PEER_ID", `Invalid PeerId '${peer.slice(0, 80)}': ${error}`);
  }
  if (key === undefined || key.type !== "Ed25519") {
    throw new NodeIdentityError(
      "E_PEER_ID",
      `PeerId ${peer.slice(0, 80)} is not an Ed25519 key (got ${key?.type ?? "no key"})`,
    );
  }
  return key.raw.slice();
}

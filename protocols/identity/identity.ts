/**
 * A node's or agent's signing identity: an Ed25519 key named by its
 * `did:key`, plus the verifier every receiver uses to check signatures by DID.
 *
 * Keys are made from 32-byte seeds only. Production seeds come from the key
 * file in the node's data directory (`cli/node_identity.ts`); simulated seeds
 * are derived from the simulation seed and the node id, so a seed fixes every
 * identity of a run (DESIGN.md §2).
 *
 * @module
 */

import { didKeyFromPublicKey } from "./did_key.ts";
import { publicKeyFromDid } from "./did_document.ts";
import { didPeer0FromPublicKey, didPeer2FromPublicKey, type DidPeer2Options } from "./did_peer.ts";
import {
  ED25519_SEED_BYTES,
  importEd25519Seed,
  signEd25519,
  VERIFY_KEY_CACHE_MAX,
  verifyEd25519,
  VerifyKeyCache,
} from "./ed25519.ts";
import { IDENTITY_ERROR_CODES, IdentityError } from "./errors.ts";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

/** Signs messages with one key: what an offload hands back for a key. */
export type MessageSigner = (message: Uint8Array) => Promise<Uint8Array>;

/**
 * Somewhere else to do Ed25519 signing for a key, e.g. a crypto thread
 * (`runtime/crypto_thread.ts`). The key never leaves the identity except
 * to the offload, as an opaque non-extractable `CryptoKey`.
 */
export interface SigningOffload {
  /** A signer for `privateKey`. */
  signerFor(privateKey: CryptoKey): MessageSigner;
}

/** A signer: a DID and the private key behind it. */
export class Identity {
  /** `did:key` of the public key; the name every envelope and record carries. */
  readonly did: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly #privateKey: CryptoKey;
  readonly #sign: MessageSigner;

  private constructor(publicKey: Uint8Array, privateKey: CryptoKey, sign?: MessageSigner) {
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
    this.#sign = sign ?? ((message) => signEd25519(privateKey, message));
    this.did = didKeyFromPublicKey(publicKey);
  }

  /**
   * Makes the identity of a 32-byte seed; the same seed gives the same DID.
   *
   * @example
   * ```ts
   * const identity = await Identity.fromSeed(ctx.randomBytes(32));
   * ```
   */
  static async fromSeed(seed: Uint8Array): Promise<Identity> {
    const pair = await importEd25519Seed(seed);
    return new Identity(pair.publicKey, pair.privateKey);
  }

  /** Signs `message` (Ed25519, deterministic). */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.#sign(message);
  }

  /**
   * The same identity, signing through `offload`. Signatures are the same
   * bytes (Ed25519 is deterministic); one probe signature is checked first,
   * so an offload that signs wrongly is refused here, not by every peer.
   *
   * @throws {IdentityError} `E_KEY_INVALID` when the offload's probe signature does not verify.
   */
  async offloaded(offload: SigningOffload): Promise<Identity> {
    const identity = new Identity(
      this.publicKey,
      this.#privateKey,
      offload.signerFor(this.#privateKey),
    );
    const probe = new TextEncoder().encode(`can-swarm/offload-probe/${this.did}`);
    const [expected, got] = await Promise.all([this.sign(probe), identity.sign(probe)]);
    if (!equalBytes(expected, got)) {
      throw new IdentityError(
        IDENTITY_ERROR_CODES.keyInvalid,
        `Signing offload for ${this.did} returned a signature that does not match the key`,
      );
    }
    return identity;
  }

  /** The same key as a `did:peer:0`. */
  didPeer0(): string {
    return didPeer0FromPublicKey(this.publicKey);
  }

  /** The same key as a `did:peer:2`, optionally with services. */
  didPeer2(options?: DidPeer2Options): string {
    return didPeer2FromPublicKey(this.publicKey, options);
  }
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

const SIMULATION_DOMAIN = "can-swarm/simulation-identity/v1";

/**
 * Derives the 32-byte Ed25519 seed of `nodeId` in the simulation run `simSeed`:
 * SHA-256 over a domain tag, the run seed and the node id. Distinct nodes get
 * distinct keys, the same run always gets the same ones.
 */
export async function deriveSimulationSeed(
  simSeed: number | bigint | string,
  nodeId: string,
): Promise<Uint8Array> {
  const material = new TextEncoder().encode(
    `${SIMULATION_DOMAIN}\u0000${String(simSeed)}\u0000${nodeId}`,
  );
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", material));
  return digest.slice(0, ED25519_SEED_BYTES);
}

/**
 * The identity of `nodeId` in simulation run `simSeed`.
 *
 * @example
 * ```ts
 * const alice = await simulationIdentity(42, "node-1"); // same DID on every run with seed 42
 * ```
 */
export async function simulationIdentity(
  simSeed: number | bigint | string,
  nodeId: string,
): Promise<Identity> {
  return await Identity.fromSeed(await deriveSimulationSeed(simSeed, nodeId));
}

/** Somewhere else to verify Ed25519 signatures, e.g. a crypto thread (`runtime/crypto_thread.ts`). */
export interface VerifyOffload {
  /** True when `signature` over `message` verifies under the raw 32-byte `publicKey`. */
  verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean>;
}

/**
 * Verifies signatures by DID, caching each DID's imported key (bounded), or
 * with an offload, each DID's raw key (the offload imports and keeps keys).
 * Verification is synchronous here; the promise lets an offload answer later.
 * Bad DIDs throw `IdentityError`; a wrong signature resolves false.
 */
export class SignatureVerifier {
  readonly #cache: VerifyKeyCache;
  readonly #offload: VerifyOffload | undefined;
  readonly #rawKeys = new Map<string, Uint8Array>();
  readonly #rawKeysOldest = new EvictionCursor(this.#rawKeys);
  readonly #capacity: number;

  constructor(cacheCapacity = VERIFY_KEY_CACHE_MAX, offload?: VerifyOffload) {
    this.#cache = new VerifyKeyCache(cacheCapacity);
    this.#capacity = cacheCapacity;
    this.#offload = offload;
  }

  /** True when `signature` over `message` verifies under the key `did` names. */
  verify(did: string, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
    if (this.#offload !== undefined) {
      let publicKey: Uint8Array;
      try {
        publicKey = this.#rawKey(did);
      } catch (error) {
        return Promise.reject(error);
      }
      return this.#offload.verify(publicKey, signature, message);
    }
    try {
      const key = this.#cache.get(did, () => publicKeyFromDid(did));
      return Promise.resolve(verifyEd25519(key, signature, message));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Imports (and caches) the key of `did` ahead of use; throws for a bad DID. */
  prepare(did: string): Promise<void> {
    try {
      if (this.#offload !== undefined) this.#rawKey(did);
      else this.#cache.get(did, () => publicKeyFromDid(did));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The raw key `did` names, parsed once (bounded, oldest first out). */
  #rawKey(did: string): Uint8Array {
    let publicKey = this.#rawKeys.get(did);
    if (publicKey !== undefined) return publicKey;
    publicKey = publicKeyFromDid(did);
    if (this.#rawKeys.size >= this.#capacity) {
      this.#rawKeysOldest.evict();
    }
    this.#rawKeys.set(did, publicKey);
    return publicKey;
  }

  /** Keys cached. */
  get cachedKeys(): number {
    return this.#offload === undefined ? this.#cache.size : this.#rawKeys.size;
  }
}

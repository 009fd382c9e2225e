/**
 * Ed25519 signing and verification: the single implementation the swarm
 * uses, on Deno's native `node:crypto` (synchronous calls).
 *
 * Chosen by measurement (`deno task bench:ed25519`): on Deno 2.9 the
 * synchronous `node:crypto` calls sign in about 20 µs and verify in about
 * 40 µs, against 35 and 55 µs through WebCrypto's promises for the same
 * native code, and pure-JS `@noble/curves` is 8-10× slower still. Keys are
 * still made and kept as non-extractable WebCrypto `CryptoKey`s, which a
 * crypto thread can receive; each is turned into a `node:crypto` key once.
 * Ed25519 is deterministic, so simulation stays reproducible. Verification
 * keys are imported once per public key and kept in a bounded cache.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createPublicKey, KeyObject, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { IDENTITY_ERROR_CODES, IdentityError } from "./errors.ts";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

/** Length of an Ed25519 public key in bytes. */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Length of an Ed25519 private seed in bytes. */
export const ED25519_SEED_BYTES = 32;
/** Length of an Ed25519 signature in bytes. */
export const ED25519_SIGNATURE_BYTES = 64;

/** Default bound of the verification-key cache; the oldest key is evicted beyond it. */
export const VERIFY_KEY_CACHE_MAX = 4096;

const ALGORITHM = { name: "Ed25519" } as const;
/** The Ed25519 AlgorithmIdentifier of RFC 8410: SEQUENCE { OID 1.3.101.112 }. */
const ED25519_ALGORITHM = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
// RFC 8410 PKCS#8 prefix for an Ed25519 private key; the 32-byte seed follows.
const PKCS8_PREFIX = new Uint8Array([
  ...[0x30, 0x2e, 0x02, 0x01, 0x00],
  ...ED25519_ALGORITHM,
  ...[0x04, 0x22, 0x04, 0x20],
]);

/** An imported Ed25519 key pair: the raw public key and a non-extractable signing key. */
export interface Ed25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: CryptoKey;
}

/**
 * Imports a 32-byte seed as an Ed25519 key pair. The same seed always gives
 * the same key, which is what makes simulated identities reproducible.
 *
 * @example
 * ```ts
 * const pair = await importEd25519Seed(new Uint8Array(32).fill(7));
 * ```
 */
export async function importEd25519Seed(seed: Uint8Array): Promise<Ed25519KeyPair> {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.keyInvalid,
      `Ed25519 seed must be ${ED25519_SEED_BYTES} bytes, got ${describeBytes(seed)}`,
    );
  }
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + seed.length);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, PKCS8_PREFIX.length);
  const exportable = await crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", exportable);
  const publicKey = base64UrlToBytes(jwk.x ?? "");
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, false, ["sign"]);
  pkcs8.fill(0);
  return { publicKey, privateKey };
}

/** Signing keys as `node:crypto` objects, made once per `CryptoKey`. */
const signingKeys = new WeakMap<CryptoKey, KeyObject>();

/**
 * Signs `message` with `privateKey`, synchronously; Ed25519 signatures are
 * deterministic, so these are the same bytes WebCrypto would give.
 */
export function signEd25519Sync(privateKey: CryptoKey, message: Uint8Array): Uint8Array {
  let key = signingKeys.get(privateKey);
  if (key === undefined) {
    key = KeyObject.from(privateKey);
    signingKeys.set(privateKey, key);
  }
  // A fresh buffer of its own: node's may be a view of a shared pool.
  return new Uint8Array(nodeSign(null, message, key));
}

/** Signs `message` with `privateKey` (the promise form of `signEd25519Sync`). */
export function signEd25519(privateKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  try {
    return Promise.resolve(signEd25519Sync(privateKey, message));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A public key ready for verification. */
export type Ed25519PublicKey = KeyObject;

// RFC 8410 SubjectPublicKeyInfo prefix for an Ed25519 public key; the 32-byte key follows.
const SPKI_PREFIX = new Uint8Array([0x30, 0x2a, ...ED25519_ALGORITHM, 0x03, 0x21, 0x00]);

/**
 * Imports a raw 32-byte public key for verification.
 *
 * @throws {IdentityError} `E_KEY_INVALID` for a key that is not 32 bytes or not a key.
 */
export function importEd25519PublicKey(publicKey: Uint8Array): Ed25519PublicKey {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.keyInvalid,
      `Ed25519 public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${
        describeBytes(publicKey)
      }`,
    );
  }
  const spki = new Uint8Array(SPKI_PREFIX.length + ED25519_PUBLIC_KEY_BYTES);
  spki.set(SPKI_PREFIX);
  spki.set(publicKey, SPKI_PREFIX.length);
  try {
    return createPublicKey({ key: Buffer.from(spki.buffer), format: "der", type: "spki" });
  } catch (error) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.keyInvalid,
      `Ed25519 public key could not be imported: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}

/**
 * Verifies an Ed25519 signature, synchronously. Returns false (never
 * throws) for a wrong signature, a wrong length or a malformed point, so
 * callers can map every failure to one error code.
 */
export function verifyEd25519(
  publicKey: Ed25519PublicKey,
  signature: Uint8Array,
  message: Uint8Array,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return nodeVerify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * A bounded cache of imported verification keys, keyed by any stable string
 * (a DID, or the raw key itself). Beyond its bound the least recently
 * inserted key is evicted.
 */
export class VerifyKeyCache {
  readonly #keys = new Map<string, Ed25519PublicKey>();
  readonly #keysOldest = new EvictionCursor(this.#keys);
  readonly #capacity: number;
  #evictions = 0;

  constructor(capacity = VERIFY_KEY_CACHE_MAX) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new IdentityError(
        IDENTITY_ERROR_CODES.keyInvalid,
        `Verify key cache capacity must be a positive integer, got ${capacity}`,
      );
    }
    this.#capacity = capacity;
  }

  /**
   * The imported key for `id`, importing `publicKey()` on a miss.
   *
   * @throws {IdentityError} `E_KEY_INVALID` when the key cannot be imported (nothing is cached).
   */
  get(id: string, publicKey: () => Uint8Array): Ed25519PublicKey {
    const cached = this.#keys.get(id);
    if (cached !== undefined) return cached;
    const imported = importEd25519PublicKey(publicKey());
    if (this.#keys.size >= this.#capacity) {
      this.#keysOldest.evict();
      this.#evictions++;
    }
    this.#keys.set(id, imported);
    return imported;
  }

  /** Keys currently cached. */
  get size(): number {
    return this.#keys.size;
  }

  /** Keys evicted because the cache was full. */
  get evictions(): number {
    return this.#evictions;
  }
}

/** Decodes unpadded base64url (RFC 4648 §5). */
export function base64UrlToBytes(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** Encodes bytes as unpadded base64url (RFC 4648 §5). */
export function bytesToBase64Url(bytes: Uint8Array): string {
  // Encoded natively, without a copy (a string built byte by byte made a CLAIM's kilobyte into
  // a thousand intermediate strings).
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

function describeBytes(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
}

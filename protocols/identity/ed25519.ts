/**
 * Ed25519 signing and verification: the single implementation the swarm
 * uses, on WebCrypto.
 *
 * Chosen by measurement (`deno task bench:ed25519`): WebCrypto signs and
 * verifies about 8-10× faster than pure-JS `@noble/curves` on Deno 2.9, and
 * Ed25519 is deterministic, so simulation stays reproducible. Verification
 * keys are imported once per public key and kept in a bounded cache, because
 * importing costs about a sixth of a verification.
 *
 * @module
 */

import { IDENTITY_ERROR_CODES, IdentityError } from "./errors.ts";

/** Length of an Ed25519 public key in bytes. */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Length of an Ed25519 private seed in bytes. */
export const ED25519_SEED_BYTES = 32;
/** Length of an Ed25519 signature in bytes. */
export const ED25519_SIGNATURE_BYTES = 64;

/** Default bound of the verification-key cache; the oldest key is evicted beyond it. */
export const VERIFY_KEY_CACHE_MAX = 4096;

const ALGORITHM = { name: "Ed25519" } as const;
// RFC 8410 PKCS#8 prefix for an Ed25519 private key; the 32-byte seed follows.
const PKCS8_PREFIX = new Uint8Array([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
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

/** Signs `message` with `privateKey`; Ed25519 signatures are deterministic. */
export async function signEd25519(privateKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(ALGORITHM, privateKey, view(message)));
}

/** Imports a raw 32-byte public key for verification. */
export function importEd25519PublicKey(publicKey: Uint8Array): Promise<CryptoKey> {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.keyInvalid,
      `Ed25519 public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${
        describeBytes(publicKey)
      }`,
    );
  }
  return crypto.subtle.importKey("raw", view(publicKey), ALGORITHM, true, ["verify"]);
}

/**
 * Verifies an Ed25519 signature. Returns false (never throws) for a wrong
 * signature length, so callers can map every failure to one error code.
 */
export function verifyEd25519(
  publicKey: CryptoKey,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return Promise.resolve(false);
  // No async wrapper: this is the hottest call of the swarm. WebCrypto
  // rejects some malformed points instead of answering false.
  return crypto.subtle.verify(ALGORITHM, publicKey, view(signature), view(message))
    .catch(() => false);
}

/**
 * A bounded cache of imported verification keys, keyed by any stable string
 * (a DID). Beyond its bound the least recently inserted key is evicted.
 */
export class VerifyKeyCache {
  readonly #keys = new Map<string, Promise<CryptoKey>>();
  /** The same keys once imported, so a hit needs no await. */
  readonly #ready = new Map<string, CryptoKey>();
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

  /** The imported key for `id`, importing `publicKey()` on a miss. */
  get(id: string, publicKey: () => Uint8Array): Promise<CryptoKey> {
    const cached = this.#keys.get(id);
    if (cached !== undefined) return cached;
    const imported = importEd25519PublicKey(publicKey());
    imported.then(
      (key) => {
        if (this.#keys.get(id) === imported) this.#ready.set(id, key);
      },
      // A rejected import must not stay cached as the answer for this id.
      () => this.#keys.delete(id),
    );
    if (this.#keys.size >= this.#capacity) {
      const oldest = this.#keys.keys().next().value as string;
      this.#keys.delete(oldest);
      this.#ready.delete(oldest);
      this.#evictions++;
    }
    this.#keys.set(id, imported);
    return imported;
  }

  /** The imported key for `id` if it is ready now (no import, no await). */
  ready(id: string): CryptoKey | undefined {
    return this.#ready.get(id);
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
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** WebCrypto's typings want ArrayBuffer-backed views; ours always are, or are copied. */
function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
}

function describeBytes(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
}

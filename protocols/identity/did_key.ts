/**
 * `did:key` for Ed25519 keys (W3C CCG did:key method): the DID is the
 * multibase (base58btc, `z`) encoding of the multicodec `ed25519-pub` (0xed)
 * prefix followed by the 32-byte public key. The DID is the key, so it
 * resolves without a network.
 *
 * @module
 */

import { base58btc } from "multiformats/bases/base58";
import { ED25519_PUBLIC_KEY_BYTES } from "./ed25519.ts";
import { IDENTITY_ERROR_CODES, IdentityError } from "./errors.ts";
import type { DidDocument } from "./did_document.ts";

/** The `did:key` method prefix. */
export const DID_KEY_PREFIX = "did:key:";
/** Multicodec `ed25519-pub` as its unsigned-varint bytes. */
export const ED25519_MULTICODEC_PREFIX: readonly number[] = [0xed, 0x01];
/** Longest DID string accepted anywhere; a bound against hostile input. */
export const DID_LENGTH_MAX = 2048;

/**
 * The multibase (`z…`) form of an Ed25519 public key with its multicodec
 * prefix, as used in `did:key`, `did:peer` and `publicKeyMultibase`.
 */
export function ed25519Multibase(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.keyInvalid,
      `Ed25519 public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${
        publicKey instanceof Uint8Array ? publicKey.length : typeof publicKey
      }`,
    );
  }
  const prefixed = new Uint8Array(2 + publicKey.length);
  prefixed.set(ED25519_MULTICODEC_PREFIX);
  prefixed.set(publicKey, 2);
  return base58btc.encode(prefixed);
}

/** Parses a multibase Ed25519 public key (`z6Mk…`) back to its 32 raw bytes. */
export function parseEd25519Multibase(multibase: string, context: string): Uint8Array {
  if (typeof multibase !== "string" || !multibase.startsWith("z")) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `${context}: key must be base58btc multibase starting with 'z', got '${
        String(multibase).slice(0, 64)
      }'`,
    );
  }
  let decoded: Uint8Array;
  try {
    decoded = base58btc.decode(multibase);
  } catch {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `${context}: key is not valid base58btc, got '${multibase.slice(0, 64)}'`,
    );
  }
  if (decoded[0] !== ED25519_MULTICODEC_PREFIX[0] || decoded[1] !== ED25519_MULTICODEC_PREFIX[1]) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didUnsupported,
      `${context}: only Ed25519 keys (multicodec 0xed) are supported, got prefix 0x${
        hex(decoded.subarray(0, 2))
      }`,
    );
  }
  if (decoded.length !== 2 + ED25519_PUBLIC_KEY_BYTES) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `${context}: Ed25519 key must be ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${
        decoded.length - 2
      }`,
    );
  }
  return decoded.slice(2);
}

/**
 * The `did:key` of an Ed25519 public key.
 *
 * @example
 * ```ts
 * didKeyFromPublicKey(identity.publicKey); // "did:key:z6Mk…"
 * ```
 */
export function didKeyFromPublicKey(publicKey: Uint8Array): string {
  return DID_KEY_PREFIX + ed25519Multibase(publicKey);
}

/** The Ed25519 public key a `did:key` names; throws {@linkcode IdentityError} otherwise. */
export function publicKeyFromDidKey(did: string): Uint8Array {
  checkDidString(did);
  if (!did.startsWith(DID_KEY_PREFIX)) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didUnsupported,
      `Expected a did:key, got '${did.slice(0, 64)}'`,
    );
  }
  const multibase = did.slice(DID_KEY_PREFIX.length);
  if (multibase.includes("#") || multibase.includes("?") || multibase.includes("/")) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `A did:key must not carry a path, query or fragment, got '${did.slice(0, 96)}'`,
    );
  }
  return parseEd25519Multibase(multibase, `Cannot read did:key '${did.slice(0, 96)}'`);
}

/**
 * Resolves a `did:key` to its DID document: one Ed25519 verification method
 * (`Ed25519VerificationKey2020`, id `did#multibase`) used for
 * authentication, assertion and capability invocation/delegation.
 */
export function resolveDidKey(did: string): DidDocument {
  const publicKey = publicKeyFromDidKey(did);
  const multibase = ed25519Multibase(publicKey);
  const methodId = `${did}#${multibase}`;
  return {
    "@context": [
      "https://www.w3.org/ns/did/v1",
      "https://w3id.org/security/suites/ed25519-2020/v1",
    ],
    id: did,
    verificationMethod: [{
      id: methodId,
      type: "Ed25519VerificationKey2020",
      controller: did,
      publicKeyMultibase: multibase,
    }],
    authentication: [methodId],
    assertionMethod: [methodId],
    capabilityInvocation: [methodId],
    capabilityDelegation: [methodId],
  };
}

/** Rejects non-strings and absurdly long DIDs before any parsing. */
export function checkDidString(did: unknown): asserts did is string {
  if (typeof did !== "string" || !did.startsWith("did:")) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `A DID must be a string starting with 'did:', got ${
        typeof did === "string" ? `'${did.slice(0, 64)}'` : typeof did
      }`,
    );
  }
  if (did.length > DID_LENGTH_MAX) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `A DID must be at most ${DID_LENGTH_MAX} characters, got ${did.length}`,
    );
  }
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

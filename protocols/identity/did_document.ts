/**
 * DID documents and method-independent resolution for the DID methods the
 * swarm accepts: `did:key` and `did:peer` (numalgo 0 and 2), Ed25519 only.
 *
 * @module
 */

import { checkDidString, publicKeyFromDidKey, resolveDidKey } from "./did_key.ts";
import { publicKeyFromDidPeer, resolveDidPeer } from "./did_peer.ts";
import { IDENTITY_ERROR_CODES, IdentityError } from "./errors.ts";

/** One verification method of a DID document. */
export interface VerificationMethod {
  readonly id: string;
  readonly type: "Ed25519VerificationKey2020" | "Multikey";
  readonly controller: string;
  readonly publicKeyMultibase: string;
}

/** One service endpoint of a DID document (did:peer:2 only). */
export interface DidService {
  readonly id: string;
  readonly type: string;
  readonly serviceEndpoint: unknown;
  readonly [extra: string]: unknown;
}

/** A resolved DID document (W3C DID Core), restricted to what these methods produce. */
export interface DidDocument {
  readonly "@context": readonly string[];
  readonly id: string;
  readonly verificationMethod: readonly VerificationMethod[];
  readonly authentication?: readonly string[];
  readonly assertionMethod?: readonly string[];
  readonly capabilityInvocation?: readonly string[];
  readonly capabilityDelegation?: readonly string[];
  readonly keyAgreement?: readonly string[];
  readonly service?: readonly DidService[];
}

/**
 * Resolves any supported DID to its document.
 *
 * @example
 * ```ts
 * const doc = resolveDid("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
 * doc.verificationMethod[0].publicKeyMultibase; // "z6Mkha…"
 * ```
 */
export function resolveDid(did: string): DidDocument {
  checkDidString(did);
  if (did.startsWith("did:key:")) return resolveDidKey(did);
  if (did.startsWith("did:peer:")) return resolveDidPeer(did);
  throw new IdentityError(
    IDENTITY_ERROR_CODES.didUnsupported,
    `Unsupported DID method in '${did.slice(0, 64)}': only did:key and did:peer are supported`,
  );
}

/**
 * The Ed25519 signing key of a DID: the did:key itself, or the single
 * authentication key of a did:peer.
 */
export function publicKeyFromDid(did: string): Uint8Array {
  checkDidString(did);
  if (did.startsWith("did:key:")) return publicKeyFromDidKey(did);
  if (did.startsWith("did:peer:")) return publicKeyFromDidPeer(did);
  throw new IdentityError(
    IDENTITY_ERROR_CODES.didUnsupported,
    `Unsupported DID method in '${did.slice(0, 64)}': only did:key and did:peer are supported`,
  );
}

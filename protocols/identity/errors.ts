/**
 * Typed errors of the identity layer: DIDs, keys and agent manifests.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** Stable codes raised by {@linkcode IdentityError}. */
export const IDENTITY_ERROR_CODES = {
  /** A DID string that does not parse. */
  didInvalid: "E_DID_INVALID",
  /** A well-formed DID of a method or key type this node does not support. */
  didUnsupported: "E_DID_UNSUPPORTED",
  /** A key or seed of the wrong length or form. */
  keyInvalid: "E_KEY_INVALID",
} as const;

/** Raised for unusable DIDs and keys. */
export class IdentityError extends SwarmError {}

/** Stable codes raised by {@linkcode ManifestError}. */
export const MANIFEST_ERROR_CODES = {
  /** A manifest field is missing, of the wrong type or out of range. */
  invalid: "E_MANIFEST_INVALID",
  /** The manifest's signature does not verify under its agent DID. */
  signatureInvalid: "E_MANIFEST_SIG_INVALID",
  /** A registry already holds a newer (or conflicting equal) version for the agent. */
  stale: "E_MANIFEST_STALE",
  /** The registry is at its bound. */
  registryFull: "E_REGISTRY_FULL",
} as const;

/** Raised for bad, forged or stale agent manifests. */
export class ManifestError extends SwarmError {}

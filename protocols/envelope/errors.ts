/**
 * Typed envelope errors, one stable code per way an envelope can be wrong
 * (DESIGN.md §4). Receivers count them by code; nothing a peer sends makes
 * the envelope layer throw anything else.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** The stable code of every envelope failure. */
export const ENVELOPE_ERROR_CODES = {
  /** Not DAG-CBOR, not a map, or not in canonical form. */
  encoding: "E_ENV_ENCODING",
  /** `v` is a number other than the supported version. */
  version: "E_ENV_VERSION",
  /** The signature does not verify under the sender's key. */
  signature: "E_SIG_INVALID",
  /** The sender is not a usable Ed25519 did:key, or not the sender expected. */
  senderKey: "E_SENDER_KEY_MISMATCH",
  /** `lamport` is ≤ 0. */
  lamport: "E_LAMPORT_INVALID",
  /** The inline payload (or the whole envelope) exceeds the size cap. */
  payloadSize: "E_PAYLOAD_TOO_LARGE",
  /** `kind` is not in the receiver's allowlist. */
  kind: "E_KIND_NOT_ALLOWED",
  /** `policy` is not the hash of the receiver's policy capsule. */
  policy: "E_POLICY_MISMATCH",
  /** The sender's nonce was already seen within the replay window. */
  replay: "E_NONCE_REPLAYED",
  /** A field is missing or of the wrong type or shape. */
  fieldType: "E_FIELD_TYPE",
  /** A field the format does not define. */
  fieldUnknown: "E_FIELD_UNKNOWN",
  /** A referenced payload is not in the content store (only when resolving payloads). */
  payloadUnavailable: "E_PAYLOAD_UNAVAILABLE",
} as const;

/** One envelope error code. */
export type EnvelopeErrorCode = typeof ENVELOPE_ERROR_CODES[keyof typeof ENVELOPE_ERROR_CODES];

/** Raised (or returned) for a bad envelope; `code` is one of {@linkcode ENVELOPE_ERROR_CODES}. */
export class EnvelopeError extends SwarmError {
  declare readonly code: EnvelopeErrorCode;

  constructor(code: EnvelopeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * Typed errors of the audit log and of replay. Replay reports its first
 * violation with one of these codes and a message that names the record.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** Stable codes of {@linkcode AuditError}. */
export const AUDIT_ERROR_CODES = {
  /** A record that does not decode, has a bad field, or is not canonical. */
  record: "E_AUDIT_RECORD",
  /** A record whose seq is not its position: missing or reordered records. */
  sequence: "E_AUDIT_SEQUENCE",
  /** A record whose `prev` is not the hash of the record before it. */
  chain: "E_AUDIT_CHAIN",
  /** A record whose node signature does not verify. */
  signature: "E_AUDIT_SIG_INVALID",
  /** A record written by another node than the log's. */
  node: "E_AUDIT_NODE",
  /** A record or envelope of another thread than the log's. */
  thread: "E_AUDIT_THREAD",
  /** A logged envelope that fails envelope verification. */
  envelope: "E_AUDIT_ENVELOPE",
  /** The same envelope logged twice in the same direction, or a nonce reused. */
  duplicate: "E_AUDIT_DUPLICATE",
  /** A sender's Lamport values that do not increase. */
  lamport: "E_AUDIT_LAMPORT",
  /** A second, different DECIDE for one NEED. */
  doubleDecide: "E_AUDIT_DOUBLE_DECIDE",
  /** A log whose tail was torn by a crash (replay reports it; opening truncates it). */
  torn: "E_AUDIT_TORN",
  /** A damaged frame with more data after it. */
  corrupt: "E_AUDIT_CORRUPT",
  /** Too many appends waiting on one thread's log. */
  backlog: "E_AUDIT_BACKLOG",
} as const;

/** One audit error code. */
export type AuditErrorCode = typeof AUDIT_ERROR_CODES[keyof typeof AUDIT_ERROR_CODES];

/** Raised for unusable audit logs and returned for replay violations. */
export class AuditError extends SwarmError {
  declare readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

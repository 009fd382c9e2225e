/**
 * The lifecycle's typed rejections. Each has a stable code; a node counts
 * rejections by code and never lets one crash an actor.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** Codes of protocol rejections. */
export type ProtocolErrorCode =
  | "E_PAYLOAD"
  | "E_UNKNOWN_NEED"
  | "E_NEED_EXISTS"
  | "E_NEED_CLOSED"
  | "E_DEADLINE"
  | "E_OUT_OF_WINDOW"
  | "E_PROPOSAL_EXISTS"
  | "E_UNKNOWN_PROPOSAL"
  | "E_TOO_MANY_PROPOSALS"
  | "E_BAD_PATCH"
  | "E_NOT_VERIFIER"
  | "E_NOT_COMMITTEE_MEMBER"
  | "E_DUPLICATE_VOTE"
  | "E_NO_QUORUM"
  | "E_DECIDE_CONFLICT"
  | "E_ORPHANED"
  | "E_NOT_DECIDER"
  | "E_STALE_EPOCH"
  | "E_STALE_FENCE"
  | "E_UNKNOWN_TASK"
  | "E_TASK_NOT_READY"
  | "E_TASK_CLAIMED"
  | "E_TASK_BUSY"
  | "E_UNKNOWN_LEASE"
  | "E_LEASE_TTL"
  | "E_NOT_LEASE_HOLDER"
  | "E_WORKER_REJECTED"
  | "E_OWN_RESULT"
  | "E_LEASE_EXPIRED"
  | "E_LEASE_CONFLICT"
  | "E_NO_ARTIFACT"
  | "E_UNKNOWN_COMMIT"
  | "E_BAD_STATE"
  | "E_AWAITING_VOTES"
  | "E_WINDOW_OPEN"
  | "E_BOUNTY_CAP"
  | "E_ESCROW_WINDOW"
  | "E_INSUFFICIENT_FUNDS"
  | "E_COMMITTEE_INVALID"
  | "E_CHALLENGE_BOND"
  | "E_CHALLENGE_WINDOW"
  | "E_CHALLENGE_RATE"
  | "E_EVIDENCE_TOO_LARGE"
  | "E_PROOF_MALFORMED"
  | "E_SELF_CHALLENGE"
  | "E_UNKNOWN_CHALLENGE"
  | "E_NOT_CHALLENGER"
  | "E_CHALLENGE_RESOLVED"
  | "E_NOT_ELIGIBLE";

/** A message the lifecycle refuses. */
export class ProtocolError extends SwarmError {
  declare readonly code: ProtocolErrorCode;
  /** For `E_WINDOW_OPEN`: node time (ms) at which the message may be accepted. */
  readonly retryAtMs: number | undefined;

  constructor(code: ProtocolErrorCode, message: string, retryAtMs?: number) {
    super(code, message);
    this.retryAtMs = retryAtMs;
  }
}

/**
 * Codes that mean "not yet" rather than "never": the message refers to
 * something this node has not seen (peers' messages can arrive out of
 * causal order) or to a window that has not closed yet. A node parks such
 * messages and retries them; every other code is a final rejection.
 */
export const PARKABLE_CODES: ReadonlySet<ProtocolErrorCode> = new Set([
  "E_UNKNOWN_NEED",
  "E_UNKNOWN_PROPOSAL",
  "E_UNKNOWN_TASK",
  "E_UNKNOWN_COMMIT",
  "E_AWAITING_VOTES",
  "E_WINDOW_OPEN",
  // A lease message whose CLAIM, or the reopen before it, has not arrived yet.
  "E_TASK_BUSY",
  "E_UNKNOWN_LEASE",
  // A CLAIM of a task whose required tasks' FINALIZEs have not arrived yet (the worker saw them).
  "E_TASK_NOT_READY",
  // Credit the sender had when it sent may still be on its way to this node.
  "E_INSUFFICIENT_FUNDS",
  "E_UNKNOWN_CHALLENGE",
]);

/** Whether an error only means the message came too early. */
export function isParkable(error: unknown): error is ProtocolError {
  return error instanceof ProtocolError && PARKABLE_CODES.has(error.code);
}

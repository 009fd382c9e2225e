/**
 * DECIDEs waiting for the decide log to confirm them. A node accepts a
 * peer's DECIDE only once the decide log holds exactly that record: the log
 * is where a decision becomes final (P1, P4), so a DECIDE that was never
 * written — a forger's, or a zombie decider's with a stale fence — is
 * refused, and a decision that was written is accepted even when it arrives
 * after an epoch advance or a failover. While the log is out of reach (the
 * minority side of a CP partition), the check is retried.
 *
 * @module
 */

import { type DecideRecord, sameDecision } from "../runtime/store/decide_log.ts";
import type { LifecycleMessage } from "../protocols/lifecycle/payloads.ts";

/** What the log says about a DECIDE. */
export type DecideVerdict =
  /** The log holds this very decision. */
  | "confirmed"
  /** The log holds no decision for the NEED. */
  | "unwritten"
  /** The log holds another decision for the NEED (a loser, a zombie's, a forgery). */
  | "contradicted";

/** Judges a DECIDE against the record the log holds for its NEED. */
export function judgeDecide(
  logged: DecideRecord | undefined,
  message: LifecycleMessage<"DECIDE">,
): DecideVerdict {
  if (logged === undefined) return "unwritten";
  return sameDecision(logged, message.payload) ? "confirmed" : "contradicted";
}

/** A DECIDE under confirmation. */
export interface PendingDecide {
  readonly message: LifecycleMessage<"DECIDE">;
  readonly bytes: Uint8Array;
  /** Checks made so far (for the retry bound). */
  attempts: number;
}

/** Checks of one DECIDE before it is dropped as unconfirmable. */
export const DECIDE_CHECKS_MAX = 120;
/** Pause between checks while the log is out of reach. */
export const DECIDE_RECHECK_MS = 1_000;

/** DECIDEs under confirmation, by envelope id; bounded (overflow refuses new ones). */
export class DecideConfirmations {
  readonly #pending = new Map<string, PendingDecide>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Whether the DECIDE `id` is being confirmed. */
  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** Starts confirming a DECIDE; false when too many wait already. */
  add(message: LifecycleMessage<"DECIDE">, bytes: Uint8Array): boolean {
    if (this.#pending.size >= this.#capacity) return false;
    this.#pending.set(message.id, { message, bytes, attempts: 0 });
    return true;
  }

  /** The DECIDE `id`, if it waits. */
  get(id: string): PendingDecide | undefined {
    return this.#pending.get(id);
  }

  /** Stops confirming the DECIDE `id`. */
  delete(id: string): void {
    this.#pending.delete(id);
  }
}

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

import type { ActorContext } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { type DecideLog, type DecideRecord, sameDecision } from "../runtime/store/decide_log.ts";
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

/** Messages the confirmation sends to its actor (the node core). */
export type ConfirmationMessage =
  | {
    readonly type: "decide-checked";
    readonly id: string;
    readonly logged: Settled<DecideRecord | undefined>;
  }
  | { readonly type: "decide-recheck"; readonly id: string };

/** What the core does with a judged DECIDE. */
export interface ConfirmationSink {
  /** The log holds the DECIDE: apply it. */
  accept(message: LifecycleMessage<"DECIDE">, bytes: Uint8Array): void;
  /** Counts a refusal by its code. */
  count(code: string): void;
}

/** DECIDEs under confirmation, by envelope id; bounded (overflow refuses new ones). */
export class DecideConfirmations {
  readonly #pending = new Map<string, PendingDecide>();
  readonly #capacity: number;
  readonly #log: DecideLog;

  constructor(log: DecideLog, capacity: number) {
    this.#log = log;
    this.#capacity = capacity;
  }

  /** Whether the DECIDE `id` is being confirmed. */
  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** Starts confirming a DECIDE; refuses it (`E_DECIDE_BACKLOG`) when too many wait already. */
  start(
    ctx: ActorContext<ConfirmationMessage>,
    message: LifecycleMessage<"DECIDE">,
    bytes: Uint8Array,
    sink: ConfirmationSink,
  ): void {
    if (this.#pending.size >= this.#capacity) return sink.count("E_DECIDE_BACKLOG");
    this.#pending.set(message.id, { message, bytes, attempts: 0 });
    this.check(ctx, message.id);
  }

  /** Asks the decide log about the DECIDE `id`; the answer comes back as `decide-checked`. */
  check(ctx: ActorContext<ConfirmationMessage>, id: string): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    pending.attempts++;
    const logged = this.#log.getDecide(pending.message.payload.needId);
    ctx.pipeToSelf(logged, (result) => ({ type: "decide-checked", id, logged: result }));
  }

  /** Judges the log's answer: accept, refuse, or ask again later when the log was out of reach. */
  checked(
    ctx: ActorContext<ConfirmationMessage>,
    answer: Extract<ConfirmationMessage, { type: "decide-checked" }>,
    sink: ConfirmationSink,
  ): void {
    const pending = this.#pending.get(answer.id);
    if (pending === undefined) return;
    if (!answer.logged.ok && pending.attempts < DECIDE_CHECKS_MAX) {
      ctx.schedule(DECIDE_RECHECK_MS, { type: "decide-recheck", id: answer.id });
      return;
    }
    this.#pending.delete(answer.id);
    if (!answer.logged.ok) return sink.count("E_DECIDE_UNCONFIRMED");
    const verdict = judgeDecide(answer.logged.value, pending.message);
    if (verdict === "unwritten") return sink.count("E_DECIDE_UNWRITTEN");
    if (verdict === "contradicted") return sink.count("E_DECIDE_CONFLICT");
    sink.accept(pending.message, pending.bytes);
  }
}

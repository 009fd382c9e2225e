/**
 * DECIDEs waiting for the decide log to confirm them. A node accepts a
 * peer's DECIDE only once the decide log holds exactly that record: the log
 * is where a decision becomes final (P1, P4), so a DECIDE that was never
 * written — a forger's, or a zombie decider's with a stale fence — is
 * refused, and a decision that was written is accepted even when it arrives
 * after an epoch advance or a failover. While the log is out of reach (the
 * minority side of a CP partition), the check is retried.
 *
 * A ruling (INVALIDATE) under a fence waits here too: this node's own
 * always, a peer's when its sender is not the NEED's decider this node knows
 * (a bucket's new owner after a failover). It is confirmed when the log
 * names its sender as the holder of the bucket's newest fence, the one the
 * envelope carries. A peer's unconfirmed one is still applied, unconfirmed
 * (then only the NEED's own decider may have signed it); this node's own is
 * published only once confirmed.
 *
 * @module
 */

import type { ActorContext } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import {
  bucketOf,
  type DecideLog,
  type DecideRecord,
  type FenceToken,
  sameDecision,
} from "../runtime/store/decide_log.ts";
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

/**
 * Whether the decide log vouches for a ruling's sender: it names the sender
 * as the holder of the bucket's newest fence, and that is the fence the
 * INVALIDATE carries.
 */
export function judgeRuling(
  logged: FenceToken | undefined,
  message: LifecycleMessage<"INVALIDATE">,
  fence: number,
): boolean {
  return logged !== undefined && logged.holder === message.sender && logged.token === fence;
}

/** A message the decide log is asked about. */
export type Confirmable = LifecycleMessage<"DECIDE"> | LifecycleMessage<"INVALIDATE">;

/** A message under confirmation. */
export interface PendingDecide {
  readonly message: Confirmable;
  readonly bytes: Uint8Array;
  /** The fence an INVALIDATE carries. */
  readonly fence?: number;
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
    readonly logged: Settled<DecideRecord | FenceToken | undefined>;
  }
  | { readonly type: "decide-recheck"; readonly id: string };

/** What the core does with a judged message. */
export interface ConfirmationSink {
  /**
   * Apply the message: a DECIDE the log holds (always `confirmed`), or an
   * INVALIDATE, `confirmed` when the log vouches for its sender's fence.
   */
  accept(message: Confirmable, bytes: Uint8Array, confirmed: boolean): void;
  /** The log never answered about an INVALIDATE (every check failed). */
  unanswered(message: LifecycleMessage<"INVALIDATE">, bytes: Uint8Array): void;
  /** Counts a refusal by its code. */
  count(code: string): void;
}

/** Messages under confirmation, by envelope id; bounded (overflow refuses new ones). */
export class DecideConfirmations {
  readonly #pending = new Map<string, PendingDecide>();
  readonly #capacity: number;
  readonly #log: DecideLog;

  constructor(log: DecideLog, capacity: number) {
    this.#log = log;
    this.#capacity = capacity;
  }

  /** Whether the message `id` is being confirmed. */
  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /**
   * Starts confirming a DECIDE, or an INVALIDATE carrying `fence`; refuses
   * it (counted as `E_DECIDE_BACKLOG`, answering false) when too many wait
   * already.
   */
  start(
    ctx: ActorContext<ConfirmationMessage>,
    message: Confirmable,
    bytes: Uint8Array,
    sink: ConfirmationSink,
    fence?: number,
  ): boolean {
    if (this.#pending.size >= this.#capacity) {
      sink.count("E_DECIDE_BACKLOG");
      return false;
    }
    this.#pending.set(message.id, { message, bytes, fence, attempts: 0 });
    this.check(ctx, message.id);
    return true;
  }

  /** Asks the decide log about the message `id`; the answer comes back as `decide-checked`. */
  check(ctx: ActorContext<ConfirmationMessage>, id: string): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    pending.attempts++;
    const { message } = pending;
    const logged: Promise<DecideRecord | FenceToken | undefined> = message.kind === "DECIDE"
      ? this.#log.getDecide(message.payload.needId)
      : this.#log.fenceHolder(bucketOf(message.thread));
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
    const { message, bytes } = pending;
    if (message.kind === "INVALIDATE") {
      if (!answer.logged.ok) return sink.unanswered(message, bytes);
      const logged = answer.logged.value as FenceToken | undefined;
      return sink.accept(message, bytes, judgeRuling(logged, message, pending.fence ?? 0));
    }
    if (!answer.logged.ok) return sink.count("E_DECIDE_UNCONFIRMED");
    const verdict = judgeDecide(answer.logged.value as DecideRecord | undefined, message);
    if (verdict === "unwritten") return sink.count("E_DECIDE_UNWRITTEN");
    if (verdict === "contradicted") return sink.count("E_DECIDE_CONFLICT");
    sink.accept(message, bytes, true);
  }
}

/**
 * The lifecycle as one pure function: a thread's state and an accepted
 * message in, the next state and effects out. Every node runs the same
 * function over the envelopes it accepts, which is what makes a run
 * replayable from its audit log.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import type { LifecycleMessage, LifecycleVerb } from "./payloads.ts";
import { onAttestPlan, onDecide, onNeed, onPropose, onUpdatePlan } from "./plan.ts";
import { onClaim, onHeartbeat, onLeaseEnd } from "./lease.ts";
import { onAttest, onCommit, onFinalize } from "./result.ts";
import { onChallenge, onInvalidate } from "./challenge.ts";
import type { LifecycleView, ThreadState, Transition } from "./state.ts";

/** Extra facts some verbs need from the node. */
export interface ReduceView extends LifecycleView {
  /** Highest fence token this node has seen for the thread's bucket (DECIDE). */
  readonly highestFence?: number;
  /**
   * The DECIDE being applied was confirmed against the decide log (it is the
   * record the log holds), so the log's own epoch and fence checks at write
   * time stand: a decision written before an epoch advance or a failover and
   * delivered after it is still the decision. For an INVALIDATE: the log
   * names its sender as the holder of the bucket's newest fence (the one the
   * envelope carries), so it may rule on the bucket's NEEDs although another
   * decider decided them (a failover).
   */
  readonly decisionConfirmed?: boolean;
}

/**
 * Applies one message to its thread. Throws {@linkcode ProtocolError} when
 * the message is refused; the state is then unchanged.
 *
 * @example
 * ```ts
 * const { thread, effects } = reduce(threads.get(message.thread), message, view);
 * ```
 */
export function reduce(
  thread: ThreadState | undefined,
  message: LifecycleMessage,
  view: ReduceView,
): Transition {
  switch (message.kind as LifecycleVerb) {
    case "NEED":
      return onNeed(thread, message as LifecycleMessage<"NEED">, view);
    case "PROPOSE":
      return onPropose(thread, message as LifecycleMessage<"PROPOSE">, view);
    case "ATTEST_PLAN":
      return onAttestPlan(thread, message as LifecycleMessage<"ATTEST_PLAN">, view);
    case "DECIDE":
      return onDecide(thread, message as LifecycleMessage<"DECIDE">, view);
    case "UPDATE_PLAN":
      return onUpdatePlan(thread, message as LifecycleMessage<"UPDATE_PLAN">, view);
    case "CLAIM":
      return onClaim(thread, message as LifecycleMessage<"CLAIM">, view);
    case "HEARTBEAT":
      return onHeartbeat(thread, message as LifecycleMessage<"HEARTBEAT">, view);
    case "YIELD":
    case "RELEASE":
      return onLeaseEnd(thread, message as LifecycleMessage<"YIELD">, view);
    case "COMMIT":
      return onCommit(thread, message as LifecycleMessage<"COMMIT">, view);
    case "ATTEST":
      return onAttest(thread, message as LifecycleMessage<"ATTEST">, view);
    case "FINALIZE":
      return onFinalize(thread, message as LifecycleMessage<"FINALIZE">, view);
    case "CHALLENGE":
      return onChallenge(thread, message as LifecycleMessage<"CHALLENGE">, view);
    case "INVALIDATE":
      return onInvalidate(thread, message as LifecycleMessage<"INVALIDATE">, view);
    default:
      throw new ProtocolError("E_BAD_STATE", `${message.kind} is not a thread message`);
  }
}

/**
 * Expires a NEED whose deadline has passed without becoming FINAL; returns
 * undefined when it is not due (or already final).
 */
export function expireIfDue(thread: ThreadState, nowMs: number): ThreadState | undefined {
  if (thread.phase === "FINAL" || thread.phase === "EXPIRED" || nowMs < thread.need.deadlineMs) {
    return undefined;
  }
  return { ...thread, phase: "EXPIRED" };
}

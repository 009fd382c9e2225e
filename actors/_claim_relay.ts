/**
 * The decider's watch on tasks that stay unclaimed. A worker writes its
 * signed CLAIM into its lease when the decide log grants it
 * (`actors/worker.ts`), then publishes it. A worker that dies between the
 * two leaves a lease nobody announced: every other worker's bid is refused
 * by the log, and nothing would free the task before its NEED's deadline.
 *
 * So a task still open a while after it became ready has its lease read:
 * when the log holds one that carries a CLAIM, the decider publishes that
 * CLAIM for its worker. It is the holder's own signed CLAIM, the one the log
 * granted, so it is accepted like any other; its lease then runs out
 * unrenewed and the lease monitor releases it, and the task is claimed
 * again. A CLAIM that was only slow is published twice, which is harmless
 * (nodes drop the copy).
 *
 * @module
 */

import type { ActorContext } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import type { DecideLog, LeaseRecord } from "../runtime/store/decide_log.ts";
import { base64UrlToBytes } from "../protocols/identity/ed25519.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
import { shardTopic } from "./node_core.ts";

/** Messages of the claim relay. */
export type ClaimRelayMessage =
  | { readonly type: "check-unclaimed"; readonly needId: string; readonly taskId: string }
  | {
    readonly type: "unclaimed-read";
    readonly needId: string;
    readonly taskId: string;
    readonly lease: Settled<LeaseRecord | undefined>;
  };

/** What the relay needs of its decider. */
export interface ClaimRelayConfig {
  readonly decideLog: DecideLog;
  /** How long a ready task may stay unclaimed before its lease is read (and again after). */
  readonly unclaimedCheckMs: number;
  /** Counts a CLAIM published for its worker. */
  relayed(): void;
}

function unclaimedKey(taskId: string): string {
  return `unclaimed:${taskId}`;
}

/** Starts watching a task that became ready (fresh or reopened). */
export function watchUnclaimed<M>(
  ctx: ActorContext<M | ClaimRelayMessage>,
  config: ClaimRelayConfig,
  effect: Extract<Effect, { type: "task-ready" }>,
): void {
  const { needId, taskId } = effect;
  ctx.schedule(config.unclaimedCheckMs, { type: "check-unclaimed", needId, taskId }, {
    key: unclaimedKey(taskId),
  });
}

/** Stops watching a task: it was claimed, or it is final. */
export function stopWatching<M>(ctx: ActorContext<M | ClaimRelayMessage>, taskId: string): void {
  ctx.cancelSchedule(unclaimedKey(taskId));
}

/** Reads the lease of a task still unclaimed, and publishes the CLAIM it carries. */
export function checkUnclaimed<M>(
  ctx: ActorContext<M | ClaimRelayMessage>,
  config: ClaimRelayConfig,
  threads: ReadonlyMap<string, ThreadState>,
  message: ClaimRelayMessage,
): void {
  const { needId, taskId } = message;
  const status = threads.get(needId)?.tasks.get(taskId)?.status;
  if (status !== "DECIDED" && status !== "DRAFT") return;
  if (message.type === "check-unclaimed") {
    const lease = config.decideLog.getLease(taskId);
    return ctx.pipeToSelf(
      lease,
      (read) => ({ type: "unclaimed-read", needId, taskId, lease: read }),
    );
  }
  const claim = message.lease.ok ? message.lease.value?.claim : undefined;
  if (claim !== undefined) {
    ctx.publish(shardTopic(needId), { type: "envelope", bytes: base64UrlToBytes(claim) });
    config.relayed();
  }
  // Looked at again later: no lease yet (no bid so far), an unreadable log, or a CLAIM on its way.
  ctx.schedule(config.unclaimedCheckMs, { type: "check-unclaimed", needId, taskId }, {
    key: unclaimedKey(taskId),
  });
}

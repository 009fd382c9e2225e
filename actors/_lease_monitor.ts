/**
 * The decider's lease monitor: at each lease's expiry (plus grace) a task
 * still CLAIMED under it is released in the decide log and reopened with
 * RELEASE; a lease that outlived its task's claim (a committed result keeps
 * its lease until it runs out) is freed quietly; and a rejected result's
 * lease is freed at once, so the reopened task can be claimed again.
 *
 * @module
 */

import type { ActorContext, ActorRef } from "../runtime/actor.ts";
import { errorCode } from "../runtime/errors.ts";
import type { DecideLog } from "../runtime/store/decide_log.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
import type { CoreMessage } from "./swarm_messages.ts";

/** Messages of the lease monitor. */
export type LeaseMonitorMessage =
  | {
    readonly type: "check-lease";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
  }
  | {
    readonly type: "released";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
    readonly ok: boolean;
  };

/** What the monitor needs of its decider. */
export interface LeaseMonitorConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly decideLog: DecideLog;
  /** Slack after a lease's expiry before it is released (clock skew). Default 1,000 ms. */
  readonly leaseGraceMs?: number;
}

/** Schedules the check of a granted (or extended) lease at its expiry plus grace. */
export function leaseCheckAfter<M>(
  ctx: ActorContext<M | LeaseMonitorMessage>,
  config: LeaseMonitorConfig,
  effect: Extract<Effect, { type: "lease-granted" }>,
): void {
  const { needId, taskId, leaseId } = effect;
  ctx.schedule(
    Math.max(0, effect.expiresAtMs - ctx.nowMs()) + (config.leaseGraceMs ?? 1_000),
    { type: "check-lease", needId, taskId, leaseId },
    { key: `lease:${taskId}:${leaseId}` },
  );
}

/** Handles a lease check, or the outcome of a release it asked for. */
export function checkLease<M>(
  ctx: ActorContext<M | LeaseMonitorMessage>,
  config: LeaseMonitorConfig,
  threads: ReadonlyMap<string, ThreadState>,
  message: LeaseMonitorMessage,
): void {
  const { needId, taskId, leaseId } = message;
  if (message.type === "released") {
    if (!message.ok) return;
    config.core.tell({
      type: "emit",
      kind: "RELEASE",
      thread: needId,
      payload: { needId, taskId, leaseId, reason: "expired" },
    });
    return;
  }
  const task = threads.get(needId)?.tasks.get(taskId);
  const released = config.decideLog.releaseLease(taskId, leaseId);
  if (task?.status !== "CLAIMED" || task.lease?.leaseId !== leaseId) {
    return void released.catch((error) =>
      ctx.log.warn("lease cleanup failed", { taskId, code: errorCode(error) })
    );
  }
  ctx.pipeToSelf(
    released,
    (result) => ({ type: "released", needId, taskId, leaseId, ok: result.ok && result.value }),
  );
}

/** A rejected result reopens its task: the leases its commits were made under are freed now. */
export function freeRejected<M>(
  ctx: ActorContext<M | LeaseMonitorMessage>,
  config: LeaseMonitorConfig,
  threads: ReadonlyMap<string, ThreadState>,
  effect: Extract<Effect, { type: "task-ready" }>,
): void {
  const task = threads.get(effect.needId)?.tasks.get(effect.taskId);
  if (task?.status !== "DRAFT") return;
  for (const commit of task.commits.values()) {
    ctx.cancelSchedule(`lease:${task.taskId}:${commit.leaseId}`);
    config.decideLog.releaseLease(task.taskId, commit.leaseId).catch((error) =>
      ctx.log.warn("lease cleanup failed", { taskId: task.taskId, code: errorCode(error) })
    );
  }
}

/**
 * The decider's lease monitor: at each lease's expiry (plus grace) a task
 * still CLAIMED under it is released in the decide log and reopened with
 * RELEASE. A lease a result was committed under stays in the log — a
 * tombstone that stops any worker with a stale view from running the task
 * again — unless the result is rejected: then it is freed at once, so the
 * reopened task can be claimed again. A task still CLAIMED under an expired
 * lease that the log no longer holds (its worker let it go while its CLAIM
 * was still on the way) is reopened too: nobody can commit under that lease.
 *
 * Before it releases a lease, the monitor asks its peers for the thread and
 * looks again a moment later: a COMMIT made in time under the lease may have
 * reached every node but this one (gossip lost it), and a RELEASE that
 * overtook it here would split the nodes — the rest holding the result, this
 * one reopening the task for another worker — until the NEED's deadline.
 *
 * A worker writes its signed COMMIT into its lease before publishing it
 * (`DecideLog.markCommitted`), and the log refuses to release a lease that
 * carries one, so the two are serialized there: a RELEASE that won goes out
 * before any COMMIT under the lease exists, and a COMMIT that won keeps its
 * lease. The monitor then waits for the COMMIT, asking its peers for the
 * thread with growing pauses; only if none brings it (its worker died before
 * publishing, or every node refused it as late) is the lease released by
 * force, and the task reopened.
 *
 * @module
 */

import type { ActorContext, ActorRef } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorCode } from "../runtime/errors.ts";
import type { DecideLog, LeaseRecord } from "../runtime/store/decide_log.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
import type { CoreMessage, EmitResult } from "./swarm_messages.ts";

/** Messages of the lease monitor. */
export type LeaseMonitorMessage =
  | {
    readonly type: "check-lease";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
    /** The peers were asked for the thread since the lease expired: release it if still due. */
    readonly synced?: boolean;
    /** Waits so far for a COMMIT the lease carries (past the last, it is released by force). */
    readonly commitWaits?: number;
  }
  | {
    readonly type: "released";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
    readonly ok: boolean;
    /** RELEASE announcements tried so far. */
    readonly attempt?: number;
    readonly commitWaits?: number;
  }
  | {
    readonly type: "lease-read";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
    /** The task's lease in the decide log (this one, another, or none). */
    readonly lease: Settled<LeaseRecord | undefined>;
    readonly commitWaits?: number;
  }
  | {
    readonly type: "release-announced";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
    readonly result: Settled<EmitResult>;
    readonly attempt: number;
  };

/** How long after asking its peers for an expired lease's thread the monitor looks again. */
const SYNC_BEFORE_RELEASE_MS = 2_000;

/**
 * Waits for a COMMIT an expired lease carries before it is released by
 * force; the pauses double from {@linkcode SYNC_BEFORE_RELEASE_MS} (2 + 4 +
 * 8 + 16 s).
 */
const COMMIT_WAITS_MAX = 4;

/** Tries at announcing a RELEASE the node refused (its clock says the lease is still live). */
const ANNOUNCE_ATTEMPTS_MAX = 10;

/** What the monitor needs of its decider. */
export interface LeaseMonitorConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly decideLog: DecideLog;
  /** Slack after a lease's expiry before it is released (clock skew). Default 1,000 ms. */
  readonly leaseGraceMs?: number;
}

/** The timer key of a lease's check: one check per lease, a later one replaces it. */
function checkKey(taskId: string, leaseId: string): string {
  return `lease:${taskId}:${leaseId}`;
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
    { key: checkKey(taskId, leaseId) },
  );
}

/** Handles a lease check, the outcome of a release it asked for, or of its announcement. */
export function checkLease<M>(
  ctx: ActorContext<M | LeaseMonitorMessage>,
  config: LeaseMonitorConfig,
  threads: ReadonlyMap<string, ThreadState>,
  message: LeaseMonitorMessage,
): void {
  const { needId, taskId, leaseId } = message;
  if (message.type === "released") {
    if (message.ok) announceRelease(ctx, config, needId, taskId, leaseId, message.attempt ?? 0);
    else {
      // Not released: the lease may carry a COMMIT, be gone already, or a renewal raced.
      const lease = config.decideLog.getLease(taskId);
      const { commitWaits } = message;
      ctx.pipeToSelf(
        lease,
        (lease) => ({ type: "lease-read", needId, taskId, leaseId, lease, commitWaits }),
      );
    }
    return;
  }
  if (message.type === "lease-read") {
    const lease = message.lease.ok ? message.lease.value : undefined;
    if (message.lease.ok && lease?.leaseId !== leaseId) {
      return announceRelease(ctx, config, needId, taskId, leaseId, 0);
    }
    if (lease?.commit !== undefined) {
      // Its worker committed under it: ask the peers for the COMMIT, and look again.
      const waits = message.commitWaits ?? 0;
      config.core.tell({ type: "sync-thread", thread: needId });
      const again = { type: "check-lease" as const, needId, taskId, leaseId, synced: true };
      return void ctx.schedule(
        SYNC_BEFORE_RELEASE_MS * 2 ** waits,
        { ...again, commitWaits: waits + 1 },
        { key: checkKey(taskId, leaseId) },
      );
    }
    // Still held (its holder renewed it) or unreadable: look again after the grace.
    const again = { type: "check-lease" as const, needId, taskId, leaseId };
    return void ctx.schedule(config.leaseGraceMs ?? 1_000, again, {
      key: checkKey(taskId, leaseId),
    });
  }
  if (message.type === "release-announced") {
    const refused = !message.result.ok || message.result.value.type !== "emitted";
    if (refused && message.attempt + 1 < ANNOUNCE_ATTEMPTS_MAX) {
      const retry = { type: "released" as const, needId, taskId, leaseId, ok: true };
      ctx.schedule(config.leaseGraceMs ?? 1_000, { ...retry, attempt: message.attempt + 1 });
    }
    return;
  }
  const task = threads.get(needId)?.tasks.get(taskId);
  const claimed = task?.status === "CLAIMED" && task.lease?.leaseId === leaseId;
  if (claimed && ctx.nowMs() <= (task.lease?.expiresAtMs ?? 0)) {
    // This node's clock moved (skew, a correction) since the check was set: not yet expired here.
    return leaseCheckAfter(ctx, config, {
      type: "lease-granted",
      needId,
      taskId,
      holder: task.lease?.holder ?? "",
      leaseId,
      expiresAtMs: task.lease?.expiresAtMs ?? 0,
    });
  }
  if (!claimed) {
    // A lease whose work stands (committed, verified, final — or a thread this decider has
    // forgotten because it ended) stays in the log for good: it keeps a worker acting on a
    // stale copy of the thread from executing the task again. Only a reopened task frees it.
    if (task?.status !== "DRAFT" && task?.status !== "DECIDED") return;
    return void config.decideLog.releaseLease(taskId, leaseId, { force: true }).catch((error) =>
      ctx.log.warn("lease cleanup failed", { taskId, code: errorCode(error) })
    );
  }
  if (message.synced !== true) {
    config.core.tell({ type: "sync-thread", thread: needId });
    const again = { type: "check-lease" as const, needId, taskId, leaseId, synced: true };
    return void ctx.schedule(SYNC_BEFORE_RELEASE_MS, again, { key: checkKey(taskId, leaseId) });
  }
  // Past its last wait (half a minute of asking the peers), a lease whose COMMIT never came is
  // released all the same: that COMMIT was never published, or every node refused it as late.
  const { commitWaits } = message;
  const force = (commitWaits ?? 0) >= COMMIT_WAITS_MAX;
  const released = config.decideLog.releaseLease(taskId, leaseId, { force });
  ctx.pipeToSelf(released, (result) => ({
    type: "released",
    needId,
    taskId,
    leaseId,
    ok: result.ok && result.value,
    commitWaits,
  }));
}

/** Announces a released lease with RELEASE; a refusal (a clock behind) is retried. */
function announceRelease<M>(
  ctx: ActorContext<M | LeaseMonitorMessage>,
  config: LeaseMonitorConfig,
  needId: string,
  taskId: string,
  leaseId: string,
  attempt: number,
): void {
  ctx.ask<CoreMessage, EmitResult>(config.core, (replyTo) => ({
    type: "emit",
    kind: "RELEASE",
    thread: needId,
    replyTo,
    payload: { needId, taskId, leaseId, reason: "expired" },
  }), (result) => ({ type: "release-announced", needId, taskId, leaseId, result, attempt }));
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
    ctx.cancelSchedule(checkKey(task.taskId, commit.leaseId));
    config.decideLog.releaseLease(task.taskId, commit.leaseId, { force: true }).catch((error) =>
      ctx.log.warn("lease cleanup failed", { taskId: task.taskId, code: errorCode(error) })
    );
  }
}

/**
 * A final task's lease checks could only find its leases standing for good:
 * they are dropped now rather than kept, with their timers, until each
 * lease's expiry (a minute or more, for every task of a busy decider).
 */
export function forgetFinal<M>(
  ctx: ActorContext<M | LeaseMonitorMessage>,
  threads: ReadonlyMap<string, ThreadState>,
  effect: Extract<Effect, { type: "task-final" }>,
): void {
  const task = threads.get(effect.needId)?.tasks.get(effect.taskId);
  if (task === undefined) return;
  for (const commit of task.commits.values()) {
    ctx.cancelSchedule(checkKey(task.taskId, commit.leaseId));
  }
}

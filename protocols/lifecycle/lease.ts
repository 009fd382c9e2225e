/**
 * CLAIM, HEARTBEAT, YIELD and RELEASE: a worker's lease on a task. A lease
 * is granted in the decide log before the CLAIM is published (so two leases
 * can never be live at once, P5); heartbeats extend it; the holder may yield
 * it; a lease monitor releases it once expired. Yield and release return the
 * task to DRAFT.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import type { LifecycleMessage } from "./payloads.ts";
import { requireThread } from "./plan.ts";
import { refuseOrphaned } from "./supersede.ts";
import { refuseDroppedLease } from "./lease_drop.ts";
import {
  type Effect,
  happenedAtMs,
  type Lease,
  LEASE_HISTORY_MAX,
  type LifecycleView,
  requirementsMet,
  type TaskState,
  type ThreadState,
  type Transition,
  withTask,
} from "./state.ts";

/** CLAIM: the task becomes CLAIMED by the sender. */
export function onClaim(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"CLAIM">,
  view: LifecycleView,
): Transition {
  const claim = message.payload;
  const current = requireThread(thread, claim.needId);
  const task = requireTask(current, claim.taskId);
  refuseDroppedLease(task, claim.leaseId);
  const seen = task.leaseIds ?? [];
  if (seen.includes(claim.leaseId)) {
    // A repeat of a CLAIM taken already: applied again after its lease ended, it would revive it.
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `Lease ${claim.leaseId} on ${claim.taskId} was claimed already`,
    );
  }
  const leaseChecks = view.mutations?.leaseCheckOff !== true;
  if (leaseChecks && task.status !== "DECIDED" && task.status !== "DRAFT") {
    // Leases come from the decide log one at a time: a CLAIM for a busy task was granted after
    // a reopen (RELEASE, YIELD, rejection) this node has not seen yet, unless the task is final.
    throw new ProtocolError(
      task.status === "FINAL" ? "E_TASK_CLAIMED" : "E_TASK_BUSY",
      `Task ${claim.taskId} is ${task.status}, not open for claims`,
    );
  }
  // Leases are granted one after another: this one waits for the lease it follows (seen here, or
  // one an AP merge dropped, which a node on the kept side may never have seen claimed).
  const follows = claim.after === undefined || seen.includes(claim.after) ||
    task.droppedLeases?.some((each) => each.leaseId === claim.after) === true;
  if (!follows) {
    throw new ProtocolError(
      "E_UNKNOWN_LEASE",
      `CLAIM of ${claim.taskId} follows lease ${claim.after}, not seen yet`,
    );
  }
  if (rejectedWorker(task, message.sender)) {
    throw new ProtocolError(
      "E_WORKER_REJECTED",
      `${message.sender} already had a result for ${claim.taskId} rejected`,
    );
  }
  if (!requirementsMet(current, task)) {
    throw new ProtocolError(
      "E_TASK_NOT_READY",
      `Task ${claim.taskId} waits for ${task.requires.join(", ")}`,
    );
  }
  const { leaseTtlMinMs, leaseTtlMaxMs } = view.params;
  if (claim.leaseTtlMs < leaseTtlMinMs || claim.leaseTtlMs > leaseTtlMaxMs) {
    throw new ProtocolError(
      "E_LEASE_TTL",
      `CLAIM lease ttl must be within [${leaseTtlMinMs}, ${leaseTtlMaxMs}] ms, got ${claim.leaseTtlMs}`,
    );
  }
  if (claim.heartbeatIntervalMs <= 0 || claim.heartbeatIntervalMs >= claim.leaseTtlMs) {
    throw new ProtocolError(
      "E_LEASE_TTL",
      `CLAIM heartbeat interval must be in (0, ttl), got ${claim.heartbeatIntervalMs}`,
    );
  }
  const lease: Lease = {
    leaseId: claim.leaseId,
    holder: message.sender,
    grantedAtMs: claim.grantedAtMs,
    expiresAtMs: claim.grantedAtMs + claim.leaseTtlMs,
    heartbeatIntervalMs: claim.heartbeatIntervalMs,
  };
  const leaseIds = [...seen.slice(1 - LEASE_HISTORY_MAX), claim.leaseId];
  return {
    thread: withTask(current, { ...task, status: "CLAIMED", lease, leaseIds }),
    effects: [{
      type: "lease-granted",
      needId: claim.needId,
      taskId: claim.taskId,
      holder: message.sender,
      leaseId: claim.leaseId,
      expiresAtMs: lease.expiresAtMs,
    }],
  };
}

/** HEARTBEAT: the holder extends its live lease. */
export function onHeartbeat(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"HEARTBEAT">,
  view: LifecycleView,
): Transition {
  const beat = message.payload;
  const current = requireThread(thread, beat.needId);
  const task = requireTask(current, beat.taskId);
  // A HEARTBEAT that overtook its CLAIM waits for it: the COMMIT behind it is judged by its expiry.
  requireKnownLease(task, beat.leaseId);
  if (task.lease?.leaseId !== beat.leaseId) {
    // Known and no longer live: its COMMIT, YIELD or release came here first.
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `HEARTBEAT for lease ${beat.leaseId}, which has ended`,
    );
  }
  const lease = requireHolder(task, beat.leaseId, message.sender);
  if (leaseLapsed(lease, message, view)) {
    throw new ProtocolError(
      "E_LEASE_EXPIRED",
      `Lease ${beat.leaseId} expired at ${lease.expiresAtMs}`,
    );
  }
  if (beat.expiresAtMs < lease.expiresAtMs) {
    // Overtaken by a later HEARTBEAT of the same lease: it has nothing left to extend.
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `HEARTBEAT to ${beat.expiresAtMs} for lease ${beat.leaseId}, which runs to ${lease.expiresAtMs}`,
    );
  }
  if (beat.expiresAtMs > view.nowMs + view.params.leaseTtlMaxMs) {
    throw new ProtocolError(
      "E_LEASE_TTL",
      `HEARTBEAT may only extend lease ${beat.leaseId} within the ttl bound`,
    );
  }
  const extended = { ...lease, expiresAtMs: beat.expiresAtMs };
  return {
    thread: withTask(current, { ...task, lease: extended }),
    effects: [{
      type: "lease-granted",
      needId: beat.needId,
      taskId: beat.taskId,
      holder: lease.holder,
      leaseId: lease.leaseId,
      expiresAtMs: extended.expiresAtMs,
    }],
  };
}

/** YIELD (holder) or RELEASE (lease monitor, only once expired): back to DRAFT. */
export function onLeaseEnd(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"YIELD"> | LifecycleMessage<"RELEASE">,
  view: LifecycleView,
): Transition {
  const end = message.payload;
  const current = requireThread(thread, end.needId);
  const task = requireTask(current, end.taskId);
  requireKnownLease(task, end.leaseId);
  if (task.status !== "CLAIMED" || task.lease?.leaseId !== end.leaseId) {
    throw new ProtocolError(
      "E_BAD_STATE",
      `${message.kind} for ${end.taskId}: lease ${end.leaseId} is not the live lease`,
    );
  }
  if (message.kind === "YIELD") requireHolder(task, end.leaseId, message.sender);
  else if (view.nowMs <= task.lease.expiresAtMs) {
    throw new ProtocolError(
      "E_BAD_STATE",
      `RELEASE of ${end.leaseId} before it expired at ${task.lease.expiresAtMs}`,
    );
  }
  const reopened = withTask(current, { ...task, status: "DRAFT", lease: undefined });
  const effects: Effect[] = [
    { type: "lease-ended", needId: end.needId, taskId: end.taskId, leaseId: end.leaseId },
    { type: "task-ready", needId: end.needId, taskId: end.taskId },
  ];
  return { thread: reopened, effects };
}

/** Whether `worker` committed a result for `task` that its committee rejected or a challenge invalidated. */
export function rejectedWorker(task: TaskState, worker: string): boolean {
  for (const commit of task.commits.values()) {
    if (commit.worker !== worker) continue;
    if (commit.invalidated === true || commit.rejected === true) return true;
    if (commit.tally.rejections.length >= task.kResult) return true;
  }
  return false;
}

/** The task, or `E_UNKNOWN_TASK` (parkable: its DECIDE may still be on its way). */
export function requireTask(thread: ThreadState, taskId: string): TaskState {
  const task = thread.tasks.get(taskId);
  if (task === undefined) {
    refuseOrphaned(thread, taskId);
    throw new ProtocolError("E_UNKNOWN_TASK", `Task ${taskId} is unknown in ${thread.needId}`);
  }
  return task;
}

/**
 * `E_UNKNOWN_LEASE` (parkable) for a lease this node has not seen claimed:
 * neither the live lease, nor one a commit was made under, nor an ended one.
 * Its CLAIM may still be on its way (peers' messages are not causally ordered).
 */
export function requireKnownLease(task: TaskState, leaseId: string): void {
  if (task.lease?.leaseId === leaseId || task.status === "FINAL") return;
  for (const commit of task.commits.values()) if (commit.leaseId === leaseId) return;
  refuseDroppedLease(task, leaseId);
  if (task.leaseIds?.includes(leaseId)) return;
  throw new ProtocolError(
    "E_UNKNOWN_LEASE",
    `Lease ${leaseId} on ${task.taskId} is unknown (its CLAIM has not arrived)`,
  );
}

/**
 * Whether `lease` has run out for `message`: on this node's clock, or for a
 * message replayed from a peer's archive, at the time it was made if that was
 * earlier. The `leaseCheckOff` mutation turns the check off.
 */
export function leaseLapsed(lease: Lease, message: LifecycleMessage, view: LifecycleView): boolean {
  if (view.mutations?.leaseCheckOff === true) return false;
  return happenedAtMs(message, view) > lease.expiresAtMs;
}

/** The live lease when `sender` holds `leaseId`. */
export function requireHolder(task: TaskState, leaseId: string, sender: string): Lease {
  const lease = task.lease;
  if (lease === undefined || lease.leaseId !== leaseId || lease.holder !== sender) {
    throw new ProtocolError(
      "E_NOT_LEASE_HOLDER",
      `${sender} does not hold lease ${leaseId} on ${task.taskId}`,
    );
  }
  return lease;
}

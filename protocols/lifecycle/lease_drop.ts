/**
 * A lease dropped by an AP merge (RECONCILE `leases`). When a partition
 * splits the swarm just as a task is decided, each side can lease the task
 * to its own worker, and both may commit. On the heal the merged decide log
 * keeps one of the two leases (the later grant); every node then sets aside
 * the work done under the other: its live lease ends, its commits are
 * forgotten, and the task waits for the kept lease's CLAIM and COMMIT, which
 * peers resend. Messages under the dropped lease are refused as orphaned
 * from then on (`E_ORPHANED`, final), as messages about the tasks of an
 * orphaned decision are.
 *
 * Work that cannot be set aside makes the drop fail with `E_LEASE_CONFLICT`
 * and leaves the thread as it was, for the checkers and operators to see: a
 * task FINAL under the dropped lease (its payout happened) or a commit under
 * it that a challenge stands against (a bond is escrowed on it).
 *
 * No ledger entry moves: a lease and a commit escrow nothing until FINALIZE.
 *
 * @module
 */

import type { LeaseRecord } from "../../runtime/store/decide_log.ts";
import { ProtocolError } from "./errors.ts";
import type { LeaseDrop } from "./payloads.ts";
import {
  type CommitState,
  type Effect,
  type TaskState,
  type ThreadState,
  type Transition,
  withTask,
} from "./state.ts";

/** Sets aside what `drop.dropped` leased on its task (see the module documentation). */
export function dropLease(thread: ThreadState, drop: LeaseDrop): Transition {
  const task = thread.tasks.get(drop.taskId);
  if (task === undefined) {
    throw new ProtocolError("E_UNKNOWN_TASK", `Task ${drop.taskId} is unknown in ${thread.needId}`);
  }
  if (task.droppedLeases?.some((each) => each.leaseId === drop.dropped)) {
    return { thread, effects: [] };
  }
  const droppedIds = new Set<string>();
  const commits = new Map<string, CommitState>();
  for (const [commitId, commit] of task.commits) {
    if (commit.leaseId === drop.dropped) droppedIds.add(commitId);
    else commits.set(commitId, commit);
  }
  refuseUndroppable(thread, task, drop, droppedIds);
  const live = task.lease?.leaseId === drop.dropped;
  const verifiedDropped = task.verifiedCommit !== undefined && droppedIds.has(task.verifiedCommit);
  const next: TaskState = {
    ...task,
    status: live ? "DRAFT" : task.status,
    lease: live ? undefined : task.lease,
    commits,
    verifiedCommit: verifiedDropped ? undefined : task.verifiedCommit,
    finalizeAfterMs: verifiedDropped ? undefined : task.finalizeAfterMs,
    droppedLeases: [
      ...(task.droppedLeases ?? []),
      { leaseId: drop.dropped, keptLeaseId: drop.kept, commitIds: [...droppedIds] },
    ],
  };
  const effects: Effect[] = live
    ? [
      { type: "lease-ended", needId: thread.needId, taskId: task.taskId, leaseId: drop.dropped },
      { type: "task-ready", needId: thread.needId, taskId: task.taskId },
    ]
    : [];
  return { thread: withTask(thread, next), effects };
}

/** `E_LEASE_CONFLICT` when the work under the dropped lease cannot be set aside. */
function refuseUndroppable(
  thread: ThreadState,
  task: TaskState,
  drop: LeaseDrop,
  droppedIds: ReadonlySet<string>,
): void {
  if (task.status === "FINAL" && droppedIds.has(task.verifiedCommit ?? "")) {
    throw new ProtocolError(
      "E_LEASE_CONFLICT",
      `Task ${task.taskId} is FINAL under lease ${drop.dropped}; lease ${drop.kept} cannot replace it`,
    );
  }
  for (const challenge of thread.challenges?.values() ?? []) {
    if (droppedIds.has(challenge.commitId)) {
      throw new ProtocolError(
        "E_LEASE_CONFLICT",
        `Challenge ${challenge.challengeId} stands against commit ${challenge.commitId} ` +
          `under lease ${drop.dropped}; the lease cannot be dropped`,
      );
    }
  }
}

/** `E_ORPHANED` for a lease an AP merge dropped from `task`. */
export function refuseDroppedLease(task: TaskState, leaseId: string): void {
  const dropped = task.droppedLeases?.find((each) => each.leaseId === leaseId);
  if (dropped === undefined) return;
  throw new ProtocolError(
    "E_ORPHANED",
    `Lease ${leaseId} on ${task.taskId} was dropped for lease ${dropped.keptLeaseId} after a partition`,
  );
}

/**
 * The commit `commitId` of `task`: `E_ORPHANED` when it was made under a
 * dropped lease, else `E_UNKNOWN_COMMIT` (parkable: the COMMIT may be on its
 * way) when this node has not seen it.
 */
export function requireCommit(task: TaskState, commitId: string): CommitState {
  const commit = task.commits.get(commitId);
  if (commit !== undefined) return commit;
  const dropped = task.droppedLeases?.find((each) => each.commitIds.includes(commitId));
  if (dropped !== undefined) {
    throw new ProtocolError(
      "E_ORPHANED",
      `Commit ${commitId} was made under lease ${dropped.leaseId}, dropped after a partition`,
    );
  }
  throw new ProtocolError("E_UNKNOWN_COMMIT", `Commit ${commitId} is unknown`);
}

/**
 * The drops a RECONCILE names for the lease conflicts a merge reported: each
 * dropped lease against the lease its task finally kept (a task leased on
 * three sides reports two conflicts, one of whose kept leases was dropped in
 * turn). The NEED is the one either record names; a conflict where neither
 * does (records written before leases carried it) is left out, its thread
 * unknown.
 */
export function leaseDropsOf(
  conflicts: readonly { readonly kept: LeaseRecord; readonly dropped: LeaseRecord }[],
): LeaseDrop[] {
  const droppedIds = new Set(conflicts.map((conflict) => conflict.dropped.leaseId));
  const keptOf = new Map<string, LeaseRecord>();
  for (const { kept } of conflicts) {
    if (!droppedIds.has(kept.leaseId)) keptOf.set(kept.taskId, kept);
  }
  const drops = new Map<string, LeaseDrop>();
  for (const { dropped } of conflicts) {
    const kept = keptOf.get(dropped.taskId);
    const needId = dropped.needId ?? kept?.needId;
    if (kept === undefined || needId === undefined) continue;
    const { taskId, leaseId } = dropped;
    drops.set(leaseId, { needId, taskId, kept: kept.leaseId, dropped: leaseId });
  }
  return [...drops.values()];
}

/**
 * AP decide mode (DESIGN.md §5): during a partition each side may decide a
 * NEED differently. After the heal the decide service keeps the decision
 * with the highest (epoch, lamport, decider) and every node must converge
 * on it. A node holding a lower decision therefore lets the higher one
 * supersede it: the lower decision is kept as an orphaned branch (marked
 * with the epoch that orphaned it), its tasks are dropped (messages about
 * them are refused as orphaned from then on), and the winner's tasks start
 * afresh. Only a NEED already FINAL under the lower decision cannot be
 * superseded: its payout happened; that conflict is left for the checkers
 * and operators to see.
 *
 * To find the winner's proposal, a node in AP mode also records proposals
 * that arrive after its bid window or after its decision (without voting on
 * them, see `onPropose`): they may belong to the other side's winner.
 *
 * @module
 */

import { compareDecisions } from "../consensus/merge.ts";
import { ProtocolError } from "./errors.ts";
import type { LifecycleMessage } from "./payloads.ts";
import type { Effect, LifecycleView, ThreadState, Transition } from "./state.ts";

/** Whether `message` should supersede the thread's current decision (AP mode, higher decision). */
export function supersedes(
  current: ThreadState,
  message: LifecycleMessage<"DECIDE">,
  view: LifecycleView,
): boolean {
  return view.decideMode === "ap" && current.decision !== undefined &&
    compareDecisions(message.payload, current.decision) > 0;
}

/**
 * Replaces the current decision with the higher one in `decided` (the
 * thread as the winning decision would leave it, computed by the caller).
 * When both sides decided the same proposal, the work done under the lower
 * decision is salvaged: the tasks are the same, only the record changes.
 */
export function supersede(current: ThreadState, decided: ThreadState): Transition {
  const loser = current.decision;
  const winner = decided.decision;
  if (loser === undefined || winner === undefined) {
    throw new ProtocolError("E_BAD_STATE", `NEED ${current.needId} has no decision to supersede`);
  }
  const superseded: Effect = {
    type: "need-superseded",
    needId: current.needId,
    orphanedProposalId: loser.proposalId,
    proposalId: winner.proposalId,
  };
  const branch = { record: loser, orphanedByEpoch: winner.epoch };
  if (loser.proposalId === winner.proposalId) {
    const orphaned = [...(current.orphaned ?? []), { ...branch, taskIds: [] }];
    return { thread: { ...current, decision: winner, orphaned }, effects: [superseded] };
  }
  const final = [...current.tasks.values()].find((task) => task.status === "FINAL");
  if (final !== undefined) {
    throw new ProtocolError(
      "E_DECIDE_CONFLICT",
      `NEED ${current.needId} has task ${final.taskId} FINAL under ${loser.proposalId}; ` +
        `${winner.proposalId} cannot supersede it`,
    );
  }
  const effects: Effect[] = [];
  for (const task of current.tasks.values()) {
    if (task.lease !== undefined) {
      effects.push({
        type: "lease-ended",
        needId: current.needId,
        taskId: task.taskId,
        leaseId: task.lease.leaseId,
      });
    }
  }
  effects.push(superseded);
  const orphaned = [...(current.orphaned ?? []), { ...branch, taskIds: [...current.tasks.keys()] }];
  // A winner's task named like one of the loser's keeps the leases seen on it: a repeated CLAIM of
  // the orphaned branch must not start a lease on it again.
  const tasks = new Map(decided.tasks);
  for (const [taskId, task] of decided.tasks) {
    const leaseIds = current.tasks.get(taskId)?.leaseIds;
    if (leaseIds !== undefined) tasks.set(taskId, { ...task, leaseIds });
  }
  return { thread: { ...decided, tasks, orphaned }, effects };
}

/** Refuses messages about tasks of an orphaned decision (`E_ORPHANED`, final). */
export function refuseOrphaned(thread: ThreadState, taskId: string): void {
  const branch = thread.orphaned?.find((each) => each.taskIds.includes(taskId));
  if (branch === undefined) return;
  throw new ProtocolError(
    "E_ORPHANED",
    `Task ${taskId} belongs to decision ${branch.record.proposalId}, orphaned by epoch ${branch.orphanedByEpoch}`,
  );
}

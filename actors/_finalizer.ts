/**
 * The decider's kept records. What it finalizes a verified task with is
 * kept in the node's store, so a decider that restarts — and may rebuild
 * the task from a peer's stale copy — finalizes the task again only with the
 * same commit, never another (DESIGN.md §9: a node restarts without losing a
 * finalized record). The result committee its DECIDE seated is kept too: a
 * restarted decider re-announcing the decision seats the same committee
 * rather than drawing a new one from its current ledger (nodes holding
 * different copies would otherwise accept different attesters).
 *
 * @module
 */

import type { Store, StoreKey } from "../runtime/store/store.ts";
import type { FinalizePayload } from "../protocols/lifecycle/payloads.ts";
import type { ThreadState } from "../protocols/lifecycle/state.ts";

/** Where a finalized record is kept. */
export function finalizedKey(taskId: string): StoreKey {
  return ["decider", "finalized", taskId];
}

/**
 * The FINALIZE payload for a verified task: the kept record when there is
 * one for the same commit, else a fresh one (kept first). Resolves to
 * undefined when a record for another commit is kept; returns undefined at
 * once when the task is not verified in `thread`.
 */
export function finalizeRecord(
  store: Store,
  thread: ThreadState | undefined,
  taskId: string,
): Promise<FinalizePayload | undefined> | undefined {
  const task = thread?.tasks.get(taskId);
  if (thread === undefined || task?.status !== "VERIFIED" || task.verifiedCommit === undefined) {
    return undefined;
  }
  const commit = task.commits.get(task.verifiedCommit);
  if (commit === undefined) return undefined;
  const fresh: FinalizePayload = {
    needId: thread.needId,
    taskId,
    commitId: commit.commitId,
    // Sorted: two records naming the same attesters are the same record (and pay the same).
    attesters: [...commit.tally.approvals].sort(),
    kResult: task.kResult,
  };
  const key = finalizedKey(taskId);
  return store.get<FinalizePayload>(key).then(async (kept) => {
    if (kept !== undefined) return kept.value.commitId === fresh.commitId ? kept.value : undefined;
    await store.set(key, fresh);
    return fresh;
  });
}

/** Where the result committee of a decision is kept. */
export function committeeKey(needId: string): StoreKey {
  return ["decider", "committee", needId];
}

/** Keeps the result committee `thread`'s decision seated, when this decider made it (first one kept). */
export async function keepCommittee(
  store: Store,
  thread: ThreadState,
  decider: string,
): Promise<void> {
  const committee = thread.resultCommittee;
  if (thread.decision?.decider !== decider || committee === undefined) return;
  const key = committeeKey(thread.needId);
  if ((await store.get(key)) === undefined) await store.set(key, [...committee]);
}

/** The result committee kept for the decision of `needId`, if any. */
export async function keptCommittee(
  store: Store,
  needId: string,
): Promise<readonly string[] | undefined> {
  return (await store.get<string[]>(committeeKey(needId)))?.value;
}

/**
 * The decider's kept records. What it finalizes a verified task with is
 * kept in the node's store, so a decider that restarts — and may rebuild
 * the task from a peer's stale copy — finalizes the task again only with the
 * same commit, never another (DESIGN.md §9: a node restarts without losing a
 * finalized record). The result committee its DECIDE seated is kept too: a
 * restarted decider re-announcing the decision seats the same committee
 * rather than drawing a new one from its current ledger (nodes holding
 * different copies would otherwise accept different attesters). Both are
 * kept as long as the decide log keeps the NEED's decision (its deadline plus
 * `decideRetentionMs`), then the store lets them go.
 *
 * @module
 */

import type { Store, StoreKey } from "../runtime/store/store.ts";
import type { FinalizePayload } from "../protocols/lifecycle/payloads.ts";
import type { ThreadState } from "../protocols/lifecycle/state.ts";
import { retainUntilMs, type SwarmParams } from "../protocols/params.ts";

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
  params: SwarmParams,
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
  return keptOrFresh(store, finalizedKey(taskId), fresh, keptUntil(thread, params));
}

/** When the kept records of `thread` may go. */
function keptUntil(thread: ThreadState, params: SwarmParams): number {
  return retainUntilMs(thread.need.deadlineMs, params.decideRetentionMs);
}

/** The record kept at `key`, or `fresh` once kept there (one atomic write when none is). */
async function keptOrFresh(
  store: Store,
  key: StoreKey,
  fresh: FinalizePayload,
  untilMs: number,
): Promise<FinalizePayload | undefined> {
  // Nothing removes a kept record before its NEED is long over, so a failed write is followed by
  // a read that finds one.
  for (let attempt = 0; attempt < KEEP_ATTEMPTS; attempt++) {
    if (await keepIfAbsent(store, key, fresh, untilMs)) return fresh;
    const kept = await store.get<FinalizePayload>(key);
    if (kept !== undefined) return kept.value.commitId === fresh.commitId ? kept.value : undefined;
  }
  throw new Error(`The record at ${key.join("/")} neither stays absent nor present`);
}

const KEEP_ATTEMPTS = 3;

/** Writes `value` at `key`, to expire at `untilMs`, unless the key holds something; true when it wrote. */
async function keepIfAbsent(
  store: Store,
  key: StoreKey,
  value: unknown,
  untilMs: number,
): Promise<boolean> {
  const result = await store.commit({
    checks: [{ key, version: null }],
    sets: [{ key, value, expireAtMs: untilMs }],
  });
  return result.ok;
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
  params: SwarmParams,
): Promise<void> {
  const committee = thread.resultCommittee;
  if (thread.decision?.decider !== decider || committee === undefined) return;
  const key = committeeKey(thread.needId);
  await keepIfAbsent(store, key, [...committee], keptUntil(thread, params));
}

/** The result committee kept for the decision of `needId`, if any. */
export async function keptCommittee(
  store: Store,
  needId: string,
): Promise<readonly string[] | undefined> {
  return (await store.get<string[]>(committeeKey(needId)))?.value;
}

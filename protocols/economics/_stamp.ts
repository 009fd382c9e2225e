/**
 * Stamping a ruling (private to the economy): the decider's node fills in
 * the economic consequences of an INVALIDATE from its own ledger, so that
 * every node applies the same amounts and seats the same new committee.
 *
 * @module
 */

import { committeeSize } from "../committee.ts";
import { planQuorum, resultQuorum } from "../consensus/quorum.ts";
import type { LifecycleVerb } from "../lifecycle/payloads.ts";
import type { ReduceView } from "../lifecycle/reducer.ts";
import type { ChallengeState, ThreadState } from "../lifecycle/state.ts";
import { toMicro } from "./amounts.ts";
import type { Ledger } from "./ledger.ts";
import { policySlashShare } from "./payouts.ts";
import { stakeSlashOf } from "./_settle.ts";

/** What stamping reads. */
export interface StampContext {
  readonly ledger: Ledger;
  readonly verifierCount: number;
  /** The committee for a subject, leaving out `exclude`. */
  readonly select: (subject: string, size: number, exclude: readonly string[]) => string[];
}

/**
 * Fills the fields of an outgoing payload that come from the node's
 * economy: the plan committee of a NEED, the result committee of a DECIDE,
 * the consequences of an INVALIDATE of a challenge. Fields already present
 * are kept; other payloads pass through.
 */
export function stampPayload(
  kind: LifecycleVerb,
  thread: ThreadState | undefined,
  payload: unknown,
  view: ReduceView,
  context: StampContext,
): unknown {
  if (typeof payload !== "object" || payload === null) return payload;
  const record = payload as Record<string, unknown>;
  const count = context.verifierCount;
  const pinned = (quorum: number, subject: string) => {
    const committee = context.select(subject, committeeSize(quorum, count), []);
    return committee.length === 0 ? payload : { ...record, committee };
  };
  const unpinned = record.committee === undefined && typeof record.needId === "string";
  if (kind === "NEED" && unpinned) {
    return pinned(planQuorum(count, view.bootstrap, view.params), `plan:${record.needId}`);
  }
  if (kind === "DECIDE" && unpinned) {
    return pinned(resultQuorum(count, view.bootstrap, view.params), `result:${record.needId}`);
  }
  if (kind === "INVALIDATE" && record.target === "CHALLENGE" && thread !== undefined) {
    return stampInvalidate(record, thread, view, context);
  }
  return payload;
}

/**
 * Completes an INVALIDATE of a challenge: the votes the decider saw, and for
 * UPHELD the slashes (50 % of each passing attester's stake, the worker's
 * included when it attested its own result, plus the policy share of the
 * worker's for a policy breach), the challenger's reward (2× its bond, 4× in
 * bootstrap) and the reopened task's K_result (K + 2, or min(active, 2K)
 * after repeated upholds) and committee (never a slashed attester or the
 * worker). Fields already present are kept.
 */
export function stampInvalidate(
  record: Record<string, unknown>,
  thread: ThreadState,
  view: ReduceView,
  context: StampContext,
): Record<string, unknown> {
  const challenge = thread.challenges?.get(String(record.challengeId));
  const task = thread.tasks.get(String(record.taskId));
  const commit = task?.commits.get(String(record.commitId));
  if (challenge === undefined || task === undefined || commit === undefined) return record;
  const economics = view.params.economics;
  const severity = typeof record.severity === "number" ? record.severity : 0;
  const base = {
    severity,
    attesters: [...commit.tally.approvals],
    dissenters: [...commit.tally.rejections],
    kResult: task.kResult,
    committee: [] as string[],
    slashes: [] as { account: string; amount: number }[],
    reward: 0,
  };
  if (record.verdict !== "UPHELD") return { ...base, ...record };
  // Every attester of the invalid result is slashed, the worker too when it attested its own;
  // a policy breach adds the policy share to the worker's slash.
  const shareOf = (account: string) => {
    const attested = commit.tally.approvals.includes(account) ? economics.attesterSlashShare : 0;
    const breach = account === commit.worker && challenge.proofType === "POLICY_BREACH" &&
        severity > 0
      ? policySlashShare(severity, economics)
      : 0;
    return Math.min(1, attested + breach);
  };
  const liable = [...new Set([...commit.tally.approvals, commit.worker])];
  const slashes = liable
    .map((account) => ({
      account,
      amount: stakeSlashOf(context.ledger, account, shareOf(account)),
    }))
    .filter((slash) => slash.amount > 0);
  const upholds = (task.upholds ?? 0) + 1;
  const active = context.verifierCount;
  const raised = upholds >= economics.repeatedUpholds
    ? Math.min(active, 2 * task.kResult)
    : Math.min(active, task.kResult + 2);
  const excluded = liable;
  const subject = `result:${task.taskId}#${upholds}`;
  const size = Math.min(active, raised + 1);
  const chosen = context.select(subject, size, excluded);
  // With too few unslashed verifiers left, the slashed ones serve again rather than nobody.
  const committee = chosen.length > 0 ? chosen : context.select(subject, size, [commit.worker]);
  return {
    ...base,
    slashes,
    reward: rewardOf(challenge, view),
    kResult: Math.max(1, Math.min(raised, committee.length)),
    committee,
    ...record,
  };
}

function rewardOf(challenge: ChallengeState, view: ReduceView): number {
  const economics = view.params.economics;
  const multiplier = economics.challengeRewardMultiplier *
    (view.bootstrap ? economics.bootstrapRewardMultiplier : 1);
  return toMicro(challenge.bond * multiplier);
}

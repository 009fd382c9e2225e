/**
 * Quorum math (DESIGN.md §5): how many approvals decide a plan or verify a
 * result, and a tracker that reports a quorum exactly once.
 *
 * @module
 */

import type { SwarmParams } from "../params.ts";

/**
 * The plan quorum: `min(kPlanTarget, floor(active × alpha))`, at least 1,
 * and 1 in bootstrap mode.
 *
 * @example
 * ```ts
 * planQuorum(20, false, params); // min(5, floor(20 × 0.3)) = 5
 * ```
 */
export function planQuorum(
  activeVerifierCount: number,
  bootstrap: boolean,
  params: SwarmParams,
): number {
  if (bootstrap) return 1;
  return Math.max(
    1,
    Math.min(params.kPlanTarget, Math.floor(activeVerifierCount * params.quorumAlpha)),
  );
}

/**
 * The result quorum: `min(target, active)`, at least 1, and 1 in bootstrap
 * mode. `raisedBy` grows it after upheld challenges (K_result += 2).
 */
export function resultQuorum(
  activeVerifierCount: number,
  bootstrap: boolean,
  params: SwarmParams,
  raisedBy = 0,
): number {
  if (bootstrap && raisedBy === 0) return 1;
  return Math.max(1, Math.min(params.kResultTarget + raisedBy, activeVerifierCount));
}

/** Votes for one subject (a proposal, a commit): one per voter, first quorum reported once. */
export interface Tally {
  readonly approvals: readonly string[];
  readonly rejections: readonly string[];
  /** True once approvals reached the quorum; never reset. */
  readonly reached: boolean;
}

/** An empty tally. */
export const EMPTY_TALLY: Tally = { approvals: [], rejections: [], reached: false };

/** Outcome of {@linkcode addVote}. */
export interface VoteResult {
  readonly tally: Tally;
  /** True only for the vote that made the tally reach the quorum. */
  readonly completedQuorum: boolean;
  /** False when this voter had already voted (the vote is ignored). */
  readonly counted: boolean;
}

/** Adds one voter's verdict; a quorum is completed by exactly one vote. */
export function addVote(tally: Tally, voter: string, approve: boolean, quorum: number): VoteResult {
  if (tally.approvals.includes(voter) || tally.rejections.includes(voter)) {
    return { tally, completedQuorum: false, counted: false };
  }
  const approvals = approve ? [...tally.approvals, voter] : tally.approvals;
  const rejections = approve ? tally.rejections : [...tally.rejections, voter];
  const reachedNow = !tally.reached && approvals.length >= quorum;
  return {
    tally: { approvals, rejections, reached: tally.reached || reachedNow },
    completedQuorum: reachedNow,
    counted: true,
  };
}

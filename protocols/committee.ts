/**
 * Committees: which verifiers vote on a plan or attest a result. A committee
 * is drawn by `protocols/economics/selection.ts`: weighted by
 * `sqrt(stake) × reputation × recency`, under diversity caps, and
 * deterministic given the subject id, so every node that sees the same
 * candidates picks the same committee. The node that opens a phase pins the
 * committee in its message (the requester's NEED for the plan committee, the
 * decider's DECIDE for the result committee), so nodes whose ledgers differ
 * for a moment still agree on who may vote.
 *
 * Only committee members vote, which keeps the number of envelopes per task
 * proportional to the quorum rather than to the swarm size.
 *
 * @module
 */

import { planQuorum, resultQuorum } from "./consensus/quorum.ts";
import { MICRO_PER_CREDIT } from "./economics/amounts.ts";
import { type SelectionCandidate, selectWeighted } from "./economics/selection.ts";
import type { SwarmParams } from "./params.ts";
import { sha256Hex } from "./work.ts";

/**
 * The `size` verifiers with the highest score `sha256(subject ‖ did)`,
 * in score order. Returns everyone when there are fewer verifiers.
 *
 * @example
 * ```ts
 * const committee = selectCommittee("need-7", verifiers, 3);
 * ```
 */
export function selectCommittee(
  subject: string,
  verifiers: Iterable<string>,
  size: number,
): string[] {
  return [...verifiers]
    .map((did) => ({ did, score: sha256Hex(`${subject}\u0000${did}`) }))
    .sort((left, right) => (left.score < right.score ? 1 : left.score > right.score ? -1 : 0))
    .slice(0, Math.max(0, size))
    .map((entry) => entry.did);
}

/**
 * How many members a committee gets for a quorum of `quorum`: the quorum
 * plus a spare, so one slow or faulty member does not stall it.
 */
export function committeeSize(quorum: number, verifierCount: number): number {
  return Math.min(verifierCount, quorum + 1);
}

/**
 * The plan committee of a NEED and the result committee of a task: quorum
 * plus a spare, drawn from the active verifiers by weighted, diversity-capped
 * selection. Without `candidates` (stake, reputation, recency, metadata),
 * every verifier weighs the same and is its own organisation.
 *
 * @example
 * ```ts
 * const members = committeeFor("plan", needId, verifiers, params, bootstrap, candidates);
 * ```
 */
export function committeeFor(
  kind: "plan" | "result",
  subject: string,
  verifiers: ReadonlySet<string>,
  params: SwarmParams,
  bootstrap: boolean,
  candidates?: readonly SelectionCandidate[],
): string[] {
  const quorum = kind === "plan"
    ? planQuorum(verifiers.size, bootstrap, params)
    : resultQuorum(verifiers.size, bootstrap, params);
  const pool = candidates ?? uniformCandidates(verifiers, params);
  return selectWeighted(
    `${kind}:${subject}`,
    pool.filter((candidate) => verifiers.has(candidate.did)),
    committeeSize(quorum, verifiers.size),
    params.economics,
  );
}

/** Candidates of equal weight, each its own organisation, AS, region and entity. */
export function uniformCandidates(
  verifiers: Iterable<string>,
  params: SwarmParams,
): SelectionCandidate[] {
  const stake = Math.max(1, params.economics.verifierStakeMin) * MICRO_PER_CREDIT;
  return [...verifiers].map((did) => ({
    did,
    stake,
    reputation: 1,
    recency: 1,
    org: `org:${did}`,
    asn: `asn:${did}`,
    region: `region:${did}`,
    entity: did,
  }));
}

/**
 * Committees: which verifiers vote on a plan or attest a result. Every node
 * computes the same committee from the same subject id and verifier set, by
 * rendezvous hashing, so committee membership needs no coordination.
 *
 * Only committee members vote, which keeps the number of envelopes per task
 * proportional to the quorum rather than to the swarm size.
 *
 * @module
 */

import { planQuorum, resultQuorum } from "./consensus/quorum.ts";
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
 * plus a spare, drawn by rendezvous hashing from the active verifiers.
 */
export function committeeFor(
  kind: "plan" | "result",
  subject: string,
  verifiers: ReadonlySet<string>,
  params: SwarmParams,
  bootstrap: boolean,
): string[] {
  const quorum = kind === "plan"
    ? planQuorum(verifiers.size, bootstrap, params)
    : resultQuorum(verifiers.size, bootstrap, params);
  return selectCommittee(`${kind}:${subject}`, verifiers, committeeSize(quorum, verifiers.size));
}

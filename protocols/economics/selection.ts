/**
 * Committee selection: a weighted draw without replacement, weight
 * `sqrt(stake) × reputation × recency` (stake capped, so a whale cannot buy
 * the committee), with diversity caps (one organisation ≤ 30 %, one AS
 * ≤ 40 %, one region ≤ 50 % of the committee, and at most one member per
 * linked entity). Only verifiers with the minimum stake are eligible.
 *
 * The draw is deterministic given the subject: each candidate's key is
 * `ln(u) / weight` (Efraimidis–Spirakis) with `u` from `sha256(subject ‖ did)`,
 * so every node that sees the same candidates picks the same committee, and
 * different subjects spread the load.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { MICRO_PER_CREDIT } from "./amounts.ts";
import type { EconomicsParams } from "./params.ts";

/** A verifier as selection sees it. */
export interface SelectionCandidate {
  readonly did: string;
  /** Bonded stake, micro-credits. */
  readonly stake: number;
  /** In [0, 1]. */
  readonly reputation: number;
  /** In [0, 1]. */
  readonly recency: number;
  readonly org: string;
  readonly asn: string;
  readonly region: string;
  readonly entity: string;
}

/** The caps a committee must respect. */
export type DiversityCaps = Pick<
  EconomicsParams,
  "orgShareMax" | "asnShareMax" | "regionShareMax" | "entityMembersMax"
>;

/** The attributes caps apply to. */
const DIMENSIONS = ["org", "asn", "region", "entity"] as const;
type Dimension = typeof DIMENSIONS[number];

/** Selection weight: `sqrt(min(stake, cap)) × reputation × recency` (stake in credits). */
export function selectionWeight(
  candidate: SelectionCandidate,
  params: Pick<EconomicsParams, "stakeWeightCap">,
): number {
  const credits = Math.min(candidate.stake / MICRO_PER_CREDIT, params.stakeWeightCap);
  return Math.sqrt(Math.max(0, credits)) * candidate.reputation * candidate.recency;
}

/** Most members a committee of `size` may take from one value of a dimension (at least 1). */
export function membersAllowed(dimension: Dimension, size: number, caps: DiversityCaps): number {
  if (dimension === "entity") return Math.max(1, caps.entityMembersMax);
  const share = dimension === "org"
    ? caps.orgShareMax
    : dimension === "asn"
    ? caps.asnShareMax
    : caps.regionShareMax;
  return Math.max(1, Math.floor(share * size + 1e-9));
}

/**
 * The committee for `subject`: up to `size` eligible candidates by weighted
 * draw under the diversity caps. When the caps cannot be met at `size`, the
 * committee is the largest smaller one that meets them.
 *
 * @example
 * ```ts
 * const committee = selectWeighted("result:need-7", candidates, 4, economics);
 * ```
 */
export function selectWeighted(
  subject: string,
  candidates: readonly SelectionCandidate[],
  size: number,
  params: EconomicsParams,
): string[] {
  const minStake = params.verifierStakeMin * MICRO_PER_CREDIT;
  const ranked = candidates
    .filter((candidate) => candidate.stake >= minStake)
    .map((candidate) => ({ candidate, weight: selectionWeight(candidate, params) }))
    .filter((entry) => entry.weight > 0)
    .map((entry) => ({
      candidate: entry.candidate,
      key: Math.log(uniformOf(subject, entry.candidate.did)) / entry.weight,
    }))
    .sort((left, right) =>
      right.key - left.key ||
      (left.candidate.did < right.candidate.did ? -1 : 1)
    )
    .map((entry) => entry.candidate);
  for (let target = Math.min(size, ranked.length); target > 0; target--) {
    const picked = pickUnderCaps(ranked, target, params);
    if (picked.length === target) return picked.map((candidate) => candidate.did);
  }
  return [];
}

/**
 * Which caps a committee breaks, as readable strings (empty when it
 * respects them all); caps are relative to the committee's own size.
 */
export function diversityViolations(
  members: readonly Pick<SelectionCandidate, Dimension | "did">[],
  caps: DiversityCaps,
): string[] {
  const violations: string[] = [];
  for (const dimension of DIMENSIONS) {
    const allowed = membersAllowed(dimension, members.length, caps);
    const counts = new Map<string, number>();
    for (const member of members) {
      counts.set(member[dimension], (counts.get(member[dimension]) ?? 0) + 1);
    }
    for (const [value, count] of counts) {
      if (count > allowed) {
        violations.push(`${dimension} ${value} has ${count} of ${members.length} (max ${allowed})`);
      }
    }
  }
  return violations;
}

function pickUnderCaps(
  ranked: readonly SelectionCandidate[],
  target: number,
  caps: DiversityCaps,
): SelectionCandidate[] {
  const counts = new Map<string, number>();
  const picked: SelectionCandidate[] = [];
  for (const candidate of ranked) {
    if (picked.length === target) break;
    const fits = DIMENSIONS.every((dimension) =>
      (counts.get(`${dimension}\u0000${candidate[dimension]}`) ?? 0) <
        membersAllowed(dimension, target, caps)
    );
    if (!fits) continue;
    for (const dimension of DIMENSIONS) {
      const key = `${dimension}\u0000${candidate[dimension]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    picked.push(candidate);
  }
  return picked;
}

/** A number in (0, 1) from `sha256(subject ‖ did)`, the same on every node. */
function uniformOf(subject: string, did: string): number {
  const digest = createHash("sha256").update(`${subject}\u0000${did}`).digest();
  // 48 bits are plenty and stay exact in a double.
  const bits = digest.readUIntBE(0, 6);
  return (bits + 1) / (2 ** 48 + 1);
}

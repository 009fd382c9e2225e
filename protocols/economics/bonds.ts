/**
 * Challenge bonds: base bond by proof type (10/25/50/100, 75 for a policy
 * breach) × the NEED's complexity (1/2/5), in credits.
 *
 * @module
 */

import type { BountyClass, EconomicsParams, ProofType } from "./params.ts";

/**
 * The bond a challenge of `proofType` against a NEED of `bountyClass` must post, in credits.
 *
 * @example
 * ```ts
 * challengeBond("OUTPUT_MISMATCH", "COMPLEX", economics); // 200
 * ```
 */
export function challengeBond(
  proofType: ProofType,
  bountyClass: BountyClass,
  params: EconomicsParams,
): number {
  return params.challengeBonds[proofType] * params.complexityMultipliers[bountyClass];
}

/** Proof types the decider can check mechanically; the others cannot be proven by a machine. */
export const MECHANICAL_PROOFS: ReadonlySet<ProofType> = new Set<ProofType>([
  "SCHEMA_VIOLATION",
  "MISSING_CITATION",
  "OUTPUT_MISMATCH",
  "POLICY_BREACH",
]);

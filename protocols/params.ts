/**
 * The swarm's parameters: every number the protocol depends on, in one
 * typed, validated set with defaults, so governance can change them and a
 * bad value is caught at load with a clear error.
 *
 * @module
 */

import { SwarmError } from "../runtime/errors.ts";
import {
  ECONOMICS_PARAMS_DEFAULT,
  type EconomicsParams,
  economicsParams,
  type EconomicsParamsInput,
} from "./economics/params.ts";

/** Parameters of the coordination protocol. */
export interface SwarmParams {
  /** Upper bound of the plan quorum K_plan. */
  readonly kPlanTarget: number;
  /** Share of active verifiers needed for K_plan: K = min(kPlanTarget, floor(active × alpha)). */
  readonly quorumAlpha: number;
  /** Upper bound of the result quorum K_result. */
  readonly kResultTarget: number;
  /** Bootstrap mode (K = 1) lasts while active verifiers are fewer than this. */
  readonly bootstrapThreshold: number;
  /** How long the verifier count must hold at or above the threshold to leave bootstrap. */
  readonly bootstrapStabilityMs: number;
  /** Proposals are accepted for this long after a NEED. */
  readonly bidWindowMs: number;
  /** Most proposals kept per NEED; later ones are refused. */
  readonly proposalsPerNeedMax: number;
  /** Shortest lease a CLAIM may ask for. */
  readonly leaseTtlMinMs: number;
  /** Longest lease a CLAIM may ask for. */
  readonly leaseTtlMaxMs: number;
  /** Challenge window T_challenge between result quorum and FINALIZE. */
  readonly challengeWindowMs: number;
  /** Tasks a single proposal may add. */
  readonly tasksPerProposalMax: number;
  /**
   * A node expires a NEED on its own only this long after its deadline; until
   * then it waits for the bucket's decider to expire it (INVALIDATE), so every
   * node settles the NEED's escrow the same way.
   */
  readonly needExpiryGraceMs: number;
  /**
   * How long past a NEED's deadline the decide log keeps its decision and
   * leases, and its decider the records it finalized with, before forgetting
   * them. No node accepts the NEED's messages by then, so nothing can ask
   * for them again; the margin must exceed the clock skew between nodes (a
   * decider whose clock lags by more could decide the NEED a second time).
   */
  readonly decideRetentionMs: number;
  /** The credit economy: bounties, stake, committees, challenges, slashing, reputation. */
  readonly economics: EconomicsParams;
}

/** What {@linkcode swarmParams} accepts: any subset, with the economics section partial too. */
export type SwarmParamsInput = Partial<Omit<SwarmParams, "economics">> & {
  readonly economics?: EconomicsParamsInput;
};

/** Defaults (DESIGN.md §5). */
export const SWARM_PARAMS_DEFAULT: SwarmParams = {
  kPlanTarget: 5,
  quorumAlpha: 0.3,
  kResultTarget: 3,
  bootstrapThreshold: 10,
  bootstrapStabilityMs: 24 * 60 * 60 * 1000,
  bidWindowMs: 30_000,
  proposalsPerNeedMax: 64,
  leaseTtlMinMs: 60_000,
  leaseTtlMaxMs: 24 * 60 * 60 * 1000,
  challengeWindowMs: 10_000,
  tasksPerProposalMax: 64,
  needExpiryGraceMs: 30_000,
  decideRetentionMs: 60 * 60 * 1000,
  economics: ECONOMICS_PARAMS_DEFAULT,
};

/** Raised for an invalid parameter. */
export class ParamsError extends SwarmError {
  constructor(message: string) {
    super("E_PARAMS", message);
  }
}

const POSITIVE_INTEGERS = [
  "kPlanTarget",
  "kResultTarget",
  "bootstrapThreshold",
  "proposalsPerNeedMax",
  "tasksPerProposalMax",
] as const;
const NON_NEGATIVE_DURATIONS = [
  "bootstrapStabilityMs",
  "bidWindowMs",
  "leaseTtlMinMs",
  "leaseTtlMaxMs",
  "challengeWindowMs",
  "needExpiryGraceMs",
  "decideRetentionMs",
] as const;

/**
 * Fills defaults and validates.
 *
 * @example
 * ```ts
 * const params = swarmParams({ challengeWindowMs: 500 });
 * ```
 */
export function swarmParams(partial: SwarmParamsInput = {}): SwarmParams {
  const unknown = Object.keys(partial).filter((key) => !(key in SWARM_PARAMS_DEFAULT));
  if (unknown.length > 0) throw new ParamsError(`Unknown parameter ${unknown[0]}`);
  const params: SwarmParams = {
    ...SWARM_PARAMS_DEFAULT,
    ...partial,
    economics: economicsParams(partial.economics),
  };
  for (const key of POSITIVE_INTEGERS) {
    if (!Number.isSafeInteger(params[key]) || params[key] < 1) {
      throw new ParamsError(
        `Parameter ${key} must be a positive integer, got ${String(params[key])}`,
      );
    }
  }
  for (const key of NON_NEGATIVE_DURATIONS) {
    if (typeof params[key] !== "number" || !Number.isFinite(params[key]) || params[key] < 0) {
      throw new ParamsError(
        `Parameter ${key} must be a duration >= 0 ms, got ${String(params[key])}`,
      );
    }
  }
  if (!(params.quorumAlpha > 0 && params.quorumAlpha <= 1)) {
    throw new ParamsError(`Parameter quorumAlpha must be in (0, 1], got ${params.quorumAlpha}`);
  }
  if (params.leaseTtlMaxMs < params.leaseTtlMinMs) {
    throw new ParamsError(
      `Parameter leaseTtlMaxMs must be >= leaseTtlMinMs (${params.leaseTtlMinMs}), got ${params.leaseTtlMaxMs}`,
    );
  }
  if (params.decideRetentionMs < params.needExpiryGraceMs) {
    throw new ParamsError(
      `Parameter decideRetentionMs must be >= needExpiryGraceMs (${params.needExpiryGraceMs}), got ${params.decideRetentionMs}`,
    );
  }
  return params;
}

/**
 * When the decide-log records of a NEED with this deadline may be forgotten,
 * given the retention margin (`decideRetentionMs`).
 */
export function retainUntilMs(deadlineMs: number, retentionMs: number): number {
  return Math.ceil(deadlineMs + retentionMs);
}

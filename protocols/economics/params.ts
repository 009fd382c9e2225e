/**
 * The economy's parameters (DESIGN.md §5): every number of the credit
 * economy in one typed set with defaults, validated on load so that a bad
 * value is a clear error rather than a slow leak of credit. They live in
 * `SwarmParams.economics`, next to the coordination protocol's numbers, so
 * governance changes one object.
 *
 * Amounts here are in credits (human units); the ledger keeps micro-credits.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** Classes of NEEDs; a class caps the bounty and scales challenge bonds. */
export const BOUNTY_CLASSES = ["SIMPLE", "COMPLEX", "CRITICAL"] as const;
/** A NEED's class. */
export type BountyClass = typeof BOUNTY_CLASSES[number];

/** Typed proofs a CHALLENGE may carry. */
export const PROOF_TYPES = [
  "SCHEMA_VIOLATION",
  "MISSING_CITATION",
  "SEMANTIC_CONTRADICTION",
  "OUTPUT_MISMATCH",
  "POLICY_BREACH",
] as const;
/** A challenge's proof type. */
export type ProofType = typeof PROOF_TYPES[number];

/** Parameters of the credit economy. */
export interface EconomicsParams {
  /** Largest bounty a NEED of each class may offer (credits). */
  readonly bountyCaps: Readonly<Record<BountyClass, number>>;
  /** Complexity multiplier of challenge bonds by the NEED's class (1/2/5). */
  readonly complexityMultipliers: Readonly<Record<BountyClass, number>>;
  /** Base challenge bond by proof type (credits), multiplied by complexity. */
  readonly challengeBonds: Readonly<Record<ProofType, number>>;
  /** Verify bounty escrowed with a NEED, as a share of its bounty; paid to the committee. */
  readonly verifyBountyShare: number;
  /** A NEED's escrow must be held (deadline) at least this many challenge windows. */
  readonly escrowChallengeWindows: number;
  /** Unstaked credit stays slashable this long before it can be withdrawn (7 days). */
  readonly unbondingMs: number;
  /** Least stake (credits) a verifier needs to be selected for committees. */
  readonly verifierStakeMin: number;
  /** Stake above this (credits) adds no selection weight: whales are capped. */
  readonly stakeWeightCap: number;
  /** Most members of one committee from one entity (linked identities). */
  readonly entityMembersMax: number;
  /** Largest share of a committee from one organisation. */
  readonly orgShareMax: number;
  /** Largest share of a committee from one autonomous system (ASN). */
  readonly asnShareMax: number;
  /** Largest share of a committee from one region. */
  readonly regionShareMax: number;
  /** Share of their stake slashed from verifiers who attested an invalidated result. */
  readonly attesterSlashShare: number;
  /** Split of slashed stake after an upheld challenge: challenger's share. */
  readonly upheldChallengerShare: number;
  /** Split of slashed stake after an upheld challenge: honest (dissenting) verifiers' share. */
  readonly upheldHonestShare: number;
  /** Split of slashed stake after an upheld challenge: burned share. */
  readonly upheldBurnShare: number;
  /** An upheld challenger's reward is this many times its bond (bounded by its share). */
  readonly challengeRewardMultiplier: number;
  /** In bootstrap mode the reward is multiplied again by this. */
  readonly bootstrapRewardMultiplier: number;
  /** Share of a rejected challenge's bond that is burned; the rest goes to the defenders. */
  readonly rejectedBondBurnShare: number;
  /** Share of a withdrawn (or unprovable) challenge's bond kept as a fee (burned). */
  readonly withdrawFeeShare: number;
  /** Stake slashed per unit of missed-heartbeat severity. */
  readonly heartbeatSlashPerSeverity: number;
  /** Most stake slashed for one missed-heartbeat lease. */
  readonly heartbeatSlashMax: number;
  /** Base share slashed for a policy violation: base × (1 + severity / 10). */
  readonly policySlashBase: number;
  /** After this many upheld challenges on a task, K_result becomes min(active, 2K). */
  readonly repeatedUpholds: number;
  /** Reputation of a new identity. */
  readonly reputationStart: number;
  /** Reputation lost per failed attestation. */
  readonly reputationFailedAttestation: number;
  /** Reputation gained per upheld challenge. */
  readonly reputationUpheldChallenge: number;
  /** Share of a reputation's distance from the start value that fades per week. */
  readonly reputationDecayPerWeek: number;
  /** A verifier seen within this window has full recency. */
  readonly recencyWindowMs: number;
  /** Least recency factor of a verifier seen long ago. */
  readonly recencyFloor: number;
  /** Recency factor of a verifier never seen. */
  readonly recencyUnseen: number;
  /** Largest challenge evidence, bytes. */
  readonly evidenceBytesMax: number;
  /** Most challenges one challenger may open per rate window. */
  readonly challengeRateMax: number;
  /** The challenge rate window. */
  readonly challengeRateWindowMs: number;
  /** A challenge nobody resolved is refunded after this long. */
  readonly challengeRefundAfterMs: number;
  /** Credits minted to each registered participant at genesis. */
  readonly genesisBalance: number;
  /** Of which staked at genesis. */
  readonly genesisStake: number;
  /** A NEED or bond the sender cannot fund yet is retried after this long. */
  readonly fundingRetryMs: number;
}

/** Defaults (DESIGN.md §5 and issue 5). */
export const ECONOMICS_PARAMS_DEFAULT: EconomicsParams = {
  bountyCaps: { SIMPLE: 10, COMPLEX: 100, CRITICAL: 1_000 },
  complexityMultipliers: { SIMPLE: 1, COMPLEX: 2, CRITICAL: 5 },
  challengeBonds: {
    SCHEMA_VIOLATION: 10,
    MISSING_CITATION: 25,
    SEMANTIC_CONTRADICTION: 50,
    OUTPUT_MISMATCH: 100,
    POLICY_BREACH: 75,
  },
  verifyBountyShare: 0.2,
  escrowChallengeWindows: 2,
  unbondingMs: 7 * 24 * 60 * 60 * 1000,
  verifierStakeMin: 100,
  stakeWeightCap: 100_000,
  entityMembersMax: 1,
  orgShareMax: 0.3,
  asnShareMax: 0.4,
  regionShareMax: 0.5,
  attesterSlashShare: 0.5,
  upheldChallengerShare: 0.5,
  upheldHonestShare: 0.4,
  upheldBurnShare: 0.1,
  challengeRewardMultiplier: 2,
  bootstrapRewardMultiplier: 2,
  rejectedBondBurnShare: 0.1,
  withdrawFeeShare: 0.1,
  heartbeatSlashPerSeverity: 0.01,
  heartbeatSlashMax: 0.1,
  policySlashBase: 0.1,
  repeatedUpholds: 2,
  reputationStart: 0.8,
  reputationFailedAttestation: 0.3,
  reputationUpheldChallenge: 0.1,
  reputationDecayPerWeek: 0.05,
  recencyWindowMs: 10 * 60 * 1000,
  recencyFloor: 0.1,
  recencyUnseen: 0.5,
  evidenceBytesMax: 10 * 1024,
  challengeRateMax: 5,
  challengeRateWindowMs: 60_000,
  challengeRefundAfterMs: 10 * 60 * 1000,
  genesisBalance: 10_000_000,
  genesisStake: 1_000,
  fundingRetryMs: 1_000,
};

/** What callers may pass: any subset, with the per-class and per-proof tables partial too. */
export type EconomicsParamsInput =
  & Partial<
    Omit<EconomicsParams, "bountyCaps" | "complexityMultipliers" | "challengeBonds">
  >
  & {
    readonly bountyCaps?: Partial<Record<BountyClass, number>>;
    readonly complexityMultipliers?: Partial<Record<BountyClass, number>>;
    readonly challengeBonds?: Partial<Record<ProofType, number>>;
  };

/** Raised for an invalid economics parameter. */
export class EconomicsParamsError extends SwarmError {
  constructor(message: string) {
    super("E_PARAMS", message);
  }
}

const SHARES = [
  "verifyBountyShare",
  "orgShareMax",
  "asnShareMax",
  "regionShareMax",
  "attesterSlashShare",
  "upheldChallengerShare",
  "upheldHonestShare",
  "upheldBurnShare",
  "rejectedBondBurnShare",
  "withdrawFeeShare",
  "heartbeatSlashPerSeverity",
  "heartbeatSlashMax",
  "policySlashBase",
  "reputationStart",
  "reputationFailedAttestation",
  "reputationUpheldChallenge",
  "reputationDecayPerWeek",
  "recencyFloor",
  "recencyUnseen",
] as const;
const POSITIVE_INTEGERS = [
  "entityMembersMax",
  "repeatedUpholds",
  "evidenceBytesMax",
  "challengeRateMax",
] as const;
const DURATIONS = [
  "unbondingMs",
  "recencyWindowMs",
  "challengeRateWindowMs",
  "challengeRefundAfterMs",
  "fundingRetryMs",
] as const;
const AMOUNTS = [
  "verifierStakeMin",
  "stakeWeightCap",
  "genesisBalance",
  "genesisStake",
  "escrowChallengeWindows",
  "challengeRewardMultiplier",
  "bootstrapRewardMultiplier",
] as const;

/** Largest amount of credits any single parameter may name (keeps micro-credits exact). */
export const CREDITS_PARAM_MAX = 1_000_000_000;

/**
 * Fills defaults and validates; throws {@linkcode EconomicsParamsError}
 * (`E_PARAMS`) naming the first bad value.
 *
 * @example
 * ```ts
 * const economics = economicsParams({ verifierStakeMin: 50, bountyCaps: { SIMPLE: 20 } });
 * ```
 */
export function economicsParams(input: EconomicsParamsInput = {}): EconomicsParams {
  if (typeof input !== "object" || input === null) {
    throw new EconomicsParamsError("Parameter economics must be an object");
  }
  const unknown = Object.keys(input).filter((key) => !(key in ECONOMICS_PARAMS_DEFAULT));
  if (unknown.length > 0) {
    throw new EconomicsParamsError(`Unknown parameter economics.${unknown[0]}`);
  }
  const params: EconomicsParams = {
    ...ECONOMICS_PARAMS_DEFAULT,
    ...input,
    bountyCaps: table("bountyCaps", BOUNTY_CLASSES, input.bountyCaps),
    complexityMultipliers: table(
      "complexityMultipliers",
      BOUNTY_CLASSES,
      input.complexityMultipliers,
    ),
    challengeBonds: table("challengeBonds", PROOF_TYPES, input.challengeBonds),
  };
  for (const key of SHARES) checkRange(key, params[key], 0, 1);
  for (const key of POSITIVE_INTEGERS) {
    if (!Number.isSafeInteger(params[key]) || params[key] < 1) {
      fail(`economics.${key} must be a positive integer`, params[key]);
    }
  }
  for (const key of DURATIONS) checkRange(key, params[key], 0, Number.MAX_SAFE_INTEGER);
  for (const key of AMOUNTS) checkRange(key, params[key], 0, CREDITS_PARAM_MAX);
  checkRelations(params);
  return params;
}

function table<K extends string>(
  name: string,
  keys: readonly K[],
  partial: Partial<Record<K, number>> | undefined,
): Record<K, number> {
  const defaults = ECONOMICS_PARAMS_DEFAULT[name as keyof EconomicsParams] as Record<K, number>;
  if (partial !== undefined && (typeof partial !== "object" || partial === null)) {
    throw new EconomicsParamsError(`Parameter economics.${name} must be an object`);
  }
  for (const key of Object.keys(partial ?? {})) {
    if (!keys.includes(key as K)) {
      throw new EconomicsParamsError(
        `Unknown key economics.${name}.${key}; known: ${keys.join(", ")}`,
      );
    }
  }
  const merged = { ...defaults, ...partial } as Record<K, number>;
  for (const key of keys) checkRange(`${name}.${key}`, merged[key], 0, CREDITS_PARAM_MAX);
  return merged;
}

function checkRelations(params: EconomicsParams): void {
  const split = params.upheldChallengerShare + params.upheldHonestShare + params.upheldBurnShare;
  if (Math.abs(split - 1) > 1e-9) {
    fail(
      "economics.upheldChallengerShare + upheldHonestShare + upheldBurnShare must be 1",
      split,
    );
  }
  if (params.heartbeatSlashPerSeverity > params.heartbeatSlashMax) {
    fail(
      `economics.heartbeatSlashPerSeverity must be <= heartbeatSlashMax (${params.heartbeatSlashMax})`,
      params.heartbeatSlashPerSeverity,
    );
  }
  if (params.genesisStake > params.genesisBalance) {
    fail(
      `economics.genesisStake must be <= genesisBalance (${params.genesisBalance})`,
      params.genesisStake,
    );
  }
  if (params.policySlashBase * 2 > 1) {
    fail(
      "economics.policySlashBase must be <= 0.5 (severity 10 doubles it)",
      params.policySlashBase,
    );
  }
  const caps = params.bountyCaps;
  if (!(caps.SIMPLE <= caps.COMPLEX && caps.COMPLEX <= caps.CRITICAL)) {
    fail("economics.bountyCaps must grow SIMPLE <= COMPLEX <= CRITICAL", caps.SIMPLE);
  }
}

function checkRange(key: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    fail(
      `economics.${key.replace(/^economics\./, "")} must be a number in [${min}, ${max}]`,
      value,
    );
  }
}

function fail(what: string, value: unknown): never {
  throw new EconomicsParamsError(`Parameter ${what}, got ${String(value)}`);
}

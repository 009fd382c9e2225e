/**
 * Ruling on a challenge: the decider fetches the evidence and the commit's
 * artifacts from the content store, then this pure function decides.
 *
 * - A challenge outside the window, from a challenger over its rate, or
 *   against a commit already invalidated is REFUSED (its bond comes back).
 * - Evidence that is missing, larger than declared or over the limit makes
 *   the proof malformed: REJECTED.
 * - Mechanical proofs are checked: SCHEMA_VIOLATION against the operation's
 *   declared output schema, MISSING_CITATION against the content store,
 *   OUTPUT_MISMATCH by re-running the deterministic task, POLICY_BREACH
 *   by re-measuring the telemetry the commit claimed. A proof that holds is UPHELD, else REJECTED.
 * - SEMANTIC_CONTRADICTION cannot be checked by a machine: UNPROVEN.
 *
 * @module
 */

import type { ChallengeVerdict } from "../lifecycle/payloads.ts";
import type { ChallengeState, CommitState, TaskState } from "../lifecycle/state.ts";
import {
  outputMatchesSchema,
  runWork,
  sha256Hex,
  telemetryOf,
  type WorkTelemetry,
} from "../work.ts";
import { MECHANICAL_PROOFS } from "./bonds.ts";
import type { EconomicsParams } from "./params.ts";

/** A ruling. */
export interface Judgement {
  readonly verdict: ChallengeVerdict;
  /** `OK` when upheld, else the reason's error code. */
  readonly code: string;
  /** Severity 0..10 (policy breaches). */
  readonly severity: number;
}

/** What the decider fetched from the content store for a challenge. */
export interface FetchedProof {
  /** The evidence bytes; undefined when the store does not have them. */
  readonly evidence: Uint8Array | undefined;
  /** The commit's artifacts by CID; undefined when missing from the store. */
  readonly artifacts: ReadonlyMap<string, Uint8Array | undefined>;
}

/** What a ruling reads besides the challenge. */
export interface JudgeInput {
  readonly task: TaskState;
  readonly commit: CommitState;
  readonly fetched: FetchedProof;
  readonly params: EconomicsParams;
}

/** Whether a challenge may be ruled on its merits at all (window, rate, target). */
export function admissibility(
  challenge: ChallengeState,
  task: TaskState,
  commit: CommitState,
  withinRate: boolean,
): Judgement | undefined {
  const inWindow = task.status === "VERIFIED" && task.verifiedCommit === commit.commitId &&
    commit.invalidated !== true && task.finalizeAfterMs !== undefined &&
    challenge.openedAtMs < task.finalizeAfterMs;
  if (!inWindow) return { verdict: "REFUSED", code: "E_CHALLENGE_WINDOW", severity: 0 };
  if (!withinRate) return { verdict: "REFUSED", code: "E_CHALLENGE_RATE", severity: 0 };
  return undefined;
}

/**
 * Rules on an admissible challenge from the fetched proof.
 *
 * @example
 * ```ts
 * const { verdict } = judgeChallenge(challenge, { task, commit, fetched, params: economics });
 * ```
 */
export function judgeChallenge(challenge: ChallengeState, input: JudgeInput): Judgement {
  const { task, commit, fetched, params } = input;
  const evidence = fetched.evidence;
  if (evidence === undefined || evidence.length !== challenge.evidenceBytes) {
    return rejected("E_PROOF_MALFORMED");
  }
  if (evidence.length > params.evidenceBytesMax) return rejected("E_EVIDENCE_TOO_LARGE");
  if (!MECHANICAL_PROOFS.has(challenge.proofType)) {
    return { verdict: "UNPROVEN", code: "E_PROOF_UNCHECKABLE", severity: 0 };
  }
  const first = commit.artifacts[0];
  const output = first === undefined ? undefined : fetched.artifacts.get(first);
  const text = output === undefined ? undefined : new TextDecoder().decode(output);
  switch (challenge.proofType) {
    case "SCHEMA_VIOLATION":
      if (text === undefined) return rejected("E_PROOF_NOT_SHOWN");
      return outputMatchesSchema(task.spec.op, text) ? rejected("E_PROOF_NOT_SHOWN") : upheld(0);
    case "MISSING_CITATION": {
      const missing = commit.artifacts.some((cid) => fetched.artifacts.get(cid) === undefined);
      return missing ? upheld(0) : rejected("E_PROOF_NOT_SHOWN");
    }
    case "OUTPUT_MISMATCH":
      return outputMismatch(task, commit, text);
    default:
      return policyBreach(task, commit);
  }
}

function outputMismatch(task: TaskState, commit: CommitState, text: string | undefined): Judgement {
  let expected: string;
  try {
    expected = runWork(task.spec).digest;
  } catch {
    return { verdict: "UNPROVEN", code: "E_PROOF_UNCHECKABLE", severity: 0 };
  }
  if (expected !== commit.outputDigest) return upheld(0);
  if (text !== undefined && sha256Hex(text) !== commit.outputDigest) return upheld(0);
  return rejected("E_PROOF_NOT_SHOWN");
}

/**
 * The policy a machine can check here: a commit must not understate its
 * telemetry (cost, time, memory) against a re-run of the deterministic
 * task; severity grows with the worst understatement, 1 per 10 %.
 */
function policyBreach(task: TaskState, commit: CommitState): Judgement {
  let measured: WorkTelemetry;
  try {
    measured = telemetryOf(runWork(task.spec));
  } catch {
    return { verdict: "UNPROVEN", code: "E_PROOF_UNCHECKABLE", severity: 0 };
  }
  const claimed = commit.telemetry;
  const worst = Math.max(
    understatement(measured.costUnits, claimed.costUnits),
    understatement(measured.timeMs, claimed.timeMs),
    understatement(measured.memoryBytes, claimed.memoryBytes),
  );
  if (worst <= 0) return rejected("E_PROOF_NOT_SHOWN");
  return upheld(Math.min(10, Math.max(1, Math.ceil(worst * 10))));
}

function understatement(measured: number, claimed: number): number {
  return measured <= 0 || claimed >= measured ? 0 : (measured - claimed) / measured;
}

function upheld(severity: number): Judgement {
  return { verdict: "UPHELD", code: "OK", severity };
}

function rejected(code: string): Judgement {
  return { verdict: "REJECTED", code, severity: 0 };
}

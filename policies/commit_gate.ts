/**
 * The commit gate: a verifier checks a COMMIT's claimed telemetry (cost,
 * time, memory) against what it measured, under policy, and puts the
 * decision and its evaluation digest into its ATTEST. Any node can recheck
 * an ATTEST: it re-evaluates the quoted input under its own policy and
 * flags a divergent decision or digest.
 *
 * @module
 */

import { errorMessage } from "../runtime/errors.ts";
import { evaluationDigest } from "./digest.ts";
import {
  type EnvelopeView,
  type NodeFacts,
  type Telemetry,
  toPolicyRequest,
} from "./envelope_view.ts";
import { PolicyRequestError } from "./errors.ts";
import { isSha256Hex } from "./hash.ts";
import type { PolicySource } from "./policy_source.ts";
import { checkPolicyRequest, parseCanonicalRequest } from "./request.ts";

/** The commit gate's answer for one COMMIT. */
export interface CommitGateResult {
  readonly allowed: boolean;
  readonly reasons: readonly string[];
  readonly policyHash: string;
  readonly capsuleHash: string;
  /** Canonical request that was evaluated; quoted in the ATTEST. */
  readonly evalInput: string;
  /** `sha256(evalInput ‖ decision ‖ policyHash)`. */
  readonly evalDigest: string;
}

/** The policy part of an ATTEST payload. */
export interface AttestPolicyFields {
  /** `approve` when the policy allows the COMMIT, `reject` otherwise. */
  readonly verdict: "approve" | "reject";
  readonly evalDigest: string;
  readonly evalInput: string;
  readonly policyDecision: { readonly allowed: boolean; readonly reasons: readonly string[] };
}

/** The result of rechecking someone's ATTEST. */
export type DigestCheck =
  | { readonly agrees: true; readonly evalDigest: string }
  | {
    readonly agrees: false;
    /**
     * `input`: the quoted input is malformed or not a COMMIT with measured
     * telemetry; `decision`: this node decides otherwise; `digest`: same
     * decision but another digest (another policy, or a forged digest).
     */
    readonly divergence: "input" | "decision" | "digest";
    readonly message: string;
  };

/** Verifier-side telemetry check and ATTEST digest recheck. */
export class CommitGate {
  readonly #source: PolicySource;
  /** COMMITs evaluated. */
  evaluated = 0;
  /** COMMITs the policy rejected (understated telemetry, no artifact, …). */
  rejected = 0;
  /** ATTESTs rechecked. */
  rechecked = 0;
  /** ATTESTs whose input, decision or digest diverged from this node's. */
  divergences = 0;

  constructor(source: PolicySource) {
    this.#source = source;
  }

  /**
   * Evaluates `commit` with the telemetry this verifier measured. Throws
   * `PolicyRequestError` when `commit` is not a well-formed COMMIT view.
   */
  async evaluate(
    commit: EnvelopeView,
    actual: Telemetry,
    facts: NodeFacts = {},
  ): Promise<CommitGateResult> {
    if (commit?.kind !== "COMMIT") {
      throw new PolicyRequestError(
        "E_POLICY_REQUEST",
        `Commit gate evaluates COMMIT envelopes only, got ${String(commit?.kind)}`,
      );
    }
    if (typeof actual !== "object" || actual === null) {
      throw new PolicyRequestError("E_POLICY_REQUEST", "Commit gate needs measured telemetry");
    }
    const { engine, capsuleHash } = this.#source.current();
    const checked = checkPolicyRequest(toPolicyRequest(commit, { ...facts, actual }));
    const decision = engine.evaluateChecked(checked);
    this.evaluated++;
    if (!decision.allowed) this.rejected++;
    return {
      allowed: decision.allowed,
      reasons: decision.reasons,
      policyHash: decision.policyHash,
      capsuleHash,
      evalInput: checked.canonical,
      evalDigest: await evaluationDigest(checked.canonical, decision.allowed, decision.policyHash),
    };
  }

  /** The fields a verifier puts into its ATTEST for `result`. */
  attestation(result: CommitGateResult): AttestPolicyFields {
    return {
      verdict: result.allowed ? "approve" : "reject",
      evalDigest: result.evalDigest,
      evalInput: result.evalInput,
      policyDecision: { allowed: result.allowed, reasons: result.reasons },
    };
  }

  /**
   * Re-evaluates the input quoted in another verifier's ATTEST and compares
   * decision and digest. Never throws for what a peer sent.
   */
  async recheck(attest: {
    readonly evalInput: unknown;
    readonly evalDigest: unknown;
    readonly policyDecision: { readonly allowed: unknown };
  }): Promise<DigestCheck> {
    this.rechecked++;
    const result = await this.#recheck(attest);
    if (!result.agrees) this.divergences++;
    return result;
  }

  async #recheck(attest: {
    readonly evalInput: unknown;
    readonly evalDigest: unknown;
    readonly policyDecision: { readonly allowed: unknown };
  }): Promise<DigestCheck> {
    let checked;
    try {
      checked = parseCanonicalRequest(attest?.evalInput as string);
    } catch (error) {
      return { agrees: false, divergence: "input", message: errorMessage(error) };
    }
    const context = checked.request.context;
    if (checked.request.action !== "COMMIT" || !("actualCost" in context)) {
      return {
        agrees: false,
        divergence: "input",
        message: "Quoted input is not a COMMIT with measured telemetry",
      };
    }
    const { engine } = this.#source.current();
    const decision = engine.evaluateChecked(checked);
    const digest = await evaluationDigest(checked.canonical, decision.allowed, decision.policyHash);
    if (attest.policyDecision?.allowed !== decision.allowed) {
      return {
        agrees: false,
        divergence: "decision",
        message: `Attester says ${
          attest.policyDecision?.allowed ? "allow" : "deny"
        }, this node decides ${decision.allowed ? "allow" : "deny"} (${
          decision.reasons.join(", ")
        })`,
      };
    }
    if (!isSha256Hex(attest.evalDigest) || attest.evalDigest !== digest) {
      return {
        agrees: false,
        divergence: "digest",
        message: `Attester's evalDigest ${String(attest.evalDigest).slice(0, 12)}… differs from ${
          digest.slice(0, 12)
        }… (another policy, or a forged digest)`,
      };
    }
    return { agrees: true, evalDigest: digest };
  }
}

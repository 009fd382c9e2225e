/**
 * The policy engine interface. CAN Swarm ships one engine, Cedar in
 * WebAssembly (`cedar_engine.ts`); the gates and capsules only see this
 * interface, so a second engine can be added without touching them.
 *
 * @module
 */

import type { PolicyDiagnostic } from "./errors.ts";
import type { PolicyMetrics } from "./metrics.ts";
import type { CheckedRequest, PolicyRequest } from "./request.ts";
import type { PolicySources } from "./sources.ts";

/** The answer to a policy request. */
export interface PolicyDecision {
  /** True only when a rule permits and none forbids (default deny). */
  readonly allowed: boolean;
  /**
   * Why, as rule ids: for an allow, the permitting rules; for a deny, the
   * forbidding rules, `default-deny` when no rule permitted, and
   * `error:<rule>` for rules that failed to evaluate (which deny: fail closed).
   * Sorted, so equal decisions compare equal.
   */
  readonly reasons: readonly string[];
  /** Evaluation errors, if any. */
  readonly errors: readonly PolicyDiagnostic[];
  /** Hash of the engine binary, policy text and schema that decided. */
  readonly policyHash: string;
}

/** Reason given when no rule permits a request. */
export const DEFAULT_DENY_REASON = "default-deny";

/** A loaded, immutable policy set on one engine. */
export interface PolicyEngine {
  /** Engine family, e.g. `cedar`. */
  readonly engineName: string;
  /** SHA-256 of the engine binary (the Cedar wasm bytes). */
  readonly engineHash: string;
  /** SHA-256 of the policy text. */
  readonly policyTextHash: string;
  /** SHA-256 of the schema text. */
  readonly schemaHash: string;
  /** Hash over engine, policy text, schema and schema version; reported with every decision. */
  readonly policyHash: string;
  /** What was loaded. */
  readonly sources: PolicySources;
  /** Ids of the loaded rules, sorted. */
  readonly ruleIds: readonly string[];
  /** Counters and latency of this engine's evaluations. */
  readonly metrics: PolicyMetrics;
  /** Checks and evaluates a request; throws `PolicyRequestError` for a malformed one. */
  evaluate(request: PolicyRequest): PolicyDecision;
  /** Evaluates a request that was already checked (saves the second check on hot paths). */
  evaluateChecked(checked: CheckedRequest): PolicyDecision;
}

/** Limits on what an engine accepts at load. */
export interface PolicyLoadLimits {
  /** Largest policy text, bytes. Default 256 KiB. */
  readonly policyBytesMax: number;
  /** Largest schema text, bytes. Default 256 KiB. */
  readonly schemaBytesMax: number;
  /** Most rules in one policy set. Default 256. */
  readonly rulesMax: number;
}

/** Default load limits. */
export const DEFAULT_LOAD_LIMITS: PolicyLoadLimits = {
  policyBytesMax: 256 * 1024,
  schemaBytesMax: 256 * 1024,
  rulesMax: 256,
};

/** Options of loading an engine. */
export interface PolicyEngineOptions {
  /** Load limits; defaults above. */
  readonly limits?: Partial<PolicyLoadLimits>;
  /**
   * A monotonic clock in milliseconds (e.g. `() => performance.now()`), used
   * only to measure evaluation time for metrics. Without it no latency is
   * recorded; domain code cannot read the host clock itself.
   */
  readonly clock?: () => number;
}

/**
 * The Cedar policy engine: loads a policy set once (parse, validate against
 * the schema in strict mode, preparse into the WebAssembly instance) and
 * answers requests with the stateful, preparsed call.
 *
 * Cedar terminates on every input and is default-deny. One Cedar property
 * needs care: a `forbid` rule whose condition raises an error is skipped,
 * which could turn a deny into an allow. This engine fails closed instead:
 * any evaluation error denies, with `error:<rule>` among the reasons.
 *
 * @module
 */

import type { AuthorizationAnswer, DetailedError } from "@cedar-policy/cedar-wasm/web";
import type { CedarApi, CedarRuntime } from "./cedar_runtime.ts";
import {
  DEFAULT_DENY_REASON,
  DEFAULT_LOAD_LIMITS,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyEngineOptions,
  type PolicyLoadLimits,
} from "./engine.ts";
import { type PolicyDiagnostic, PolicyEngineError, PolicyLoadError } from "./errors.ts";
import { canonicalJson, sha256Hex } from "./hash.ts";
import { PolicyMetrics } from "./metrics.ts";
import { DecisionCache, type RequestUse, requestUse } from "./_decision_cache.ts";
import { type CheckedRequest, checkPolicyRequest, type PolicyRequest } from "./request.ts";
import type { PolicySources } from "./sources.ts";

/** Cedar entity type of principals (senders). */
export const PRINCIPAL_TYPE = "Agent";
/** Cedar entity type of resources (threads). */
export const RESOURCE_TYPE = "Thread";

const RULE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const NO_ENTITIES: never[] = [];

/** Policies as Cedar wants them: text of each rule by its `@id`. */
type RuleTexts = Record<string, string>;

/** A policy set loaded into Cedar. */
export class CedarEngine implements PolicyEngine {
  readonly engineName = "cedar";
  readonly engineHash: string;
  readonly policyTextHash: string;
  readonly schemaHash: string;
  readonly policyHash: string;
  readonly sources: PolicySources;
  readonly ruleIds: readonly string[];
  readonly metrics = new PolicyMetrics();
  /** Validator warnings at load (not errors). */
  readonly warnings: readonly PolicyDiagnostic[];
  readonly #api: CedarApi;
  readonly #policySetId: string;
  readonly #clock: (() => number) | undefined;
  readonly #decisions: DecisionCache;

  private constructor(fields: {
    runtime: CedarRuntime;
    sources: PolicySources;
    hashes: { policyTextHash: string; schemaHash: string; policyHash: string };
    ruleIds: string[];
    warnings: PolicyDiagnostic[];
    clock: (() => number) | undefined;
    use: RequestUse;
  }) {
    this.#api = fields.runtime.api;
    this.engineHash = fields.runtime.engineHash;
    this.sources = fields.sources;
    this.policyTextHash = fields.hashes.policyTextHash;
    this.schemaHash = fields.hashes.schemaHash;
    this.policyHash = fields.hashes.policyHash;
    this.ruleIds = fields.ruleIds;
    this.warnings = fields.warnings;
    this.#clock = fields.clock;
    this.#policySetId = `can-swarm:${this.policyHash}`;
    this.#decisions = new DecisionCache(fields.use);
  }

  /** Decisions answered from the cache, and evaluated by Cedar. */
  get decisionCache(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#decisions.hits, misses: this.#decisions.misses };
  }

  /**
   * Loads `sources` into Cedar. Throws {@linkcode PolicyLoadError} with the
   * engine's diagnostics for a policy or schema that fails to parse or to
   * validate, or that breaks a size limit.
   *
   * @example
   * ```ts
   * const engine = await CedarEngine.load(runtime, basePolicySources());
   * engine.evaluate({ principal: did, action: "NEED", resource: "t-1", context });
   * ```
   */
  static async load(
    runtime: CedarRuntime,
    sources: PolicySources,
    options: PolicyEngineOptions = {},
  ): Promise<CedarEngine> {
    const limits: PolicyLoadLimits = { ...DEFAULT_LOAD_LIMITS, ...options.limits };
    checkSources(sources, limits);
    const api = runtime.api;
    const rules = splitRules(api, sources, limits);
    const warnings = validateRules(api, rules, sources.schemaText);
    const hashes = await policyHashes(runtime.engineHash, sources);
    const engine = new CedarEngine({
      runtime,
      sources,
      hashes,
      ruleIds: Object.keys(rules).sort(),
      warnings,
      clock: options.clock,
      use: requestUse(api, rules),
    });
    const answer = api.preparsePolicySet(engine.#policySetId, { staticPolicies: rules });
    if (answer.type === "failure") {
      throw new PolicyLoadError(
        "E_POLICY_PARSE",
        "Cedar refused to preparse the policy set",
        answer.errors.map((error) => fromCedar(error)),
      );
    }
    return engine;
  }

  evaluate(request: PolicyRequest): PolicyDecision {
    return this.evaluateChecked(checkPolicyRequest(request));
  }

  /**
   * Evaluates a checked request; an equal request (in what the rules can
   * see of it, `_decision_cache.ts`) is answered from the decision cache.
   */
  evaluateChecked(checked: CheckedRequest): PolicyDecision {
    const { request } = checked;
    const key = this.#decisions.key(request);
    const kept = this.#decisions.get(key);
    if (kept !== undefined) {
      this.metrics.recordDecision(kept.allowed, kept.reasons, kept.errors.length > 0);
      return kept;
    }
    const started = this.#clock?.();
    const answer = this.#api.statefulIsAuthorized({
      principal: { type: PRINCIPAL_TYPE, id: request.principal },
      action: { type: "Action", id: request.action },
      resource: { type: RESOURCE_TYPE, id: request.resource },
      context: request.context,
      preparsedPolicySetId: this.#policySetId,
      entities: NO_ENTITIES,
    });
    const decision = this.#decisions.set(key, this.#decide(answer));
    if (started !== undefined) this.metrics.recordLatency((this.#clock!() - started) * 1_000);
    this.metrics.recordDecision(decision.allowed, decision.reasons, decision.errors.length > 0);
    return decision;
  }

  #decide(answer: AuthorizationAnswer): PolicyDecision {
    if (answer.type === "failure") {
      throw new PolicyEngineError(
        "E_POLICY_ENGINE",
        `Cedar could not evaluate the request: ${answer.errors.map((e) => e.message).join("; ")}`,
        answer.errors.map((error) => fromCedar(error)),
      );
    }
    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((entry) => fromCedar(entry.error, entry.policyId));
    const errored = errors.length > 0;
    const allowed = decision === "allow" && !errored;
    const reasons = [
      ...diagnostics.reason,
      ...diagnostics.errors.map((entry) => `error:${entry.policyId}`),
    ];
    if (!allowed && reasons.length === 0) reasons.push(DEFAULT_DENY_REASON);
    if (!allowed && errored) {
      // Permit ids are not reasons for a deny; keep only forbids and errors.
      const permits = new Set(decision === "allow" ? diagnostics.reason : []);
      return {
        allowed,
        reasons: reasons.filter((reason) => !permits.has(reason)).sort(),
        errors,
        policyHash: this.policyHash,
      };
    }
    return { allowed, reasons: reasons.sort(), errors, policyHash: this.policyHash };
  }
}

function checkSources(sources: PolicySources, limits: PolicyLoadLimits): void {
  const fields = ["policyText", "schemaText", "schemaVersion"] as const;
  for (const field of fields) {
    if (typeof sources?.[field] !== "string") {
      throw new PolicyLoadError("E_POLICY_PARSE", `Policy sources ${field} must be a string`);
    }
  }
  const encoder = new TextEncoder();
  const policyBytes = encoder.encode(sources.policyText).length;
  if (policyBytes > limits.policyBytesMax) {
    throw new PolicyLoadError(
      "E_POLICY_TOO_LARGE",
      `Policy text is ${policyBytes} bytes, the limit is ${limits.policyBytesMax}`,
    );
  }
  const schemaBytes = encoder.encode(sources.schemaText).length;
  if (schemaBytes > limits.schemaBytesMax) {
    throw new PolicyLoadError(
      "E_POLICY_TOO_LARGE",
      `Policy schema is ${schemaBytes} bytes, the limit is ${limits.schemaBytesMax}`,
    );
  }
}

/** Parses the policy text and keys every rule by its `@id` annotation. */
function splitRules(api: CedarApi, sources: PolicySources, limits: PolicyLoadLimits): RuleTexts {
  const schema = api.checkParseSchema(sources.schemaText);
  if (schema.type === "failure") {
    throw new PolicyLoadError(
      "E_POLICY_SCHEMA",
      `Policy schema does not parse: ${schema.errors[0]?.message ?? "unknown error"}`,
      schema.errors.map((error) => fromCedar(error)),
    );
  }
  const parts = api.policySetTextToParts(sources.policyText);
  if (parts.type === "failure") {
    throw new PolicyLoadError(
      "E_POLICY_PARSE",
      `Policy text does not parse: ${parts.errors[0]?.message ?? "unknown error"}`,
      parts.errors.map((error) => fromCedar(error)),
    );
  }
  if (parts.policy_templates.length > 0) {
    throw new PolicyLoadError("E_POLICY_INVALID", "Policy templates (slots) are not supported");
  }
  if (parts.policies.length === 0) {
    throw new PolicyLoadError("E_POLICY_INVALID", "Policy text contains no rules");
  }
  if (parts.policies.length > limits.rulesMax) {
    throw new PolicyLoadError(
      "E_POLICY_TOO_LARGE",
      `Policy text has ${parts.policies.length} rules, the limit is ${limits.rulesMax}`,
    );
  }
  const rules: RuleTexts = {};
  for (const text of parts.policies) {
    const id = ruleId(api, text);
    if (id in rules) {
      throw new PolicyLoadError("E_POLICY_ID", `Two rules have the same @id("${id}")`);
    }
    rules[id] = text;
  }
  return rules;
}

function ruleId(api: CedarApi, text: string): string {
  const json = api.policyToJson(text);
  const id = json.type === "success" ? json.json.annotations?.["id"] : undefined;
  if (id === undefined || !RULE_ID.test(id) || id === DEFAULT_DENY_REASON) {
    throw new PolicyLoadError(
      "E_POLICY_ID",
      `Every rule needs an @id of lowercase letters, digits and dashes (not "${DEFAULT_DENY_REASON}"); found ${
        id === undefined ? "none" : JSON.stringify(id)
      } on: ${text.slice(0, 80)}`,
    );
  }
  return id;
}

/** Validates the rules against the schema (strict); returns the warnings. */
function validateRules(api: CedarApi, rules: RuleTexts, schemaText: string): PolicyDiagnostic[] {
  const answer = api.validate({
    schema: schemaText,
    policies: { staticPolicies: rules },
    validationSettings: { mode: "strict" },
  });
  if (answer.type === "failure") {
    throw new PolicyLoadError(
      "E_POLICY_INVALID",
      `Policy validation failed: ${answer.errors[0]?.message ?? "unknown error"}`,
      answer.errors.map((error) => fromCedar(error)),
    );
  }
  if (answer.validationErrors.length > 0) {
    const first = answer.validationErrors[0];
    throw new PolicyLoadError(
      "E_POLICY_INVALID",
      `Policy ${first.policyId} does not match the schema: ${first.error.message}`,
      answer.validationErrors.map((entry) => fromCedar(entry.error, entry.policyId)),
    );
  }
  return [
    ...answer.validationWarnings.map((entry) => fromCedar(entry.error, entry.policyId)),
    ...answer.otherWarnings.map((error) => fromCedar(error)),
  ];
}

async function policyHashes(engineHash: string, sources: PolicySources) {
  const policyTextHash = await sha256Hex(sources.policyText);
  const schemaHash = await sha256Hex(sources.schemaText);
  const policyHash = await sha256Hex(
    "can-swarm/policy/v1\n" + canonicalJson({
      engine: "cedar",
      engineHash,
      policyTextHash,
      schemaHash,
      schemaVersion: sources.schemaVersion,
    }),
  );
  return { policyTextHash, schemaHash, policyHash };
}

/** Cedar's diagnostic in our shape. */
function fromCedar(error: DetailedError, policyId?: string): PolicyDiagnostic {
  const location = error.sourceLocations?.[0];
  return {
    message: error.message,
    ...(error.help ? { help: error.help } : {}),
    ...(policyId !== undefined ? { policyId } : {}),
    ...(location ? { start: location.start, end: location.end } : {}),
  };
}

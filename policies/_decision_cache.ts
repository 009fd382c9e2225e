/**
 * The Cedar engine's decision cache.
 *
 * A decision is a pure function of the policy set and the request (no
 * entities are passed), so an answer can be reused for an equal request.
 * Requests are rarely equal as they come, because each names its thread
 * (the resource) and its sender (the principal). But a rule can only see
 * those two through its scope (`principal in …`, `resource == …`) or a
 * condition that names the variable; when no rule of the set does either,
 * the decision cannot depend on them and the cache key leaves them out. The
 * rules are read once, at load, from Cedar's own JSON form of each rule, so
 * a capsule whose rules do look at the principal or the resource keeps them
 * in the key. The cache is bounded; the least recently used answer goes.
 *
 * @module
 */

import type { CedarApi } from "./cedar_runtime.ts";
import type { PolicyDecision } from "./engine.ts";
import { canonicalJson } from "./hash.ts";
import type { PolicyRequest } from "./request.ts";

/** Which parts of a request any rule of a set can see. */
export interface RequestUse {
  readonly principal: boolean;
  readonly resource: boolean;
}

/** Decisions kept at most by default. */
export const DECISIONS_CACHED_MAX = 4_096;

/**
 * Reads which request parts the rules see; anything Cedar cannot show as
 * JSON counts as seeing everything.
 */
export function requestUse(api: CedarApi, rules: Readonly<Record<string, string>>): RequestUse {
  let principal = false;
  let resource = false;
  for (const text of Object.values(rules)) {
    const answer = api.policyToJson(text);
    if (answer.type !== "success") return { principal: true, resource: true };
    const rule = answer.json;
    const conditions = JSON.stringify(rule.conditions ?? []);
    principal ||= rule.principal?.op !== "All" || conditions.includes('{"Var":"principal"}');
    resource ||= rule.resource?.op !== "All" || conditions.includes('{"Var":"resource"}');
  }
  return { principal, resource };
}

/** A bounded cache of decisions by the parts of the request the rules see. */
export class DecisionCache {
  readonly #use: RequestUse;
  readonly #max: number;
  readonly #decisions = new Map<string, PolicyDecision>();
  hits = 0;
  misses = 0;

  constructor(use: RequestUse, max = DECISIONS_CACHED_MAX) {
    this.#use = use;
    this.#max = max;
  }

  /** The key of `request`: what the rules can see of it. */
  key(request: PolicyRequest): string {
    return JSON.stringify([
      request.action,
      this.#use.principal ? request.principal : null,
      this.#use.resource ? request.resource : null,
    ]) + canonicalJson(request.context);
  }

  /** The kept decision for `key`, if any (counted as a hit or a miss). */
  get(key: string): PolicyDecision | undefined {
    const decision = this.#decisions.get(key);
    if (decision === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#decisions.delete(key);
    this.#decisions.set(key, decision);
    return decision;
  }

  /** Keeps `decision` (frozen: callers share it). */
  set(key: string, decision: PolicyDecision): PolicyDecision {
    Object.freeze(decision.reasons);
    Object.freeze(decision.errors);
    const frozen = Object.freeze(decision);
    if (this.#decisions.size >= this.#max) {
      this.#decisions.delete(this.#decisions.keys().next().value as string);
    }
    this.#decisions.set(key, frozen);
    return frozen;
  }
}

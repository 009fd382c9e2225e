/**
 * The preflight gate: the sender evaluates its own envelope before it
 * publishes, so an envelope the swarm would refuse is never sent. Decisions
 * are cached per (policy hash, kind, shape), where the shape is the
 * canonical request: a decision is a pure function of the policy and the
 * request, so a cache hit is exact, never an approximation. Envelopes that
 * repeat (heartbeats, retries, fan-out to many threads with equal facts)
 * skip the engine.
 *
 * @module
 */

import { assert } from "../runtime/errors.ts";
import { type EnvelopeView, type NodeFacts, toPolicyRequest } from "./envelope_view.ts";
import { PolicyDeniedError } from "./errors.ts";
import type { PolicySource } from "./policy_source.ts";
import { checkPolicyRequest } from "./request.ts";

/** The preflight answer. */
export interface PreflightResult {
  readonly allowed: boolean;
  readonly reasons: readonly string[];
  readonly policyHash: string;
  /** The capsule to name in the envelope's `policy` field. */
  readonly capsuleHash: string;
  /** True when the decision came from the cache. */
  readonly cached: boolean;
}

/** Options of {@linkcode PreflightGate}. */
export interface PreflightGateOptions {
  /** Most cached decisions; the least recently used is dropped past it. Default 4,096. */
  readonly cacheEntriesMax?: number;
}

interface CachedDecision {
  readonly allowed: boolean;
  readonly reasons: readonly string[];
}

/** Sender-side policy check with an exact decision cache. */
export class PreflightGate {
  readonly #source: PolicySource;
  readonly #cache = new Map<string, CachedDecision>();
  readonly #cacheEntriesMax: number;
  /** Decisions served from the cache. */
  hits = 0;
  /** Decisions that needed the engine. */
  misses = 0;
  /** Cache entries dropped to stay within the bound. */
  evictions = 0;
  /** Envelopes refused. */
  denied = 0;

  constructor(source: PolicySource, options: PreflightGateOptions = {}) {
    this.#source = source;
    this.#cacheEntriesMax = options.cacheEntriesMax ?? 4_096;
    assert(
      Number.isSafeInteger(this.#cacheEntriesMax) && this.#cacheEntriesMax > 0,
      `Preflight cacheEntriesMax must be a positive integer, got ${this.#cacheEntriesMax}`,
    );
  }

  /**
   * Evaluates `view` as this node would send it. Throws `PolicyRequestError`
   * for a malformed view (a bug on the sending side).
   */
  check(view: EnvelopeView, facts?: NodeFacts): PreflightResult {
    const { engine, capsuleHash } = this.#source.current();
    const checked = checkPolicyRequest(toPolicyRequest(view, facts));
    const key = `${engine.policyHash}\n${view.kind}\n${checked.canonical}`;
    let decision = this.#cache.get(key);
    const cached = decision !== undefined;
    if (decision !== undefined) {
      this.hits++;
      this.#cache.delete(key);
    } else {
      this.misses++;
      const evaluated = engine.evaluateChecked(checked);
      decision = { allowed: evaluated.allowed, reasons: evaluated.reasons };
      if (this.#cache.size >= this.#cacheEntriesMax) {
        this.#cache.delete(this.#cache.keys().next().value as string);
        this.evictions++;
      }
    }
    this.#cache.set(key, decision);
    if (!decision.allowed) this.denied++;
    return { ...decision, policyHash: engine.policyHash, capsuleHash, cached };
  }

  /**
   * Like {@linkcode check}, but throws {@linkcode PolicyDeniedError} for a
   * denied envelope, so "evaluate, then publish" cannot forget the check.
   *
   * @example
   * ```ts
   * const { capsuleHash } = gate.guard(view, facts);   // throws E_POLICY_DENIED
   * ctx.publish(topic, { ...envelope, policy: capsuleHash });
   * ```
   */
  guard(view: EnvelopeView, facts?: NodeFacts): PreflightResult {
    const result = this.check(view, facts);
    if (!result.allowed) throw new PolicyDeniedError(view.kind, result.reasons);
    return result;
  }

  /** Cached decisions now. */
  get cacheSize(): number {
    return this.#cache.size;
  }
}

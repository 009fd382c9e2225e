/**
 * Where gates find the policy to apply: the engine and the hash of the
 * capsule it came from. A node's `CapsuleRegistry` is a source whose answer
 * changes at epoch boundaries; {@linkcode fixedPolicy} is a source that
 * never changes (tools, benchmarks, single-policy tests).
 *
 * @module
 */

import type { PolicyEngine } from "./engine.ts";

/** The policy in force. */
export interface ActivePolicy {
  readonly engine: PolicyEngine;
  /** Hash of the capsule; envelopes carry it in their `policy` field. */
  readonly capsuleHash: string;
}

/** Gives the policy in force now. */
export interface PolicySource {
  current(): ActivePolicy;
}

/**
 * A source that always answers `engine` under `capsuleHash`.
 *
 * @example
 * ```ts
 * const gate = new IngressGate(fixedPolicy(engine, engine.policyHash));
 * ```
 */
export function fixedPolicy(engine: PolicyEngine, capsuleHash: string): PolicySource {
  const active: ActivePolicy = { engine, capsuleHash };
  return { current: () => active };
}

/**
 * The conformance suite: requests and the decision every policy capsule
 * must give (`conformance/vectors.json`). A capsule records the ids it
 * passed; a node installs a capsule only if it passes the suite on that node.
 *
 * @module
 */

import vectorsJson from "./conformance/vectors.json" with { type: "json" };
import type { PolicyEngine } from "./engine.ts";
import { CapsuleError, PolicyRequestError } from "./errors.ts";
import { checkPolicyRequest, describe, type PolicyRequest } from "./request.ts";

/** One test vector. */
export interface ConformanceVector {
  /** Stable id, recorded in capsules. */
  readonly id: string;
  readonly description: string;
  readonly request: PolicyRequest;
  readonly expect: "allow" | "deny";
}

/** A versioned set of vectors. */
export interface ConformanceSuite {
  readonly version: number;
  readonly vectors: readonly ConformanceVector[];
}

/** The outcome of running a suite on an engine. */
export interface ConformanceReport {
  /** Ids that gave the expected decision, sorted. */
  readonly passed: readonly string[];
  /** Vectors that did not. */
  readonly failed: readonly {
    readonly id: string;
    readonly expected: "allow" | "deny";
    readonly got: "allow" | "deny";
    readonly reasons: readonly string[];
  }[];
}

const VECTOR_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const VECTORS_MAX = 1_024;

/**
 * Checks a suite read from JSON; throws `CapsuleError` (`E_CONFORMANCE_SUITE`)
 * naming the first bad vector.
 */
export function checkConformanceSuite(value: unknown): ConformanceSuite {
  const suite = value as { version?: unknown; vectors?: unknown };
  if (typeof suite !== "object" || suite === null || !Number.isSafeInteger(suite.version)) {
    throw suiteError(`Conformance suite needs an integer version, got ${describe(suite?.version)}`);
  }
  if (!Array.isArray(suite.vectors) || suite.vectors.length === 0) {
    throw suiteError("Conformance suite needs a non-empty vectors array");
  }
  if (suite.vectors.length > VECTORS_MAX) {
    throw suiteError(
      `Conformance suite has ${suite.vectors.length} vectors, the limit is ${VECTORS_MAX}`,
    );
  }
  const ids = new Set<string>();
  for (const [index, vector] of (suite.vectors as ConformanceVector[]).entries()) {
    if (typeof vector?.id !== "string" || !VECTOR_ID.test(vector.id) || ids.has(vector.id)) {
      throw suiteError(`Conformance vector ${index} has a missing, malformed or duplicate id`);
    }
    ids.add(vector.id);
    if (vector.expect !== "allow" && vector.expect !== "deny") {
      throw suiteError(`Conformance vector ${vector.id} must expect "allow" or "deny"`);
    }
    try {
      checkPolicyRequest(vector.request);
    } catch (error) {
      if (!(error instanceof PolicyRequestError)) throw error;
      throw suiteError(`Conformance vector ${vector.id} has a bad request: ${error.message}`);
    }
  }
  return suite as ConformanceSuite;
}

/** The suite shipped in `policies/conformance/vectors.json`. */
export const BASE_CONFORMANCE_SUITE: ConformanceSuite = checkConformanceSuite(vectorsJson);

/**
 * Runs every vector of `suite` on `engine`.
 *
 * @example
 * ```ts
 * const report = runConformance(engine, BASE_CONFORMANCE_SUITE);
 * if (report.failed.length > 0) console.log(report.failed);
 * ```
 */
export function runConformance(engine: PolicyEngine, suite: ConformanceSuite): ConformanceReport {
  const passed: string[] = [];
  const failed: ConformanceReport["failed"][number][] = [];
  for (const vector of suite.vectors) {
    const decision = engine.evaluate(vector.request);
    const got = decision.allowed ? "allow" : "deny";
    if (got === vector.expect) passed.push(vector.id);
    else failed.push({ id: vector.id, expected: vector.expect, got, reasons: decision.reasons });
  }
  return { passed: passed.sort(), failed };
}

function suiteError(message: string): CapsuleError {
  return new CapsuleError("E_CONFORMANCE_SUITE", message);
}

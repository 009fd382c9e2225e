/**
 * The envelope kinds (protocol verbs, DESIGN.md §5) as the policy layer
 * knows them. Each kind is a Cedar action; which context it carries decides
 * the rules that can apply to it.
 *
 * @module
 */

import { type Verb, VERBS } from "../protocols/envelope/verbs.ts";

/** Every verb of the coordination protocol, in protocol order: each is a Cedar action. */
export const POLICY_KINDS: readonly Verb[] = VERBS;

/** One protocol verb. */
export type PolicyKind = Verb;

/** The shape of context a kind carries (see `schema.cedarschema`). */
export type ContextShape = "base" | "cost" | "commit" | "attest" | "challenge";

const SHAPES: Readonly<Record<PolicyKind, ContextShape>> = {
  NEED: "base",
  PROPOSE: "cost",
  ATTEST_PLAN: "base",
  DECIDE: "base",
  CLAIM: "cost",
  HEARTBEAT: "base",
  YIELD: "base",
  RELEASE: "base",
  COMMIT: "commit",
  ATTEST: "attest",
  CHALLENGE: "challenge",
  INVALIDATE: "base",
  FINALIZE: "base",
  UPDATE_PLAN: "base",
  RECONCILE: "base",
  CHECKPOINT: "base",
};

const KIND_SET: ReadonlySet<string> = new Set(POLICY_KINDS);

/** True when `value` is one of the protocol's verbs. */
export function isPolicyKind(value: unknown): value is PolicyKind {
  return typeof value === "string" && KIND_SET.has(value);
}

/** The context shape of `kind`. */
export function contextShapeOf(kind: PolicyKind): ContextShape {
  return SHAPES[kind];
}

/** Proof types a CHALLENGE may carry (DESIGN.md §5, step 9). */
export const PROOF_TYPES = [
  "SCHEMA_VIOLATION",
  "MISSING_CITATION",
  "SEMANTIC_CONTRADICTION",
  "OUTPUT_MISMATCH",
  "POLICY_BREACH",
] as const;

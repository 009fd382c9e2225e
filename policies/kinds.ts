/**
 * The envelope kinds (protocol verbs, DESIGN.md §5) as the policy layer
 * knows them. Each kind is a Cedar action; which context it carries decides
 * the rules that can apply to it.
 *
 * @module
 */

/** Every verb of the coordination protocol, in protocol order. */
export const POLICY_KINDS = [
  "NEED",
  "PROPOSE",
  "ATTEST_PLAN",
  "DECIDE",
  "CLAIM",
  "HEARTBEAT",
  "YIELD",
  "RELEASE",
  "COMMIT",
  "ATTEST",
  "CHALLENGE",
  "INVALIDATE",
  "FINALIZE",
  "UPDATE_PLAN",
  "RECONCILE",
  "CHECKPOINT",
] as const;

/** One protocol verb. */
export type PolicyKind = typeof POLICY_KINDS[number];

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

/**
 * The verbs of the coordination protocol (DESIGN.md §5): the only values an
 * envelope's `kind` may take.
 *
 * @module
 */

/** Every protocol verb, in protocol order. */
export const VERBS = [
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
export type Verb = typeof VERBS[number];

/** Every verb as a set: the default allowlist of {@linkcode verifyEnvelope}. */
export const ALL_VERBS: ReadonlySet<string> = new Set<string>(VERBS);

/** True when `value` is a protocol verb. */
export function isVerb(value: unknown): value is Verb {
  return typeof value === "string" && ALL_VERBS.has(value);
}

/**
 * The evaluation digest: `sha256(canonical input ‖ decision ‖ policy hash)`.
 * A verifier puts it in its ATTEST (`evalDigest`); any other node can take
 * the quoted input, evaluate it under its own policy and compare, so a
 * verifier that lies about a decision, or runs another policy, is caught.
 *
 * The parts are joined with newlines under a domain label. Canonical JSON
 * never contains a raw newline and the decision and hash have fixed
 * alphabets, so the joined text is unambiguous.
 *
 * @module
 */

import { sha256Hex } from "./hash.ts";

const DOMAIN = "can-swarm/eval-digest/v1";

/**
 * Digest of one evaluation.
 *
 * @example
 * ```ts
 * const digest = await evaluationDigest(checked.canonical, decision.allowed, decision.policyHash);
 * ```
 */
export function evaluationDigest(
  canonicalInput: string,
  allowed: boolean,
  policyHash: string,
): Promise<string> {
  return sha256Hex(`${DOMAIN}\n${canonicalInput}\n${allowed ? "allow" : "deny"}\n${policyHash}`);
}

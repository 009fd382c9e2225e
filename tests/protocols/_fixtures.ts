/**
 * Shared test fixtures for protocol tests: deterministic identities and
 * envelope fields.
 *
 * @module
 */

import type { EnvelopeFields } from "../../protocols/envelope/types.ts";
import { Identity } from "../../protocols/identity/identity.ts";

const identities = new Map<number, Promise<Identity>>();

/** The identity whose seed is 32 bytes of `fill` (cached). */
export function testIdentity(fill = 1): Promise<Identity> {
  let identity = identities.get(fill);
  if (identity === undefined) {
    identities.set(fill, identity = Identity.fromSeed(new Uint8Array(32).fill(fill)));
  }
  return identity;
}

/** A policy hash for tests. */
export const TEST_POLICY = "sha256:" + "cd".repeat(32);

/** Complete, valid envelope fields for `sender`, with `overrides` applied. */
export function testFields(
  sender: string,
  overrides: Partial<Record<keyof EnvelopeFields, unknown>> = {},
): EnvelopeFields {
  return {
    v: 1,
    kind: "PROPOSE",
    thread: "thread-1",
    sender,
    lamport: 7,
    ts: 1_700_000_000_123_456_789n,
    nonce: new Uint8Array(16).fill(5),
    payload: { need_id: "need-1", proposal_id: "proposal-1", cost: 12.5, patch: [{ op: "add" }] },
    policy: TEST_POLICY,
    ...overrides,
  } as EnvelopeFields;
}

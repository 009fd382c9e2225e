// Proves payload validation accepts well-formed payloads and refuses anything else with E_PAYLOAD, never an untyped error.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../../../protocols/lifecycle/errors.ts";
import {
  isLifecycleVerb,
  type LifecycleVerb,
  parsePayload,
} from "../../../protocols/lifecycle/payloads.ts";

const GOOD = {
  needId: "n",
  taskId: "t",
  leaseId: "l",
  artifacts: ["bafy"],
  outputDigest: "d",
  verifyBounty: 1,
  telemetry: { costUnits: 1, timeMs: 1, memoryBytes: 1 },
};

Deno.test("a well-formed COMMIT payload passes", () => {
  assert.deepEqual(parsePayload("COMMIT", GOOD), GOOD);
});

Deno.test("missing, extra, mistyped and oversized fields are refused with E_PAYLOAD naming the field", () => {
  const cases: [unknown, RegExp][] = [
    [{ ...GOOD, needId: undefined }, /field needId/],
    [{ ...GOOD, extra: 1 }, /unknown field extra/],
    [{ ...GOOD, verifyBounty: -1 }, /field verifyBounty/],
    [{ ...GOOD, verifyBounty: Number.NaN }, /field verifyBounty/],
    [{ ...GOOD, artifacts: "bafy" }, /field artifacts/],
    [{ ...GOOD, artifacts: new Array(257).fill("x") }, /field artifacts/],
    [{ ...GOOD, needId: "x".repeat(5000) }, /field needId/],
    [{ ...GOOD, telemetry: { costUnits: 1 } }, /field telemetry/],
    [null, /must be an object/],
    [[], /must be an object/],
  ];
  for (const [payload, message] of cases) {
    assert.throws(
      () => parsePayload("COMMIT", payload),
      (error: ProtocolError) => error.code === "E_PAYLOAD" && message.test(error.message),
    );
  }
  assert.throws(
    () => parsePayload("ATTEST_PLAN", { needId: "n", proposalId: "p", verdict: "pass" }),
    /approve/,
  );
});

Deno.test("random junk never escapes as an untyped error (fuzz)", () => {
  const verbs: LifecycleVerb[] = [
    "NEED",
    "PROPOSE",
    "ATTEST_PLAN",
    "DECIDE",
    "CLAIM",
    "COMMIT",
    "ATTEST",
    "FINALIZE",
  ];
  fc.assert(
    fc.property(fc.constantFrom(...verbs), fc.anything(), (verb, junk) => {
      try {
        parsePayload(verb, junk);
      } catch (error) {
        assert.ok(error instanceof ProtocolError && error.code === "E_PAYLOAD", String(error));
      }
    }),
    { numRuns: 5_000 },
  );
  assert.equal(isLifecycleVerb("NEED"), true);
  assert.equal(isLifecycleVerb("toString"), false);
});

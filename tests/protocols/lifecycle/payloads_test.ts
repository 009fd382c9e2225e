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
    "CHALLENGE",
    "INVALIDATE",
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

Deno.test("CHALLENGE and INVALIDATE payloads: optional fields typed when present, INVALIDATE by target", () => {
  const challenge = {
    needId: "n",
    taskId: "t",
    commitId: "c",
    proofType: "OUTPUT_MISMATCH",
    evidence: "bafy",
    evidenceBytes: 10,
    bond: 100,
  };
  assert.deepEqual(parsePayload("CHALLENGE", challenge), challenge);
  assert.deepEqual(parsePayload("CHALLENGE", { ...challenge, withdraws: "c1" }).withdraws, "c1");
  const ruling = {
    target: "CHALLENGE",
    needId: "n",
    taskId: "t",
    commitId: "c",
    challengeId: "c1",
    verdict: "UPHELD",
    code: "OK",
    severity: 0,
    kResult: 3,
    committee: ["did:a"],
    attesters: [],
    dissenters: [],
    slashes: [{ account: "did:b", amount: 5 }],
    reward: 0,
  };
  assert.deepEqual(parsePayload("INVALIDATE", ruling), ruling);
  const expiry = { target: "NEED", needId: "n", code: "E_DEADLINE" };
  assert.deepEqual(parsePayload("INVALIDATE", expiry), expiry);
  const need = {
    needId: "n",
    epoch: 0,
    requires: [],
    produces: [],
    budget: 1,
    bounty: 1,
    deadlineMs: 1,
    task: { op: "x", input: "", rounds: 1 },
  };
  assert.equal(parsePayload("NEED", { ...need, bountyClass: "CRITICAL" }).bountyClass, "CRITICAL");
  const cases: [LifecycleVerb, unknown, RegExp][] = [
    ["CHALLENGE", { ...challenge, proofType: "VIBES" }, /field proofType/],
    ["CHALLENGE", { ...challenge, withdraws: 7 }, /field withdraws/],
    ["INVALIDATE", { ...ruling, verdict: "MAYBE" }, /field verdict/],
    ["INVALIDATE", { ...ruling, slashes: [{ account: "did:b", amount: -1 }] }, /field slashes/],
    ["INVALIDATE", { ...expiry, slashes: [] }, /unknown field slashes/],
    ["INVALIDATE", { ...expiry, target: "TASK" }, /field target/],
    ["NEED", { ...need, bountyClass: "HUGE" }, /field bountyClass/],
    ["NEED", { ...need, committee: [1] }, /field committee/],
    ["DECIDE", { committee: "x" }, /field/],
  ];
  for (const [verb, payload, message] of cases) {
    assert.throws(() => parsePayload(verb, payload), (error: unknown) => {
      assert.ok(error instanceof ProtocolError && error.code === "E_PAYLOAD", String(error));
      assert.match(error.message, message);
      return true;
    });
  }
});

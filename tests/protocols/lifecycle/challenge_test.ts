// Proves the lifecycle's CHALLENGE and INVALIDATE: typed refusals of bad challenges, pinned committees, an upheld ruling reopening the task for a larger committee, and NEED expiry on the decider's word.
import assert from "node:assert/strict";
import { isParkable } from "../../../protocols/lifecycle/errors.ts";
import type { PayloadOf } from "../../../protocols/lifecycle/payloads.ts";
import type { ReduceView } from "../../../protocols/lifecycle/reducer.ts";
import { challengePayload, Driver, NEED_ID, rejects, TASK_ID, VERIFIERS } from "./_fixture.ts";

const challenge = challengePayload;

function ruling(overrides: Partial<PayloadOf["INVALIDATE"]> = {}): PayloadOf["INVALIDATE"] {
  return {
    target: "CHALLENGE",
    needId: NEED_ID,
    taskId: TASK_ID,
    commitId: "commit-1",
    challengeId: "ch-1",
    verdict: "UPHELD",
    code: "OK",
    severity: 0,
    kResult: 5,
    committee: VERIFIERS.slice(4, 10),
    attesters: VERIFIERS.slice(0, 3),
    dissenters: [],
    slashes: VERIFIERS.slice(0, 3).map((account) => ({ account, amount: 10 })),
    reward: 0,
    ...overrides,
  } as PayloadOf["INVALIDATE"];
}

/** A REJECTED ruling of ch-1: the result stands, nobody is slashed. */
function rejected(overrides: Partial<PayloadOf["INVALIDATE"]> = {}): PayloadOf["INVALIDATE"] {
  return ruling({
    verdict: "REJECTED",
    code: "E_PROOF_NOT_SHOWN",
    slashes: [],
    committee: [],
    kResult: 3,
    ...overrides,
  });
}

/** A verified thread (K_result 3, attesters v1..v3) with challenge ch-1 open. */
function challenged(overrides: Partial<ReduceView> = {}): Driver {
  const driver = new Driver(overrides);
  driver.toVerified();
  driver.apply("CHALLENGE", challenge(), "did:challenger", "ch-1");
  return driver;
}

Deno.test("a NEED over its class's bounty cap, or whose deadline is shorter than the escrow hold, is refused", () => {
  rejects("E_BOUNTY_CAP", () => new Driver().need({ bounty: 11, budget: 20 }));
  const complex = new Driver();
  complex.need({ bounty: 60, budget: 80, bountyClass: "COMPLEX" });
  assert.equal(complex.thread?.need.bountyClass, "COMPLEX");
  // Challenge window 500 ms: the escrow must be held at least 1,000 ms.
  rejects("E_ESCROW_WINDOW", () => new Driver().need({ deadlineMs: 1_999 }));
  new Driver().need({ deadlineMs: 2_000 });
});

Deno.test("a committee pinned in the NEED and the DECIDE is the only one that may vote", () => {
  const driver = new Driver();
  rejects("E_COMMITTEE_INVALID", () => driver.need({ committee: ["did:v1", "did:stranger"] }));
  rejects("E_COMMITTEE_INVALID", () => driver.need({ committee: ["did:v1", "did:v1"] }));
  driver.need({ committee: ["did:v8", "did:v9"] });
  assert.equal(driver.thread?.kPlan, 2, "K_plan never exceeds the pinned committee");
  driver.propose();
  rejects("E_NOT_COMMITTEE_MEMBER", () => driver.vote("p1", ["did:v1"]));
  driver.vote("p1", ["did:v8", "did:v9"]);
  driver.decide("p1", ["did:v8", "did:v9"], { kPlan: 2, committee: ["did:v5", "did:v6"] });
  assert.deepEqual(driver.thread?.resultCommittee, ["did:v5", "did:v6"]);
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.kResult, 2);
  driver.claim();
  driver.commit();
  rejects("E_NOT_COMMITTEE_MEMBER", () => driver.attest(["did:v1"]));
  assert.deepEqual(driver.attest(["did:v5", "did:v6"]).map((effect) => effect.type), [
    "attested",
    "attested",
    "result-quorum",
  ]);
});

Deno.test("bad challenges are refused with their own codes and open nothing", () => {
  const driver = new Driver();
  driver.toVerified();
  const open = (payload: PayloadOf["CHALLENGE"], sender = "did:challenger") =>
    driver.apply("CHALLENGE", payload, sender);
  rejects("E_SELF_CHALLENGE", () => open(challenge(), "did:worker"));
  rejects("E_PROOF_MALFORMED", () => open(challenge({ evidence: "not-a-cid" })));
  rejects("E_PROOF_MALFORMED", () => open(challenge({ evidenceBytes: 0 })));
  rejects("E_EVIDENCE_TOO_LARGE", () => open(challenge({ evidenceBytes: 10 * 1024 + 1 })));
  rejects("E_CHALLENGE_BOND", () => open(challenge({ bond: 10 })));
  assert.ok(isParkable(rejects("E_UNKNOWN_COMMIT", () => open(challenge({ commitId: "later" })))));
  assert.equal(driver.thread?.challenges, undefined, "nothing was opened");
});

Deno.test("the challenger's own node refuses a challenge outside the window or a repeat; peers leave it to the decider", () => {
  const local = new Driver({ origin: "local" });
  local.need();
  local.propose();
  local.vote("p1", VERIFIERS.slice(0, 3));
  local.decide();
  local.claim();
  local.commit();
  rejects("E_CHALLENGE_WINDOW", () => local.apply("CHALLENGE", challenge(), "did:c"));
  local.attest(VERIFIERS.slice(0, 3));
  local.apply("CHALLENGE", challenge(), "did:c");
  rejects("E_CHALLENGE_RATE", () => local.apply("CHALLENGE", challenge(), "did:c"));
  local.nowMs = 1_500;
  rejects("E_CHALLENGE_WINDOW", () => local.apply("CHALLENGE", challenge(), "did:d"));
  const peer = new Driver({ origin: "peer" });
  peer.toVerified();
  peer.nowMs = 9_999;
  assert.deepEqual(
    peer.apply("CHALLENGE", challenge(), "did:late").map((effect) => effect.type),
    ["challenge-opened"],
  );
});

Deno.test("only the challenger may withdraw its challenge, once", () => {
  const driver = challenged();
  const withdraw = (sender: string, withdraws = "ch-1") =>
    driver.apply("CHALLENGE", challenge({ withdraws }), sender);
  rejects("E_NOT_CHALLENGER", () => withdraw("did:someone"));
  assert.ok(isParkable(rejects("E_UNKNOWN_CHALLENGE", () => withdraw("did:challenger", "ch-9"))));
  assert.deepEqual(withdraw("did:challenger").map((effect) => effect.type), [
    "challenge-withdrawn",
  ]);
  assert.equal(driver.thread?.challenges?.get("ch-1")?.withdrawRequested, true);
  rejects("E_CHALLENGE_RESOLVED", () => withdraw("did:challenger"));
});

Deno.test("an upheld ruling invalidates the commit and reopens the task for a larger committee", () => {
  const driver = challenged();
  const rule = (payload: PayloadOf["INVALIDATE"], sender = "did:decider") =>
    driver.apply("INVALIDATE", payload, sender);
  rejects("E_NOT_DECIDER", () => rule(ruling(), "did:challenger"));
  assert.ok(
    isParkable(rejects("E_UNKNOWN_CHALLENGE", () => rule(ruling({ challengeId: "ch-9" })))),
  );
  assert.ok(
    isParkable(rejects("E_AWAITING_VOTES", () => rule(ruling({ dissenters: ["did:v9"] })))),
  );
  rejects("E_COMMITTEE_INVALID", () => rule(ruling({ committee: ["did:v1", "did:v5"] })));
  rejects("E_COMMITTEE_INVALID", () => rule(ruling({ kResult: 7 })));
  rejects("E_PAYLOAD", () => rule(ruling({ slashes: [{ account: "did:v9", amount: 1 }] })));
  const effects = rule(ruling());
  assert.deepEqual(effects.map((effect) => effect.type), ["challenge-resolved", "task-ready"]);
  const task = driver.thread?.tasks.get(TASK_ID);
  assert.equal(task?.status, "DRAFT");
  assert.equal(task?.kResult, 5, "K_result 3 + 2");
  assert.equal(task?.upholds, 1);
  assert.deepEqual(task?.committee, VERIFIERS.slice(4, 10));
  assert.equal(task?.commits.get("commit-1")?.invalidated, true);
  rejects("E_CHALLENGE_RESOLVED", () => rule(ruling()));
  rejects("E_OUT_OF_WINDOW", () => driver.attest(["did:v4"]));
  // Re-verification: a new lease and commit, attested by the new committee only.
  driver.claim("did:worker-2", "lease-2");
  driver.commit("did:worker-2", "lease-2", "commit-2");
  rejects("E_NOT_COMMITTEE_MEMBER", () => driver.attest(["did:v1"], "pass", "commit-2"));
  const verified = driver.attest(VERIFIERS.slice(4, 9), "pass", "commit-2");
  assert.deepEqual(
    verified.filter((effect) => effect.type !== "attested").map((effect) => effect.type),
    [
      "result-quorum",
    ],
  );
});

Deno.test("after a failover, a ruling or an expiry by another decider takes effect only when the log vouched for its fence", () => {
  rejects("E_NOT_DECIDER", () => challenged().apply("INVALIDATE", rejected(), "did:new-owner"));
  const vouched = challenged({ decisionConfirmed: true });
  assert.deepEqual(
    vouched.apply("INVALIDATE", rejected(), "did:new-owner").map((effect) => effect.type),
    ["challenge-resolved"],
  );
  assert.equal(vouched.thread?.challenges?.get("ch-1")?.verdict, "REJECTED");
  // Unvouched, another node's expiry is refused (the test of INVALIDATE of a NEED below).
  const expiring = new Driver({ decisionConfirmed: true });
  expiring.toVerified();
  expiring.nowMs = 2_000_000;
  const expiry = { target: "NEED", needId: NEED_ID, code: "E_DEADLINE" } as const;
  assert.deepEqual(
    expiring.apply("INVALIDATE", expiry, "did:new-owner").map((effect) => effect.type),
    ["need-expired"],
  );
});

Deno.test("a rejected ruling leaves the result standing; it finalizes as usual", () => {
  const driver = challenged();
  driver.apply(
    "INVALIDATE",
    rejected(),
    "did:decider",
  );
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "VERIFIED");
  assert.equal(driver.thread?.challenges?.get("ch-1")?.verdict, "REJECTED");
  driver.nowMs = 1_500;
  assert.deepEqual(driver.finalize().map((effect) => effect.type), ["task-final", "need-final"]);
});

Deno.test("INVALIDATE of a NEED expires it only after its deadline, only from its decider, never once final", () => {
  const driver = new Driver();
  driver.need({ deadlineMs: 5_000 });
  const expire = (sender = "did:decider") =>
    driver.apply("INVALIDATE", { target: "NEED", needId: NEED_ID, code: "E_DEADLINE" }, sender);
  const early = rejects("E_WINDOW_OPEN", () => expire());
  assert.equal(early.retryAtMs, 5_000);
  assert.ok(isParkable(early));
  driver.nowMs = 5_000;
  assert.deepEqual(expire().map((effect) => effect.type), ["need-expired"]);
  assert.equal(driver.thread?.phase, "EXPIRED");
  assert.deepEqual(expire(), [], "again: a no-op");
  const decided = new Driver();
  decided.toVerified();
  decided.nowMs = 2_000_000;
  rejects(
    "E_NOT_DECIDER",
    () =>
      decided.apply(
        "INVALIDATE",
        { target: "NEED", needId: NEED_ID, code: "E_DEADLINE" },
        "did:other",
      ),
  );
  const final = new Driver();
  final.toVerified();
  final.nowMs = 1_500;
  final.finalize();
  final.nowMs = 2_000_000;
  rejects(
    "E_BAD_STATE",
    () =>
      final.apply(
        "INVALIDATE",
        { target: "NEED", needId: NEED_ID, code: "E_DEADLINE" },
        "did:decider",
      ),
  );
});

Deno.test("a repeated CHALLENGE is refused for good: it would escrow its bond again and reopen its ruling", () => {
  const driver = challenged();
  const repeat = () => driver.apply("CHALLENGE", challenge(), "did:challenger", "ch-1");
  assert.equal(isParkable(rejects("E_OUT_OF_WINDOW", repeat)), false);
  driver.apply(
    "INVALIDATE",
    rejected(),
    "did:decider",
  );
  rejects("E_OUT_OF_WINDOW", repeat);
  assert.equal(driver.thread?.challenges?.get("ch-1")?.verdict, "REJECTED");
});

Deno.test("once the task is FINAL, a ruling citing votes this node refused as late still applies", () => {
  const driver = challenged();
  driver.nowMs = 1_500;
  driver.finalize();
  // v4's failing vote came after the FINALIZE here, so it was refused; the decider had it.
  rejects("E_OUT_OF_WINDOW", () => driver.attest(["did:v4"], "fail"));
  const effects = driver.apply(
    "INVALIDATE",
    rejected({ dissenters: ["did:v4"] }),
    "did:decider",
  );
  assert.deepEqual(effects.map((effect) => effect.type), ["challenge-resolved"]);
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "FINAL");
});

Deno.test("votes on a commit made before an upheld ruling reopened the task are late, not an outsider's", () => {
  const driver = new Driver();
  driver.toCommitted();
  // commit-1 rejected (approvals can no longer reach K = 3 of ten), the task reopened; v4 and v10
  // have not voted.
  driver.attest(VERIFIERS.filter((did) => did !== "did:v4" && did !== "did:v10"), "fail");
  driver.claim("did:worker-2", "lease-2");
  driver.commit("did:worker-2", "lease-2", "commit-2");
  driver.attest(VERIFIERS.slice(0, 3), "pass", "commit-2");
  driver.apply("CHALLENGE", challenge({ commitId: "commit-2" }), "did:challenger", "ch-1");
  driver.apply("INVALIDATE", ruling({ commitId: "commit-2" }), "did:decider");
  assert.deepEqual(driver.thread?.tasks.get(TASK_ID)?.committee, VERIFIERS.slice(4, 10));
  // v4 sat on commit-1's committee, not on the new one; its vote on commit-1 arrives now.
  const late = rejects("E_OUT_OF_WINDOW", () => driver.attest(["did:v4"], "pass", "commit-1"));
  assert.equal(isParkable(late), false);
  driver.claim("did:worker-3", "lease-3");
  driver.commit("did:worker-3", "lease-3", "commit-3");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.commits.get("commit-3")?.round, 1);
  driver.attest(["did:v5"], "pass", "commit-3");
});

Deno.test("an upheld ruling seats a slashed attester only when no other verifier is left to seat", () => {
  // v1–v3 attested the invalid result and are slashed; v4–v10 are free. The stamper seats slashed
  // attesters only when too few others remain (rather than nobody): refused then, the challenge
  // would never be ruled on and the NEED would hang (byzantine seed 4900 on 5 nodes).
  const rule = (committee: string[]) =>
    challenged().apply("INVALIDATE", ruling({ committee }), "did:decider");
  const error = rejects("E_COMMITTEE_INVALID", () => rule([...VERIFIERS.slice(5), "did:v1"]));
  assert.match(error.message, /seats slashed attester did:v1 .* while did:v4 is free/);
  const effects = rule([...VERIFIERS.slice(3), "did:v1"]);
  assert.deepEqual(effects.map((effect) => effect.type), ["challenge-resolved", "task-ready"]);
});

// Proves the lifecycle takes a NEED to FINAL through every verb, refuses each bad message with its own code, and judges a replayed COMMIT or HEARTBEAT by its lease as of when it was made.
import assert from "node:assert/strict";
import { isParkable } from "../../../protocols/lifecycle/errors.ts";
import { expireIfDue } from "../../../protocols/lifecycle/reducer.ts";
import { challengePayload, Driver, NEED_ID, rejects, TASK_ID, VERIFIERS } from "./_fixture.ts";

Deno.test("a NEED becomes FINAL through PROPOSE, ATTEST_PLAN, DECIDE, CLAIM, COMMIT, ATTEST and FINALIZE", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  assert.deepEqual(driver.decide().map((effect) => effect.type), ["need-decided", "task-ready"]);
  assert.deepEqual(driver.claim().map((effect) => effect.type), ["lease-granted"]);
  assert.deepEqual(driver.commit().map((effect) => effect.type), [
    "lease-ended",
    "commit-received",
  ]);
  const quorum = driver.attest(VERIFIERS.slice(0, 3));
  assert.deepEqual(
    quorum.slice(0, 3),
    VERIFIERS.slice(0, 3).map((attester) => ({
      type: "attested",
      needId: NEED_ID,
      taskId: TASK_ID,
      commitId: "commit-1",
      attester,
      pass: true,
      evalDigest: "digest",
    })),
    "every counted ATTEST is told with its verdict and digest",
  );
  assert.deepEqual(quorum.slice(3), [{
    type: "result-quorum",
    needId: NEED_ID,
    taskId: TASK_ID,
    commitId: "commit-1",
    finalizeAfterMs: 1_500,
  }]);
  const early = rejects("E_WINDOW_OPEN", () => driver.finalize());
  assert.equal(early.retryAtMs, 1_500);
  driver.nowMs = 1_500;
  assert.deepEqual(driver.finalize().map((effect) => effect.type), ["task-final", "need-final"]);
  assert.equal(driver.thread?.phase, "FINAL");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "FINAL");
  assert.deepEqual(driver.finalize(), [], "a repeated FINALIZE is a no-op");
});

Deno.test("the plan quorum triggers exactly once, for the first proposal to reach it", () => {
  const driver = new Driver();
  driver.need();
  driver.propose("p1");
  driver.propose("p2");
  driver.vote("p1", VERIFIERS.slice(0, 2));
  driver.vote("p2", VERIFIERS.slice(0, 2));
  const quorums = [
    ...driver.vote("p2", [VERIFIERS[2]]),
    ...driver.vote("p1", VERIFIERS.slice(2, 5)),
  ];
  assert.deepEqual(quorums.map((effect) => ({ ...effect, lamport: 0 })), [{
    type: "plan-quorum",
    needId: NEED_ID,
    proposalId: "p2",
    kPlan: 3,
    lamport: 0,
  }]);
  assert.equal(driver.thread?.quorumProposal, "p2");
  assert.deepEqual(driver.thread?.proposals.get("p1")?.tally.approvals, VERIFIERS.slice(0, 5));
  assert.deepEqual(
    driver.thread?.proposals.get("p2")?.tally.approvals,
    VERIFIERS.slice(0, 3),
    "votes never cross proposals",
  );
});

Deno.test("rejections do not count toward the plan quorum", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  assert.deepEqual(driver.vote("p1", VERIFIERS.slice(0, 5), "reject"), []);
  assert.equal(driver.thread?.quorumProposal, undefined);
});

Deno.test("bootstrap mode needs a single approval", () => {
  const driver = new Driver({ bootstrap: true, activeVerifiers: new Set(["did:v1"]) });
  driver.need();
  driver.propose();
  assert.deepEqual(driver.vote("p1", ["did:v1"]).map((effect) => effect.type), ["plan-quorum"]);
  driver.decide("p1", ["did:v1"], { kPlan: 1 });
  assert.equal(driver.thread?.phase, "DECIDED");
});

Deno.test("a DECIDE without quorum, or citing unseen votes, is refused (the latter only for now)", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 2));
  rejects("E_NO_QUORUM", () => driver.decide("p1", VERIFIERS.slice(0, 2)));
  rejects("E_NO_QUORUM", () => driver.decide("p1", VERIFIERS.slice(0, 2), { kPlan: 2 }));
  rejects("E_NO_QUORUM", () => driver.decide("p1", [VERIFIERS[0], VERIFIERS[0], VERIFIERS[1]]));
  const early = rejects("E_AWAITING_VOTES", () => driver.decide("p1", VERIFIERS.slice(0, 3)));
  assert.ok(isParkable(early));
  rejects("E_NOT_VERIFIER", () => driver.decide("p1", ["did:v1", "did:v2", "did:stranger"]));
  driver.vote("p1", [VERIFIERS[2]]);
  driver.decide("p1", VERIFIERS.slice(0, 3));
  assert.equal(driver.thread?.phase, "DECIDED");
});

Deno.test("DECIDE is refused from a non-decider signer, from a stale epoch or fence, and when it conflicts", () => {
  const driver = new Driver({ highestFence: 4 });
  driver.need();
  driver.propose("p1");
  driver.propose("p2");
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.vote("p2", VERIFIERS.slice(0, 3));
  rejects("E_NOT_DECIDER", () =>
    driver.apply("DECIDE", {
      needId: NEED_ID,
      proposalId: "p1",
      epoch: 0,
      lamport: 1,
      kPlan: 3,
      decider: "did:decider",
      fence: 4,
      decidedAtMs: 0,
      approvers: VERIFIERS.slice(0, 3),
    }, "did:impostor"));
  rejects(
    "E_STALE_EPOCH",
    () => driver.decide("p1", VERIFIERS.slice(0, 3), { epoch: 1, fence: 4 }),
  );
  rejects("E_STALE_FENCE", () => driver.decide("p1", VERIFIERS.slice(0, 3), { fence: 3 }));
  driver.decide("p1", VERIFIERS.slice(0, 3), { fence: 4 });
  assert.deepEqual(
    driver.decide("p1", VERIFIERS.slice(0, 3), { fence: 4 }),
    [],
    "the same DECIDE again is a no-op",
  );
  rejects("E_DECIDE_CONFLICT", () => driver.decide("p2", VERIFIERS.slice(0, 3), { fence: 4 }));
});

Deno.test("out-of-window and unknown-reference messages are refused with their codes", () => {
  const driver = new Driver();
  rejects("E_UNKNOWN_NEED", () => driver.propose());
  driver.need();
  rejects("E_NEED_EXISTS", () => driver.need());
  rejects("E_UNKNOWN_PROPOSAL", () => driver.vote("nope", ["did:v1"]));
  driver.propose();
  rejects("E_PROPOSAL_EXISTS", () => driver.propose());
  rejects("E_NOT_VERIFIER", () => driver.vote("p1", ["did:stranger"]));
  driver.vote("p1", ["did:v1"]);
  rejects("E_DUPLICATE_VOTE", () => driver.vote("p1", ["did:v1"]));
  driver.nowMs = 20_000;
  rejects("E_OUT_OF_WINDOW", () => driver.propose("late"));
});

Deno.test("a NEED past its deadline, from a stale epoch or over budget is refused", () => {
  rejects("E_DEADLINE", () => new Driver().need({ deadlineMs: 10 }));
  rejects("E_STALE_EPOCH", () => new Driver().need({ epoch: 3 }));
  rejects("E_PAYLOAD", () => new Driver().need({ bounty: 30, budget: 20 }));
});

Deno.test("a plan patch with duplicate tasks, unknown requirements or a cycle is refused", () => {
  const driver = new Driver();
  driver.need();
  const spec = { op: "sha256", input: "x", rounds: 1 };
  const propose = (patch: unknown[]) =>
    driver.apply("PROPOSE", {
      needId: NEED_ID,
      proposalId: `p-${Math.random()}`,
      ballot: 1,
      patch: patch as never,
      cost: 1,
      etaMs: 1,
      shardDependencies: [],
    }, "did:planner");
  rejects("E_BAD_PATCH", () => propose([]));
  rejects(
    "E_BAD_PATCH",
    () => propose([{ op: "ADD_TASK", taskId: "a", spec }, { op: "ADD_TASK", taskId: "a", spec }]),
  );
  rejects(
    "E_BAD_PATCH",
    () =>
      propose([{ op: "ADD_TASK", taskId: "a", spec }, {
        op: "REQUIRES",
        taskId: "a",
        dependsOn: "z",
      }]),
  );
  rejects("E_BAD_PATCH", () =>
    propose([
      { op: "ADD_TASK", taskId: "a", spec },
      { op: "ADD_TASK", taskId: "b", spec },
      { op: "REQUIRES", taskId: "a", dependsOn: "b" },
      { op: "REQUIRES", taskId: "b", dependsOn: "a" },
    ]));
});

Deno.test("a CLAIM on a claimed task, with a short ttl, or before its requirements are final is refused", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  rejects("E_LEASE_TTL", () => driver.claim("did:worker", "lease-0", TASK_ID, 59_999));
  rejects("E_UNKNOWN_TASK", () => driver.claim("did:worker", "lease-0", "p1:nope"));
  driver.claim();
  // Not final: the node may not have seen the reopen that let the log grant lease-2 (parkable).
  rejects("E_TASK_BUSY", () => driver.claim("did:other", "lease-2"));
});

Deno.test("tasks with requirements become ready only when those are final", () => {
  const driver = new Driver();
  driver.need();
  const spec = { op: "sha256", input: "x", rounds: 1 };
  driver.apply("PROPOSE", {
    needId: NEED_ID,
    proposalId: "p1",
    ballot: 1,
    patch: [
      { op: "ADD_TASK", taskId: TASK_ID, spec },
      { op: "ADD_TASK", taskId: "p1:t2", spec },
      { op: "REQUIRES", taskId: "p1:t2", dependsOn: TASK_ID },
    ],
    cost: 1,
    etaMs: 1,
    shardDependencies: [],
  }, "did:planner");
  driver.vote("p1", VERIFIERS.slice(0, 3));
  const ready = driver.decide().filter((effect) => effect.type === "task-ready").map((effect) =>
    "taskId" in effect && effect.taskId
  );
  assert.deepEqual(ready, [TASK_ID]);
  const early = rejects("E_TASK_NOT_READY", () => driver.claim("did:w2", "lease-9", "p1:t2"));
  assert.ok(isParkable(early), "the FINALIZE the worker saw may still be on its way here");
  driver.claim();
  driver.commit();
  driver.attest(VERIFIERS.slice(0, 3));
  driver.nowMs = 2_000;
  const effects = driver.finalize();
  assert.deepEqual(effects.map((effect) => effect.type), ["task-final", "task-ready"]);
  assert.equal(driver.thread?.phase, "DECIDED");
});

Deno.test("a task's leases are taken in the order they were granted: a CLAIM waits for the lease it follows, and a repeated one never revives its lease", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  const claim = (worker: string, leaseId: string, after?: string) =>
    driver.apply("CLAIM", {
      needId: NEED_ID,
      taskId: TASK_ID,
      leaseId,
      leaseTtlMs: 60_000,
      grantedAtMs: driver.nowMs,
      cost: 5,
      etaMs: 100,
      heartbeatIntervalMs: 20_000,
      ...(after === undefined ? {} : { after }),
    }, worker);
  const yieldLease = (worker: string, leaseId: string) =>
    driver.apply("YIELD", { needId: NEED_ID, taskId: TASK_ID, leaseId, reason: "busy" }, worker);
  // Lease 2 came to this node before lease 1, which it follows: it waits (parkable).
  const early = rejects("E_UNKNOWN_LEASE", () => claim("did:worker-2", "lease-2", "lease-1"));
  assert.ok(isParkable(early));
  claim("did:worker-1", "lease-1");
  rejects("E_TASK_BUSY", () => claim("did:worker-2", "lease-2", "lease-1"));
  yieldLease("did:worker-1", "lease-1");
  const repeat = rejects("E_OUT_OF_WINDOW", () => claim("did:worker-1", "lease-1"));
  assert.equal(isParkable(repeat), false, "an ended lease is never taken again");
  claim("did:worker-2", "lease-2", "lease-1");
  assert.deepEqual(driver.thread?.tasks.get(TASK_ID)?.leaseIds, ["lease-1", "lease-2"]);
  yieldLease("did:worker-2", "lease-2");
  // A late message of an ended lease is known to be late: refused for good, not parked.
  const late = rejects("E_BAD_STATE", () => yieldLease("did:worker-1", "lease-1"));
  assert.equal(isParkable(late), false);
});

Deno.test("heartbeats wait for their CLAIM and extend a live lease; YIELD and an expired-lease RELEASE return the task to DRAFT", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  const heartbeat = (expiresAtMs: number, sender: string) =>
    driver.apply(
      "HEARTBEAT",
      { needId: NEED_ID, taskId: TASK_ID, leaseId: "lease-1", expiresAtMs },
      sender,
    );
  const early = rejects("E_UNKNOWN_LEASE", () => heartbeat(70_000, "did:worker"));
  assert.ok(isParkable(early), "a HEARTBEAT ahead of its CLAIM waits for it");
  driver.claim();
  rejects("E_NOT_LEASE_HOLDER", () => heartbeat(70_000, "did:x"));
  heartbeat(90_000, "did:worker");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.lease?.expiresAtMs, 90_000);
  // An earlier HEARTBEAT that a later one overtook is late: it extends nothing.
  assert.equal(
    isParkable(rejects("E_OUT_OF_WINDOW", () => heartbeat(80_000, "did:worker"))),
    false,
  );
  rejects(
    "E_NOT_LEASE_HOLDER",
    () =>
      driver.apply(
        "YIELD",
        { needId: NEED_ID, taskId: TASK_ID, leaseId: "lease-1", reason: "x" },
        "did:x",
      ),
  );
  rejects(
    "E_BAD_STATE",
    () =>
      driver.apply("RELEASE", {
        needId: NEED_ID,
        taskId: TASK_ID,
        leaseId: "lease-1",
        reason: "expired",
      }, "did:monitor"),
  );
  driver.nowMs = 90_001;
  rejects("E_LEASE_EXPIRED", () => driver.commit());
  const effects = driver.apply("RELEASE", {
    needId: NEED_ID,
    taskId: TASK_ID,
    leaseId: "lease-1",
    reason: "expired",
  }, "did:monitor");
  assert.deepEqual(effects.map((effect) => effect.type), ["lease-ended", "task-ready"]);
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "DRAFT");
  driver.claim("did:worker-2", "lease-2");
  driver.apply(
    "YIELD",
    { needId: NEED_ID, taskId: TASK_ID, leaseId: "lease-2", reason: "busy" },
    "did:worker-2",
  );
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "DRAFT");
  // A HEARTBEAT of a lease that has ended here is late, not the work of a stranger.
  rejects("E_OUT_OF_WINDOW", () => heartbeat(95_000, "did:worker"));
});

Deno.test("a COMMIT or HEARTBEAT replayed from a peer's archive is judged by its lease as of when it was made", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  driver.claim(); // lease-1 runs to 61,000 ms
  const heartbeat = () =>
    driver.apply(
      "HEARTBEAT",
      { needId: NEED_ID, taskId: TASK_ID, leaseId: "lease-1", expiresAtMs: 80_000 },
      "did:worker",
    );
  driver.nowMs = 200_000; // a node catching up long after the lease ran out
  rejects("E_LEASE_EXPIRED", heartbeat);
  driver.replayedMadeAtMs = 61_001;
  rejects("E_LEASE_EXPIRED", heartbeat); // made after the lease ran out
  driver.replayedMadeAtMs = 50_000;
  heartbeat();
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.lease?.expiresAtMs, 80_000);
  driver.replayedMadeAtMs = undefined;
  rejects("E_LEASE_EXPIRED", () => driver.commit()); // received live: judged now
  driver.replayedMadeAtMs = 80_001;
  rejects("E_LEASE_EXPIRED", () => driver.commit()); // made after the renewed lease ran out
  driver.replayedMadeAtMs = 79_000;
  assert.deepEqual(driver.commit().map((effect) => effect.type), [
    "lease-ended",
    "commit-received",
  ]);
});

Deno.test("a thread rebuilt from a peer's archive keeps its challenge window where it was", () => {
  const driver = new Driver();
  driver.toCommitted();
  driver.nowMs = 200_000; // a node catching up long after
  driver.replayedMadeAtMs = 1_000;
  driver.attest(VERIFIERS.slice(0, 3));
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.finalizeAfterMs, 1_500, "made at 1,000 + 500");
  // A challenge made after that window is opened when it was made, so the decider sees it late.
  driver.replayedMadeAtMs = 1_600;
  driver.apply("CHALLENGE", challengePayload(), "did:challenger", "ch-1");
  assert.equal(driver.thread?.challenges?.get("ch-1")?.openedAtMs, 1_600);
  // The replayed FINALIZE is taken at once, not held back for a window reopened by this clock.
  driver.replayedMadeAtMs = 1_500;
  assert.deepEqual(driver.finalize().map((effect) => effect.type), ["task-final", "need-final"]);
});

Deno.test("a COMMIT without an artifact or from a non-holder is refused", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  driver.claim();
  rejects("E_NO_ARTIFACT", () => driver.commit("did:worker", "lease-1", "c", []));
  rejects("E_NOT_LEASE_HOLDER", () => driver.commit("did:thief"));
  // A lease this node never saw claimed may still have its CLAIM on the way (parkable).
  rejects("E_UNKNOWN_LEASE", () => driver.commit("did:worker", "lease-forged"));
});

Deno.test("an ATTEST_PLAN from a verifier outside the plan committee is refused", () => {
  const driver = new Driver({ isPlanCommitteeMember: (_need, did) => did !== "did:v4" });
  driver.need();
  driver.propose();
  rejects("E_NOT_COMMITTEE_MEMBER", () => driver.vote("p1", ["did:v4"]));
  driver.vote("p1", ["did:v1"]);
});

Deno.test("an ATTEST from a non-member, a duplicate, or after FINAL is refused", () => {
  const driver = new Driver({ isResultCommitteeMember: (_task, did) => did !== "did:v9" });
  driver.toVerified();
  rejects("E_NOT_COMMITTEE_MEMBER", () => driver.attest(["did:v9"]));
  rejects("E_DUPLICATE_VOTE", () => driver.attest(["did:v1"]));
  rejects("E_UNKNOWN_COMMIT", () => driver.attest(["did:v4"], "pass", "commit-x"));
  driver.nowMs = 5_000;
  driver.finalize();
  rejects("E_OUT_OF_WINDOW", () => driver.attest(["did:v5"]));
});

Deno.test("FINALIZE with too few or unseen attesters is refused", () => {
  const driver = new Driver();
  driver.toVerified();
  driver.nowMs = 5_000;
  rejects("E_NO_QUORUM", () => driver.finalize(VERIFIERS.slice(0, 2)));
  rejects("E_AWAITING_VOTES", () => driver.finalize(["did:v1", "did:v2", "did:v7"]));
  rejects("E_UNKNOWN_COMMIT", () => driver.finalize(VERIFIERS.slice(0, 3), "commit-x"));
});

Deno.test("failing attestations reject the commit once approvals can no longer reach K_result", () => {
  // Ten voters, K_result = 3: seven rejections still leave room for three approvals.
  const driver = new Driver();
  driver.toCommitted();
  driver.attest(VERIFIERS.slice(0, 7), "fail");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "COMMITTED");
  const effects = driver.attest(VERIFIERS.slice(7, 8), "fail");
  assert.deepEqual(effects.map((effect) => effect.type), ["attested", "task-ready"]);
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "DRAFT");
  rejects("E_WORKER_REJECTED", () => driver.claim("did:worker", "lease-3"));
  driver.claim("did:worker-2", "lease-2");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "CLAIMED");
});

Deno.test("expireIfDue() expires open NEEDs after their deadline and leaves final ones alone", () => {
  const driver = new Driver();
  driver.need({ deadlineMs: 5_000 });
  const thread = driver.thread!;
  assert.equal(expireIfDue(thread, 4_999), undefined);
  assert.equal(expireIfDue(thread, 5_000)?.phase, "EXPIRED");
  assert.equal(expireIfDue({ ...thread, phase: "FINAL" }, 9_000), undefined);
});

Deno.test("a result's outcome does not hang on the order its votes arrive (K = 1, two voters)", () => {
  // Bootstrap: K_result = 1, and the DECIDE pins a committee of two that leaves the worker out.
  // One fails the result (its artifact out of reach), one passes it. Before, a node that heard
  // the fail first reopened the task and refused the FINALIZE the others went on to.
  const outcome = (order: [string, "pass" | "fail"][]) => {
    const driver = new Driver({ bootstrap: true });
    driver.need();
    driver.propose();
    driver.vote("p1", VERIFIERS.slice(0, 1));
    driver.decide("p1", VERIFIERS.slice(0, 1), { kPlan: 1, committee: ["did:v1", "did:v2"] });
    driver.claim();
    driver.commit();
    for (const [voter, verdict] of order) driver.attest([voter], verdict);
    return driver.thread?.tasks.get(TASK_ID)?.status;
  };
  assert.equal(outcome([["did:v1", "fail"], ["did:v2", "pass"]]), "VERIFIED");
  assert.equal(outcome([["did:v2", "pass"], ["did:v1", "fail"]]), "VERIFIED");
  assert.equal(outcome([["did:v1", "fail"]]), "COMMITTED", "one fail waits for the other vote");
  assert.equal(outcome([["did:v1", "fail"], ["did:v2", "fail"]]), "DRAFT");
});

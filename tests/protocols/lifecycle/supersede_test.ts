// Proves the AP-mode rules and the causal-order fixes of the lifecycle: a higher DECIDE supersedes a lower one (unless final), late proposals are kept for it, and lease messages that arrive early wait instead of being lost.
import assert from "node:assert/strict";
import { isParkable } from "../../../protocols/lifecycle/errors.ts";
import { Driver, NEED_ID, rejects, TASK_ID, VERIFIERS } from "./_fixture.ts";

/** A thread decided for p1 by decider A, with p2 also proposed and approved (the other side's). */
function split(mode: "cp" | "ap"): Driver {
  const driver = new Driver({ decideMode: mode, decisionConfirmed: true });
  driver.need();
  driver.propose("p1", ["p1:t1"]);
  driver.propose("p2", ["p2:t1"]);
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.vote("p2", VERIFIERS.slice(3, 6));
  driver.decide("p1", VERIFIERS.slice(0, 3), { decider: "did:decider-a", lamport: 10 });
  return driver;
}

Deno.test("AP: a higher DECIDE supersedes a lower one; its tasks replace the orphaned ones", () => {
  const driver = split("ap");
  driver.claim("did:worker", "lease-1", "p1:t1");
  const effects = driver.decide("p2", VERIFIERS.slice(3, 6), {
    decider: "did:decider-b",
    lamport: 20,
  });
  assert.deepEqual(effects.map((effect) => effect.type), [
    "lease-ended",
    "need-superseded",
    "need-decided",
    "task-ready",
  ]);
  const thread = driver.thread!;
  assert.equal(thread.decision?.proposalId, "p2");
  assert.deepEqual([...thread.tasks.keys()], ["p2:t1"]);
  assert.equal(thread.orphaned?.[0].record.proposalId, "p1");
  assert.deepEqual(thread.orphaned?.[0].taskIds, ["p1:t1"]);
  const refused = rejects("E_ORPHANED", () => driver.claim("did:worker", "lease-2", "p1:t1"));
  assert.equal(isParkable(refused), false, "messages of the orphaned branch are refused for good");
});

Deno.test("AP: a lower DECIDE does not supersede; CP never supersedes", () => {
  rejects(
    "E_DECIDE_CONFLICT",
    () => split("ap").decide("p2", VERIFIERS.slice(3, 6), { decider: "did:decider-b", lamport: 5 }),
  );
  rejects(
    "E_DECIDE_CONFLICT",
    () =>
      split("cp").decide("p2", VERIFIERS.slice(3, 6), { decider: "did:decider-b", lamport: 20 }),
  );
});

Deno.test("AP: both sides decided the same plan: the work is salvaged, only the record changes", () => {
  const driver = new Driver({ decideMode: "ap", decisionConfirmed: true });
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide("p1", VERIFIERS.slice(0, 3), { decider: "did:decider-a", lamport: 10 });
  driver.claim();
  driver.commit();
  const effects = driver.decide("p1", VERIFIERS.slice(0, 3), {
    decider: "did:decider-b",
    lamport: 11,
  });
  assert.deepEqual(effects.map((effect) => effect.type), ["need-superseded"]);
  assert.equal(driver.thread?.decision?.decider, "did:decider-b");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "COMMITTED", "the commit is kept");
});

Deno.test("AP: a NEED with a FINAL task cannot be superseded", () => {
  const driver = new Driver({ decideMode: "ap", decisionConfirmed: true });
  driver.toVerified();
  driver.propose("p2", ["p2:t1"]);
  driver.vote("p2", VERIFIERS.slice(3, 6));
  driver.nowMs = 5_000;
  driver.finalize();
  rejects(
    "E_DECIDE_CONFLICT",
    () => driver.decide("p2", VERIFIERS.slice(3, 6), { decider: "did:decider-b", lamport: 99 }),
  );
});

Deno.test("AP keeps late proposals without votes; CP refuses them", () => {
  const ap = split("ap");
  assert.deepEqual(
    ap.apply("PROPOSE", {
      needId: NEED_ID,
      proposalId: "late",
      ballot: 1,
      patch: [{
        op: "ADD_TASK",
        taskId: "late:t1",
        spec: { op: "reverse", input: "x", rounds: 1 },
      }],
      cost: 1,
      etaMs: 1,
      shardDependencies: [],
    }, "did:planner-late"),
    [],
    "recorded, but nobody is asked to vote",
  );
  assert.ok(ap.thread?.proposals.has("late"));
  rejects("E_OUT_OF_WINDOW", () => split("cp").propose("late"));
});

Deno.test("a CLAIM granted after a reopen this node has not seen yet waits (parkable)", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  driver.claim("did:worker-a", "lease-a");
  const busy = rejects("E_TASK_BUSY", () => driver.claim("did:worker-b", "lease-b"));
  assert.ok(isParkable(busy));
  driver.nowMs = 100_000;
  driver.apply("RELEASE", {
    needId: NEED_ID,
    taskId: TASK_ID,
    leaseId: "lease-a",
    reason: "expired",
  }, "did:monitor");
  driver.claim("did:worker-b", "lease-b");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.lease?.holder, "did:worker-b", "applies later");
});

Deno.test("a COMMIT or RELEASE under a lease whose CLAIM has not arrived waits (parkable)", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  assert.ok(isParkable(rejects("E_UNKNOWN_LEASE", () => driver.commit("did:worker", "lease-9"))));
  assert.ok(isParkable(rejects("E_UNKNOWN_LEASE", () =>
    driver.apply("RELEASE", {
      needId: NEED_ID,
      taskId: TASK_ID,
      leaseId: "lease-9",
      reason: "expired",
    }, "did:monitor"))));
});

Deno.test("a late rejection of an earlier commit does not reopen the task under its new commit", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  driver.claim("did:worker-a", "lease-a");
  driver.commit("did:worker-a", "lease-a", "commit-a");
  driver.attest(VERIFIERS.slice(0, 8), "fail", "commit-a");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "DRAFT", "rejected and reopened");
  driver.claim("did:worker-b", "lease-b");
  driver.commit("did:worker-b", "lease-b", "commit-b");
  assert.deepEqual(
    driver.attest(["did:v9"], "fail", "commit-a").map((effect) => effect.type),
    ["attested"],
    "a late fail for commit-a is counted, and moves nothing",
  );
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "COMMITTED");
  driver.attest(VERIFIERS.slice(0, 3), "pass", "commit-b");
  assert.equal(driver.thread?.tasks.get(TASK_ID)?.status, "VERIFIED");
});

Deno.test("a NEED from an older epoch is accepted (requests outlive epochs); a future one is not", () => {
  const driver = new Driver({ epoch: 3 });
  driver.need({ epoch: 1 });
  assert.equal(driver.thread?.phase, "OPEN");
  rejects("E_STALE_EPOCH", () => new Driver({ epoch: 3 }).need({ epoch: 4 }));
});

Deno.test("a re-announced DECIDE is accepted only with a valid quorum", () => {
  const driver = new Driver();
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  assert.deepEqual(driver.decide(), [], "the same decision again changes nothing");
  rejects("E_NO_QUORUM", () => driver.decide("p1", VERIFIERS.slice(0, 1)));
});

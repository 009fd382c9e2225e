// Proves dropping a lease after an AP merge: the dropped lease's live lease and commits are set aside, the kept lease's CLAIM and COMMIT are then accepted, messages under the dropped lease are refused for good, and work that cannot be undone (FINAL, challenged) refuses the drop; and the drops a RECONCILE names for a merge's conflicts.
import assert from "node:assert/strict";
import type { LeaseRecord } from "../../../runtime/store/decide_log.ts";
import { isParkable } from "../../../protocols/lifecycle/errors.ts";
import { dropLease, leaseDropsOf } from "../../../protocols/lifecycle/lease_drop.ts";
import { parsePayload } from "../../../protocols/lifecycle/payloads.ts";
import { challengePayload, Driver, NEED_ID, rejects, TASK_ID, VERIFIERS } from "./_fixture.ts";

const DROP = { needId: NEED_ID, taskId: TASK_ID, kept: "lease-kept", dropped: "lease-1" };

/** A decided thread whose task lease-1 claimed (and, with `commit`, committed commit-1 under). */
function leased(commit: boolean): Driver {
  const driver = new Driver({ decideMode: "ap" });
  driver.need();
  driver.propose();
  driver.vote("p1", VERIFIERS.slice(0, 3));
  driver.decide();
  driver.claim("did:worker-a", "lease-1");
  if (commit) driver.commit("did:worker-a", "lease-1", "commit-1");
  return driver;
}

/** Applies the drop to the driver's thread; returns the effect types. */
function drop(driver: Driver, which = DROP): string[] {
  const transition = dropLease(driver.thread!, which);
  driver.thread = transition.thread;
  return transition.effects.map((effect) => effect.type);
}

Deno.test("a dropped committed lease: its commit goes, the task reopens, the kept lease's work is taken", () => {
  const driver = leased(true);
  driver.attest(VERIFIERS.slice(0, 1));
  assert.deepEqual(drop(driver), ["lease-ended", "task-ready"]);
  const task = driver.thread!.tasks.get(TASK_ID)!;
  assert.equal(task.status, "DRAFT");
  assert.equal(task.lease, undefined);
  assert.equal(task.commits.size, 0);
  assert.deepEqual(task.droppedLeases, [{
    leaseId: "lease-1",
    keptLeaseId: "lease-kept",
    commitIds: ["commit-1"],
  }]);
  // The other side's work, replayed by peers, is now accepted, and can finish.
  driver.claim("did:worker-b", "lease-kept");
  driver.commit("did:worker-b", "lease-kept", "commit-2");
  driver.attest(VERIFIERS.slice(0, 3), "pass", "commit-2");
  driver.nowMs = 5_000; // past the challenge window
  driver.finalize(VERIFIERS.slice(0, 3), "commit-2");
  assert.equal(driver.thread!.tasks.get(TASK_ID)!.status, "FINAL");
});

Deno.test("messages under a dropped lease are refused as orphaned, for good", () => {
  const driver = leased(true);
  drop(driver);
  const refusals = [
    rejects("E_ORPHANED", () => driver.claim("did:worker-a", "lease-1")),
    rejects("E_ORPHANED", () => driver.commit("did:worker-a", "lease-1", "commit-3")),
    rejects("E_ORPHANED", () => driver.attest(VERIFIERS.slice(1, 2))),
    rejects("E_ORPHANED", () => driver.finalize()),
    rejects("E_ORPHANED", () =>
      driver.apply("HEARTBEAT", {
        needId: NEED_ID,
        taskId: TASK_ID,
        leaseId: "lease-1",
        expiresAtMs: 70_000,
      }, "did:worker-a")),
  ];
  for (const refusal of refusals) assert.equal(isParkable(refusal), false, refusal.message);
  // An unknown commit still waits for its COMMIT.
  assert.equal(
    isParkable(
      rejects("E_UNKNOWN_COMMIT", () => driver.attest(VERIFIERS.slice(1, 2), "pass", "x")),
    ),
    true,
  );
});

Deno.test("a dropped live lease without a commit ends; dropping twice changes nothing", () => {
  const driver = leased(false);
  assert.deepEqual(drop(driver), ["lease-ended", "task-ready"]);
  const once = driver.thread;
  assert.deepEqual(drop(driver), []);
  assert.equal(driver.thread, once);
});

Deno.test("on the kept side the drop is only remembered", () => {
  const driver = leased(true);
  const kept = { ...DROP, kept: "lease-1", dropped: "lease-other" };
  assert.deepEqual(drop(driver, kept), []);
  const task = driver.thread!.tasks.get(TASK_ID)!;
  assert.equal(task.status, "COMMITTED");
  assert.equal(task.commits.size, 1);
  rejects("E_ORPHANED", () => driver.claim("did:worker-b", "lease-other"));
});

Deno.test("a CLAIM following a lease the merge dropped is taken where that lease was never seen", () => {
  // This node held lease-1 (kept); the other side had lease-other, dropped, then ended there.
  const driver = leased(false);
  drop(driver, { ...DROP, kept: "lease-1", dropped: "lease-other" });
  driver.apply(
    "YIELD",
    { needId: NEED_ID, taskId: TASK_ID, leaseId: "lease-1", reason: "x" },
    "did:worker-a",
  );
  // A worker on the other side saw lease-other last: its next lease names it.
  driver.apply("CLAIM", {
    needId: NEED_ID,
    taskId: TASK_ID,
    leaseId: "lease-next",
    leaseTtlMs: 60_000,
    grantedAtMs: driver.nowMs,
    cost: 5,
    etaMs: 100,
    heartbeatIntervalMs: 20_000,
    after: "lease-other",
  }, "did:worker-b");
  assert.equal(driver.thread!.tasks.get(TASK_ID)!.lease?.leaseId, "lease-next");
});

Deno.test("a task FINAL under the dropped lease, or a commit a challenge stands against, refuses the drop", () => {
  const final = leased(true);
  final.attest(VERIFIERS.slice(0, 3));
  final.nowMs = 5_000;
  final.finalize();
  const before = final.thread;
  rejects("E_LEASE_CONFLICT", () => drop(final));
  assert.equal(final.thread, before, "the thread is left as it was");

  const challenged = leased(true);
  challenged.attest(VERIFIERS.slice(0, 3));
  challenged.apply("CHALLENGE", challengePayload(), "did:challenger", "ch-1");
  rejects("E_LEASE_CONFLICT", () => drop(challenged));
  rejects("E_UNKNOWN_TASK", () => drop(challenged, { ...DROP, taskId: "nope" }));
});

function lease(leaseId: string, grantedAtMs: number, needId?: string): LeaseRecord {
  return {
    taskId: TASK_ID,
    ...(needId === undefined ? {} : { needId }),
    leaseId,
    holder: `did:${leaseId}`,
    grantedAtMs,
    expiresAtMs: grantedAtMs + 60_000,
    epoch: 0,
  };
}

Deno.test("leaseDropsOf: every dropped lease against the lease its task finally kept", () => {
  const [a, b, c] = [lease("a", 1, NEED_ID), lease("b", 2), lease("c", 3, NEED_ID)];
  // Three sides merged one after another: b beat a, then c beat b.
  assert.deepEqual(leaseDropsOf([{ kept: b, dropped: a }, { kept: c, dropped: b }]), [
    { needId: NEED_ID, taskId: TASK_ID, kept: "c", dropped: "a" },
    { needId: NEED_ID, taskId: TASK_ID, kept: "c", dropped: "b" },
  ]);
  // A lease without a NEED id is named by the other's; with neither, the thread is unknown.
  assert.deepEqual(leaseDropsOf([{ kept: b, dropped: lease("old", 0) }]), []);
  assert.deepEqual(leaseDropsOf([{ kept: c, dropped: lease("old", 0) }]), [
    { needId: NEED_ID, taskId: TASK_ID, kept: "c", dropped: "old" },
  ]);
  assert.deepEqual(leaseDropsOf([]), []);
});

Deno.test("RECONCILE lease drops are validated field by field", () => {
  const base = { fromEpoch: 0, toEpoch: 1, orphaned: [] };
  assert.deepEqual(parsePayload("RECONCILE", { ...base, leases: [DROP] }).leases, [DROP]);
  assert.equal(parsePayload("RECONCILE", base).leases, undefined);
  for (
    const leases of [
      [{ ...DROP, kept: DROP.dropped }],
      [{ ...DROP, extra: 1 }],
      [{ needId: NEED_ID, taskId: TASK_ID, kept: "k" }],
      [{ ...DROP, needId: "" }],
      [{ ...DROP, taskId: 7 }],
      DROP,
      new Array(257).fill(DROP),
    ]
  ) {
    const error = rejects("E_PAYLOAD", () => parsePayload("RECONCILE", { ...base, leases }));
    assert.match(error.message, /leases/);
  }
});

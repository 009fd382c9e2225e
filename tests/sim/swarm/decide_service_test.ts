// Proves the simulated decide service: in CP mode a node off the majority cannot decide (and every call is recorded), in AP mode both sides decide and the heal's merge keeps the highest decision on every side, in any order of replicas.
import assert from "node:assert/strict";
import fc from "fast-check";
import { bucketOf, type DecideRecord } from "../../../runtime/store/decide_log.ts";
import { compareDecisions } from "../../../protocols/consensus/merge.ts";
import {
  ApReplica,
  DecideService,
  DecideUnavailableError,
  History,
} from "../../../sim/swarm/mod.ts";
import { decideRecord } from "../../runtime/store/_decide_record.ts";

const NEED = "need-split";

const record = (decider: string, lamport: number, proposalId = `p-${decider}`) =>
  decideRecord({ needId: NEED, decider, lamport, proposalId });

Deno.test("CP: a node cut off from the majority cannot reach the decide log; the call is recorded", async () => {
  const history = new History(() => 0n);
  const majority = new Set(["node-0", "node-1", "node-2"]);
  const service = new DecideService({
    mode: "cp",
    history,
    reachable: (node) => majority.has(node),
  });
  const inside = service.forNode("node-0");
  const outside = service.forNode("node-4");
  await inside.acquireFence(bucketOf(NEED), "did:a");
  assert.equal((await inside.tryDecide(record("did:a", 3))).status, "decided");
  await assert.rejects(outside.tryDecide(record("did:b", 4)), DecideUnavailableError);
  await assert.rejects(outside.getDecide(NEED), DecideUnavailableError);
  const calls = history.ofType("log").map((event) => [event.node, event.op, event.outcome]);
  assert.deepEqual(calls, [
    ["node-0", "fence", "ok"],
    ["node-0", "decide", "decided"],
    ["node-4", "decide", "unavailable"],
  ]);
});

Deno.test("AP: each side decides on its own replica; the heal keeps the highest decision everywhere", async () => {
  const history = new History(() => 0n);
  const service = new DecideService({ mode: "ap", history, reachable: () => true });
  service.onPartition([["node-0", "node-1"], ["node-2", "node-3"]]);
  const left = service.forNode("node-0");
  const right = service.forNode("node-2");
  for (const [log, decider] of [[left, "did:a"], [right, "did:b"]] as const) {
    const fence = await log.acquireFence(bucketOf(NEED), decider);
    assert.equal(
      (await log.tryDecide({ ...record(decider, 5), fence: fence.token })).status,
      "decided",
    );
  }
  assert.equal((await left.getDecide(NEED))?.decider, "did:a");
  assert.equal((await right.getDecide(NEED))?.decider, "did:b");
  const merge = service.onHeal();
  assert.equal(merge?.decisions.conflicts.length, 1);
  assert.equal(merge?.decisions.orphaned[0].record.decider, "did:a");
  for (const node of ["node-0", "node-3"]) {
    assert.equal((await service.forNode(node).getDecide(NEED))?.decider, "did:b", node);
  }
  assert.equal(
    (await service.forNode("node-1").tryDecide(record("did:a", 5))).status,
    "conflict",
    "after the heal the winner stands against the loser's retry",
  );
});

Deno.test("AP: merging replicas picks the same winner and fences in any order (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 50 })), {
        minLength: 2,
        maxLength: 5,
      }),
      async (sides) => {
        const root = new ApReplica("root");
        const replicas = sides.map((_, index) => root.fork(`side-${index}`));
        const records: DecideRecord[] = [];
        for (const [index, [epochs, lamport]] of sides.entries()) {
          const replica = replicas[index];
          for (let step = 0; step < epochs; step++) await replica.advanceEpoch(replica.epochNow);
          const fence = await replica.acquireFence(bucketOf(NEED), `did:${index}`);
          const written = { ...record(`did:${index}`, lamport), epoch: epochs, fence: fence.token };
          await replica.tryDecide(written);
          records.push(written);
        }
        const best = records.reduce((left, right) =>
          compareDecisions(left, right) >= 0 ? left : right
        );
        const forward = ApReplica.merge("f", replicas);
        const backward = ApReplica.merge("b", [...replicas].reverse());
        assert.deepEqual(await forward.replica.getDecide(NEED), best);
        assert.deepEqual(await backward.replica.getDecide(NEED), best);
        assert.equal(forward.replica.epochNow, Math.max(...sides.map(([epochs]) => epochs)));
        assert.equal(forward.replica.fenceNow(bucketOf(NEED)), 1, "each side's token was 1");
      },
    ),
    { numRuns: 50 },
  );
});

/** A lease on t1 granted at `grantedAtMs` (the later grant wins a merge). */
function lease(leaseId: string, grantedAtMs: number) {
  return {
    taskId: "t1",
    leaseId,
    holder: `did:${leaseId}`,
    grantedAtMs,
    expiresAtMs: grantedAtMs + 60_000,
    epoch: 0,
  };
}

Deno.test("AP: two sides' leases on one task merge to the later grant and report the conflict", async () => {
  const root = new ApReplica("root");
  const [left, right] = [root.fork("l"), root.fork("r")];
  await left.tryLease(lease("early", 1_000));
  await right.tryLease(lease("late", 2_000));
  const merged = ApReplica.merge("m", [left, right]);
  assert.equal((await merged.replica.getLease("t1"))?.leaseId, "late");
  assert.deepEqual(merged.leaseConflicts.map((each) => each.dropped.leaseId), ["early"]);
});

Deno.test("AP: a partition over a partition merges the sides before and returns that merge, conflicts and all", async () => {
  const history = new History(() => 0n);
  const service = new DecideService({ mode: "ap", history, reachable: () => true });
  assert.equal(service.onPartition([["node-0", "node-1"], ["node-2", "node-3"]]), undefined);
  await service.forNode("node-0").tryLease(lease("early", 1_000));
  await service.forNode("node-2").tryLease(lease("late", 2_000));
  // A second partition before the first heals: its sides fork the merge of the first two.
  const merge = service.onPartition([["node-0", "node-2"], ["node-1", "node-3"]]);
  assert.deepEqual(merge?.leaseConflicts.map((each) => each.dropped.leaseId), ["early"]);
  assert.equal((await service.forNode("node-1").getLease("t1"))?.leaseId, "late");
  assert.equal(service.onHeal()?.leaseConflicts.length, 0, "reported once, not again at the heal");
});

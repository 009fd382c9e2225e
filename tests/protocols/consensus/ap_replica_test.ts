// Proves an AP replica persists every write through a Store (Deno KV and memory) and reopens intact, and absorbs a peer's snapshot by the merge rules: highest decision wins, one lease keeps its later expiry and any COMMIT marked into it and is reported, fences and epoch take their maximum, ties and order do not change the result, and what it forgot stays forgotten.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ApReplica } from "../../../protocols/consensus/ap_replica.ts";
import { bucketOf } from "../../../runtime/store/decide_log.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import { decideRecord } from "../../runtime/store/_decide_record.ts";

const record = (needId: string, lamport: number, decider: string, fence = 1) =>
  decideRecord({ needId, lamport, decider, fence });

/** A replica's snapshot in a fixed order (maps keep insertion order, which may differ). */
function sorted(replica: ApReplica) {
  const snapshot = replica.snapshot();
  const by = <T>(key: (item: T) => string | number) => (left: T, right: T) =>
    key(left) < key(right) ? -1 : key(left) > key(right) ? 1 : 0;
  return {
    epoch: snapshot.epoch,
    fences: [...snapshot.fences].sort(by((token) => token.bucket)),
    decisions: [...snapshot.decisions].sort(by((record) => record.needId)),
    leases: [...snapshot.leases].sort(by((lease) => lease.taskId)),
  };
}

/** The lease of a need's first task. */
function firstLease(needId: string) {
  return {
    taskId: `${needId}~t1`,
    leaseId: "l1",
    holder: "did:w",
    grantedAtMs: 1,
    expiresAtMs: 60_001,
    epoch: 0,
  };
}

/** Fills a replica: a fence for the need's bucket, a decision, a lease, an epoch advance. */
async function fill(replica: ApReplica, needId: string): Promise<void> {
  const fence = await replica.acquireFence(bucketOf(needId), "did:a");
  await replica.tryDecide(record(needId, 3, "did:a", fence.token));
  const lease = firstLease(needId);
  await replica.tryLease(lease);
  await replica.tryLease({ ...lease, taskId: `${needId}~t2`, leaseId: "l2" });
  await replica.releaseLease(`${needId}~t2`, "l2");
  await replica.renewLease(`${needId}~t1`, "l1", 90_000);
  await replica.advanceEpoch(0);
}

Deno.test("ApReplica.open() reloads every write from Deno KV after a close", async () => {
  const directory = await Deno.makeTempDir({ prefix: "ap-replica-" });
  try {
    let store = await DenoKvStore.open(`${directory}/ap.kv`);
    const replica = await ApReplica.open("n0", store);
    await fill(replica, "need-1");
    const before = replica.snapshot();
    await replica.close();
    await store.close();

    store = await DenoKvStore.open(`${directory}/ap.kv`);
    const reopened = await ApReplica.open("n0", store);
    assert.deepEqual(reopened.snapshot(), before);
    assert.equal(reopened.epochNow, 1);
    assert.equal((await reopened.getLease("need-1~t1"))?.expiresAtMs, 90_000);
    assert.equal(await reopened.getLease("need-1~t2"), undefined, "a released lease stays gone");
    await store.close();
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("ApReplica.absorb() persists what it takes from a peer", async () => {
  const store = new MemoryStore();
  const replica = await ApReplica.open("n0", store);
  const peer = new ApReplica("n1");
  await fill(peer, "need-2");
  const result = await replica.absorb(peer.snapshot());
  assert.equal(result.adopted, 1);
  assert.equal(result.epochRaised, true);
  assert.deepEqual(result.fencesRaised, [bucketOf("need-2")]);
  assert.deepEqual((await ApReplica.open("again", store)).snapshot(), peer.snapshot());
});

Deno.test("ApReplica.absorb() keeps the highest decision, reports the conflict, and is idempotent", async () => {
  const left = new ApReplica("left");
  const right = new ApReplica("right");
  const bucket = bucketOf("need-3");
  await left.acquireFence(bucket, "did:a");
  await right.acquireFence(bucket, "did:b");
  await left.tryDecide(record("need-3", 5, "did:a"));
  await right.tryDecide(record("need-3", 7, "did:b"));
  const merged = await left.absorb(right.snapshot());
  assert.equal(merged.decisions.conflicts.length, 1);
  assert.equal(merged.decisions.orphaned[0].record.decider, "did:a");
  assert.equal((await left.getDecide("need-3"))?.decider, "did:b", "lamport 7 wins");
  // Both sides issued fence 1 for the bucket: the tie goes to the higher holder, everywhere.
  assert.equal(left.fenceOf(bucket)?.holder, "did:b");
  const again = await left.absorb(right.snapshot());
  assert.equal(again.adopted, 0);
  assert.equal(again.decisions.conflicts.length, 0, "the same records again are no conflict");
  assert.deepEqual(again.fencesRaised, []);
});

Deno.test("ApReplica.absorb() ends in the same state whichever side absorbs first", async () => {
  const arbitraryRecords = fc.array(
    fc.record({
      need: fc.integer({ min: 0, max: 5 }),
      lamport: fc.integer({ min: 1, max: 4 }),
      side: fc.integer({ min: 0, max: 1 }),
    }),
    { maxLength: 20 },
  );
  await fc.assert(
    fc.asyncProperty(arbitraryRecords, async (records) => {
      const sides = [new ApReplica("a"), new ApReplica("b")];
      for (const side of sides) {
        for (let need = 0; need < 6; need++) await side.acquireFence(bucketOf(`n${need}`), "x");
      }
      for (const { need, lamport, side } of records) {
        await sides[side].tryDecide(record(`n${need}`, lamport, `did:${side}`));
      }
      const [a, b] = sides;
      const aThenB = a.fork("ab");
      await aThenB.absorb(b.snapshot());
      const bThenA = b.fork("ba");
      await bThenA.absorb(a.snapshot());
      assert.deepEqual(sorted(bThenA), sorted(aThenB));
    }),
    { numRuns: 50 },
  );
});

Deno.test("of one lease renewed on both sides, absorb() and merge() keep the later expiry and the COMMIT and final mark either side wrote, no conflict", async () => {
  const lease = { ...firstLease("n"), expiresAtMs: 100 };
  for (const [further, behind] of [[0, 1], [1, 0]]) {
    const sides = [new ApReplica("a"), new ApReplica("b")];
    for (const side of sides) await side.tryLease(lease);
    await sides[further].renewLease(lease.taskId, lease.leaseId, 500);
    await sides[behind].renewLease(lease.taskId, lease.leaseId, 300);
    await sides[behind].markCommitted(lease.taskId, lease.leaseId, "Y29tbWl0");
    await sides[behind].markFinal(lease.taskId, lease.leaseId);
    const merged = ApReplica.merge("ab", sides);
    assert.deepEqual(merged.leaseConflicts, []);
    const kept = await merged.replica.getLease(lease.taskId);
    assert.deepEqual([kept?.expiresAtMs, kept?.commit, kept?.final], [500, "Y29tbWl0", true]);
    for (const [into, from] of [[further, behind], [behind, further]]) {
      const copy = sides[into].fork("copy");
      const absorbed = await copy.absorb(sides[from].snapshot());
      assert.deepEqual(absorbed.leaseConflicts, []);
      const copied = await copy.getLease(lease.taskId);
      assert.deepEqual([copied?.expiresAtMs, copied?.commit, copied?.final], [
        500,
        "Y29tbWl0",
        true,
      ]);
    }
  }
});

Deno.test("ApReplica.absorb() keeps the later of two leases on one task, as a conflict", async () => {
  const left = new ApReplica("left");
  const right = new ApReplica("right");
  const lease = { taskId: "t", holder: "w1", grantedAtMs: 10, expiresAtMs: 100, epoch: 0 };
  await left.tryLease({ ...lease, leaseId: "early" });
  await right.tryLease({ ...lease, leaseId: "late", holder: "w2", grantedAtMs: 20 });
  const result = await left.absorb(right.snapshot());
  assert.equal(result.leaseConflicts.length, 1);
  assert.equal(result.leaseConflicts[0].dropped.leaseId, "early");
  assert.equal((await left.getLease("t"))?.leaseId, "late");
});

Deno.test("of two leases on one task, absorb() and merge() keep the one marked final, though granted earlier", async () => {
  const lease = { taskId: "t", holder: "w1", grantedAtMs: 10, expiresAtMs: 100, epoch: 0 };
  const [left, right] = [new ApReplica("left"), new ApReplica("right")];
  await left.tryLease({ ...lease, leaseId: "early-paid" });
  await left.markFinal("t", "early-paid");
  await right.tryLease({ ...lease, leaseId: "late", holder: "w2", grantedAtMs: 20 });
  for (const [into, from] of [[left, right], [right, left]]) {
    const copy = into.fork("copy");
    const result = await copy.absorb(from.snapshot());
    assert.equal(result.leaseConflicts.length, 1);
    assert.equal(result.leaseConflicts[0].dropped.leaseId, "late");
    assert.equal((await copy.getLease("t"))?.leaseId, "early-paid");
  }
  const merged = ApReplica.merge("both", [right, left]);
  assert.equal((await merged.replica.getLease("t"))?.leaseId, "early-paid");
  assert.equal(merged.leaseConflicts[0].dropped.leaseId, "late");
});

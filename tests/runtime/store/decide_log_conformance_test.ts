// Proves every decide log backend (Deno KV, simulated store, the simulator's AP replica, real etcd) decides once per need, idempotently, fenced by epoch and token, renews a lease only forward, and keeps a lease that carries a COMMIT from any release but a forced one.
import assert from "node:assert/strict";
import {
  bucketOf,
  DECIDE_BUCKETS,
  type DecideLog,
  type DecideRecord,
  DecideRecordError,
  LEASE_ENVELOPE_CHARS_MAX,
  StaleEpochError,
  StaleFenceError,
} from "../../../runtime/store/decide_log.ts";
import { StoreDecideLog } from "../../../runtime/store/store_decide_log.ts";
import { EtcdDecideLog } from "../../../runtime/store/etcd_decide_log.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import { startEtcd } from "../../../tools/etcd_server.ts";
import { ApReplica } from "../../../protocols/consensus/ap_replica.ts";

let needCounter = 0;

/** A fresh need id and a record for it, with a fence acquired for its bucket. */
async function freshRecord(
  log: DecideLog,
  overrides: Partial<DecideRecord> = {},
): Promise<DecideRecord> {
  const needId = overrides.needId ?? `need-${crypto.randomUUID()}-${needCounter++}`;
  const fence = await log.acquireFence(bucketOf(needId), "decider-a");
  return {
    needId,
    proposalId: "proposal-1",
    epoch: await log.currentEpoch(),
    lamport: 7,
    kPlan: 3,
    decider: "decider-a",
    fence: fence.token,
    decidedAtMs: 1_000,
    ...overrides,
  };
}

/** The conformance cases, run as steps against one backend. */
async function conformance(t: Deno.TestContext, log: DecideLog): Promise<void> {
  await t.step("a first decision is written and can be read back", async () => {
    const record = await freshRecord(log);
    assert.deepEqual(await log.tryDecide(record), { status: "decided", record });
    assert.deepEqual(await log.getDecide(record.needId), record);
    assert.equal(await log.getDecide("never-decided"), undefined);
  });

  await t.step("a second, different proposal for the same need is a conflict", async () => {
    const record = await freshRecord(log);
    await log.tryDecide(record);
    const rival = { ...record, proposalId: "proposal-2", decider: "decider-b" };
    assert.deepEqual(await log.tryDecide(rival), { status: "conflict", existing: record });
    assert.deepEqual(await log.getDecide(record.needId), record);
  });

  await t.step("retrying the same record is idempotent", async () => {
    const record = await freshRecord(log);
    await log.tryDecide(record);
    assert.deepEqual(await log.tryDecide({ ...record, decidedAtMs: 2_000 }), {
      status: "already-decided",
      record,
    });
  });

  await t.step("100 concurrent racers on one need produce exactly one winner", async () => {
    const base = await freshRecord(log);
    const outcomes = await Promise.all(
      Array.from(
        { length: 100 },
        (_, racer) => log.tryDecide({ ...base, proposalId: `proposal-${racer}` }),
      ),
    );
    const winners = outcomes.filter((outcome) => outcome.status === "decided");
    assert.equal(winners.length, 1);
    const winner = winners[0].status === "decided" ? winners[0].record : undefined;
    assert.ok(
      outcomes.every((outcome) => outcome.status === "decided" || outcome.status === "conflict"),
    );
    assert.deepEqual(await log.getDecide(base.needId), winner);
  });

  await t.step(
    "a record from an old epoch is rejected with E_STALE_EPOCH after the epoch advances",
    async () => {
      const epoch = await log.currentEpoch();
      const old = await freshRecord(log);
      assert.equal(await log.advanceEpoch(epoch), epoch + 1);
      await assert.rejects(
        log.tryDecide(old),
        (error: StaleEpochError) => error.code === "E_STALE_EPOCH",
      );
      await assert.rejects(log.advanceEpoch(epoch), StaleEpochError);
      const current = await freshRecord(log);
      assert.equal((await log.tryDecide(current)).status, "decided");
    },
  );

  await t.step("a deposed decider's fence token is rejected with E_STALE_FENCE", async () => {
    const record = await freshRecord(log);
    assert.equal(await log.currentFence(bucketOf(record.needId)), record.fence);
    const newer = await log.acquireFence(bucketOf(record.needId), "decider-b");
    assert.equal(newer.token, record.fence + 1);
    assert.equal(
      await log.currentFence(bucketOf(record.needId)),
      newer.token,
      "a deposed holder can tell",
    );
    await assert.rejects(
      log.tryDecide(record),
      (error: StaleFenceError) => error.code === "E_STALE_FENCE",
    );
    assert.equal(
      (await log.tryDecide({ ...record, fence: newer.token, decider: "decider-b" })).status,
      "decided",
    );
  });

  await t.step("the newest fence of a bucket is read back with its holder", async () => {
    const bucket = 0xee;
    if (await log.currentFence(bucket) === 0) {
      assert.equal(await log.fenceHolder(bucket), undefined, "no fence issued yet");
    }
    const first = await log.acquireFence(bucket, "decider-a");
    assert.deepEqual(await log.fenceHolder(bucket), first);
    const second = await log.acquireFence(bucket, "decider-b");
    assert.deepEqual(await log.fenceHolder(bucket), {
      bucket,
      token: first.token + 1,
      holder: "decider-b",
    });
    assert.deepEqual(await log.fenceHolder(bucket), second);
    await assert.rejects(log.fenceHolder(DECIDE_BUCKETS), DecideRecordError);
  });

  await t.step(
    "only one of many concurrent claimers gets a task's lease; release lets the next one in",
    async () => {
      const taskId = `task-${crypto.randomUUID()}`;
      const epoch = await log.currentEpoch();
      const lease = (holder: string) => ({
        taskId,
        leaseId: `lease-${holder}`,
        holder,
        grantedAtMs: 1_000,
        expiresAtMs: 61_000,
        epoch,
      });
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, index) => log.tryLease(lease(`w${index}`))),
      );
      const granted = outcomes.filter((outcome) => outcome.status === "granted");
      assert.equal(granted.length, 1);
      const winner = granted[0].status === "granted" ? granted[0].lease : undefined;
      assert.deepEqual(await log.getLease(taskId), winner);
      assert.deepEqual(
        await log.tryLease(winner as never),
        { status: "granted", lease: winner },
        "idempotent for its holder",
      );
      assert.equal(await log.renewLease(taskId, "lease-nobody", 99_000), false);
      assert.equal(await log.renewLease(taskId, winner?.leaseId as string, 99_000), true);
      assert.equal((await log.getLease(taskId))?.expiresAtMs, 99_000);
      assert.deepEqual(
        await Promise.all(
          [98_000, 99_000, 99_500].map((at) =>
            log.renewLease(taskId, winner?.leaseId as string, at)
          ),
        ),
        [true, true, true],
        "renewals racing each other (a heartbeat, a confirmation) all hold the lease",
      );
      assert.equal(
        (await log.getLease(taskId))?.expiresAtMs,
        99_500,
        "whatever order they land in, the latest expiry stays",
      );
      assert.equal(await log.renewLease(taskId, winner?.leaseId as string, 70_000), true);
      assert.equal(
        (await log.getLease(taskId))?.expiresAtMs,
        99_500,
        "a renewal that finishes after a later one does not shorten the lease",
      );
      assert.equal(await log.releaseLease(taskId, "lease-nobody"), false);
      assert.equal(await log.releaseLease(taskId, winner?.leaseId as string), true);
      assert.equal(await log.getLease(taskId), undefined);
      assert.equal((await log.tryLease(lease("late"))).status, "granted");
      await assert.rejects(
        log.tryLease({ ...lease("old"), taskId: `${taskId}-2`, epoch: epoch + 5 }),
        StaleEpochError,
      );
      await assert.rejects(log.tryLease({ ...lease("bad"), expiresAtMs: 0 }), DecideRecordError);
    },
  );

  await t.step(
    "a lease keeps the signed CLAIM written with it through renewals; a malformed one is refused",
    async () => {
      const taskId = `task-${crypto.randomUUID()}`;
      const epoch = await log.currentEpoch();
      const claim = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(400))));
      const lease = {
        taskId,
        leaseId: "lease-with-claim",
        holder: "w",
        grantedAtMs: 1_000,
        expiresAtMs: 61_000,
        epoch,
        claim,
      };
      assert.deepEqual(await log.tryLease(lease), { status: "granted", lease });
      assert.equal(await log.renewLease(taskId, lease.leaseId, 90_000), true);
      assert.deepEqual(await log.getLease(taskId), { ...lease, expiresAtMs: 90_000 });
      for (const bad of ["", 5, "x".repeat(LEASE_ENVELOPE_CHARS_MAX + 1)]) {
        await assert.rejects(
          log.tryLease({ ...lease, taskId: `${taskId}-bad`, claim: bad as string }),
          DecideRecordError,
        );
      }
    },
  );

  await t.step(
    "a COMMIT marked into a lease stays through renewals and keeps the lease from a release, unless forced",
    async () => {
      const taskId = `task-${crypto.randomUUID()}`;
      const epoch = await log.currentEpoch();
      const lease = {
        taskId,
        leaseId: "lease-marked",
        holder: "w",
        grantedAtMs: 1_000,
        expiresAtMs: 61_000,
        epoch,
      };
      await log.tryLease(lease);
      assert.equal(await log.markCommitted(taskId, "lease-nobody", "Y29tbWl0"), false);
      assert.equal(await log.markCommitted(`${taskId}-none`, lease.leaseId, "Y29tbWl0"), false);
      assert.equal(await log.markCommitted(taskId, lease.leaseId, "Y29tbWl0"), true);
      assert.equal(await log.markCommitted(taskId, lease.leaseId, "Y29tbWl0"), true, "idempotent");
      assert.equal(
        await log.markCommitted(taskId, lease.leaseId, "b3RoZXI"),
        false,
        "another COMMIT under the same lease",
      );
      assert.equal(await log.renewLease(taskId, lease.leaseId, 90_000), true);
      assert.deepEqual(
        await log.getLease(taskId),
        { ...lease, expiresAtMs: 90_000, commit: "Y29tbWl0" },
      );
      assert.equal(await log.releaseLease(taskId, lease.leaseId), false, "a committed lease stays");
      assert.equal(await log.releaseLease(taskId, "lease-nobody", { force: true }), false);
      assert.equal(await log.releaseLease(taskId, lease.leaseId, { force: true }), true);
      assert.equal(await log.getLease(taskId), undefined);
      assert.equal(
        await log.markCommitted(taskId, lease.leaseId, "Y29tbWl0"),
        false,
        "a released lease cannot be marked",
      );
      await log.tryLease({ ...lease, taskId: `${taskId}-2` });
      await assert.rejects(
        log.markCommitted(`${taskId}-2`, lease.leaseId, "x".repeat(LEASE_ENVELOPE_CHARS_MAX + 1)),
        DecideRecordError,
      );
    },
  );

  await t.step("a lease is marked final only while the log holds it, and stays so", async () => {
    const taskId = `task-${crypto.randomUUID()}`;
    const lease = {
      taskId,
      leaseId: "lease-final",
      holder: "w",
      grantedAtMs: 1_000,
      expiresAtMs: 61_000,
      epoch: await log.currentEpoch(),
    };
    await log.tryLease(lease);
    assert.equal(await log.markFinal(taskId, "lease-nobody"), false, "another lease");
    assert.equal(await log.markFinal(`${taskId}-none`, lease.leaseId), false, "no lease");
    assert.equal(await log.markCommitted(taskId, lease.leaseId, "Y29tbWl0"), true);
    assert.equal(await log.markFinal(taskId, lease.leaseId), true);
    assert.equal(await log.markFinal(taskId, lease.leaseId), true, "idempotent");
    assert.equal(await log.renewLease(taskId, lease.leaseId, 90_000), true);
    assert.deepEqual(
      await log.getLease(taskId),
      { ...lease, expiresAtMs: 90_000, commit: "Y29tbWl0", final: true },
    );
    assert.equal(await log.releaseLease(taskId, lease.leaseId, { force: true }), true);
    assert.equal(await log.markFinal(taskId, lease.leaseId), false, "a released lease");
    await assert.rejects(
      log.tryLease({ ...lease, taskId: `${taskId}-2`, final: "yes" as unknown as true }),
      DecideRecordError,
    );
  });

  await t.step(
    "a retention time is kept with the record, and must be a whole time in ms",
    async () => {
      const record = { ...(await freshRecord(log)), retainUntilMs: 9_000_000_000_000 };
      assert.equal((await log.tryDecide(record)).status, "decided");
      assert.deepEqual(await log.getDecide(record.needId), record);
      await assert.rejects(log.tryDecide({ ...record, retainUntilMs: -1 }), DecideRecordError);
      await assert.rejects(log.tryDecide({ ...record, retainUntilMs: 1.5 }), DecideRecordError);
    },
  );

  await t.step(
    "malformed records are refused with E_DECIDE_RECORD before touching the log",
    async () => {
      const record = await freshRecord(log);
      for (
        const bad of [{ needId: "" }, { lamport: 0 }, { kPlan: 0 }, { epoch: -1 }, { fence: 0 }, {
          proposalId: 5,
        }]
      ) {
        await assert.rejects(
          log.tryDecide({ ...record, ...bad } as DecideRecord),
          (error: DecideRecordError) => error.code === "E_DECIDE_RECORD",
        );
      }
      await assert.rejects(log.acquireFence(DECIDE_BUCKETS, "x"), DecideRecordError);
    },
  );
}

Deno.test("decide log on Deno KV passes the conformance suite", async (t) => {
  const log = new StoreDecideLog(await DenoKvStore.open(":memory:"), true);
  try {
    await conformance(t, log);
  } finally {
    await log.close();
  }
});

Deno.test("decide log on the simulator's store passes the conformance suite", async (t) => {
  await conformance(t, new StoreDecideLog(new MemoryStore()));
});

Deno.test("the simulator's AP decide replica passes the conformance suite", async (t) => {
  await conformance(t, new ApReplica("ap-test"));
});

Deno.test("an AP replica over a store (a run node's) passes the conformance suite", async (t) => {
  await conformance(t, await ApReplica.open("ap-store", new MemoryStore()));
});

Deno.test("decide log on a real etcd passes the conformance suite", async (t) => {
  const etcd = await startEtcd(1);
  const log = await EtcdDecideLog.connect({ endpoints: etcd.endpoints });
  try {
    await conformance(t, log);
  } finally {
    await log.close();
    await etcd.stop();
  }
});

Deno.test("a 3-member etcd cluster keeps deciding after one member is killed", async () => {
  const etcd = await startEtcd(3);
  const log = await EtcdDecideLog.connect({ endpoints: etcd.endpoints });
  try {
    const before = await freshRecord(log);
    assert.equal((await log.tryDecide(before)).status, "decided");
    await etcd.members[0].kill();
    for (let index = 0; index < 20; index++) {
      const record = await freshRecord(log);
      assert.equal((await log.tryDecide(record)).status, "decided");
      assert.equal((await log.tryDecide({ ...record, proposalId: "other" })).status, "conflict");
    }
    assert.deepEqual(
      await log.getDecide(before.needId),
      before,
      "nothing decided before the kill was lost",
    );
  } finally {
    await log.close();
    await etcd.stop();
  }
});

Deno.test("needs spread over all 256 buckets evenly", () => {
  const counts = new Array(DECIDE_BUCKETS).fill(0);
  const needs = 25_600;
  for (let index = 0; index < needs; index++) counts[bucketOf(`need-${index}`)]++;
  const expected = needs / DECIDE_BUCKETS;
  const chiSquare = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  assert.ok(counts.every((count) => count > 0), "every bucket is used");
  assert.ok(chiSquare < 350, `chi-square ${chiSquare.toFixed(1)} for 255 degrees of freedom`);
  assert.equal(bucketOf("need-1"), bucketOf("need-1"));
});

Deno.test("two decide logs over one store never trust each other's cached fences", async () => {
  const store = new MemoryStore();
  const [left, right] = [new StoreDecideLog(store), new StoreDecideLog(store)];
  const needId = "shared-need";
  const old = await left.acquireFence(bucketOf(needId), "left");
  const record: DecideRecord = {
    needId,
    proposalId: "p",
    epoch: 0,
    lamport: 1,
    kPlan: 1,
    decider: "left",
    fence: old.token,
    decidedAtMs: 0,
  };
  const newer = await right.acquireFence(bucketOf(needId), "right");
  await assert.rejects(
    left.tryDecide(record),
    (error: StaleFenceError) => error.code === "E_STALE_FENCE",
  );
  await right.advanceEpoch(0);
  await assert.rejects(
    left.tryDecide({ ...record, fence: newer.token }),
    (error: StaleEpochError) => error.code === "E_STALE_EPOCH",
  );
  assert.equal(
    (await left.tryDecide({ ...record, fence: newer.token, epoch: 1 })).status,
    "decided",
  );
});

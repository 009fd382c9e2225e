// Proves a decide log forgets a NEED's decision and leases once their retention time has passed, and not before, on every backend: the simulator's store on its clock, Deno KV (each row carries its expiry for Deno KV to act on), a real etcd (the records go when their lease runs out), and an AP replica (which also takes nothing past its time back from a peer).
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { bucketOf, type DecideLog, type DecideRecord } from "../../../runtime/store/decide_log.ts";
import { StoreDecideLog } from "../../../runtime/store/store_decide_log.ts";
import { EtcdDecideLog } from "../../../runtime/store/etcd_decide_log.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import { ApReplica } from "../../../protocols/consensus/ap_replica.ts";
import { startEtcd } from "../../../tools/etcd_server.ts";
import { Etcd3 } from "etcd3";
import { decideRecord } from "./_decide_record.ts";

/** A decision on `needId`, fenced in `log`, kept until `retainUntilMs` (for good when undefined). */
async function decision(
  log: DecideLog,
  needId: string,
  retainUntilMs?: number,
): Promise<DecideRecord> {
  const fence = await log.acquireFence(bucketOf(needId), "did:d");
  const record = decideRecord({ needId, decider: "did:d", fence: fence.token });
  return retainUntilMs === undefined ? record : { ...record, retainUntilMs };
}

/** A lease on `taskId` kept until `retainUntilMs`. */
function lease(taskId: string, retainUntilMs: number) {
  return {
    taskId,
    leaseId: `${taskId}-l`,
    holder: "did:w",
    grantedAtMs: 0,
    expiresAtMs: 60_000,
    epoch: 0,
    retainUntilMs,
  };
}

/**
 * Writes a decision and a lease due at `dueMs` (the lease renewed once), and
 * a decision kept for good; returns their ids.
 */
async function writeDue(log: DecideLog, dueMs: number) {
  const due = await decision(log, "need-due", dueMs);
  const kept = await decision(log, "need-kept");
  assert.equal((await log.tryDecide(due)).status, "decided");
  assert.equal((await log.tryDecide(kept)).status, "decided");
  assert.equal((await log.tryLease(lease("task-due", dueMs))).status, "granted");
  assert.equal(await log.renewLease("task-due", "task-due-l", 90_000), true);
  return { due, kept };
}

/** Asserts the records of {@linkcode writeDue} are gone, the one kept for good is not. */
async function assertForgotten(log: DecideLog, kept: DecideRecord): Promise<void> {
  assert.equal(await log.getDecide("need-due"), undefined);
  assert.equal(await log.getLease("task-due"), undefined);
  assert.deepEqual(await log.getDecide("need-kept"), kept);
}

Deno.test("on the simulator's store, records go at their retention time on its clock", async () => {
  let nowMs = 1_000;
  const log = new StoreDecideLog(new MemoryStore({ nowMs: () => nowMs }));
  const { due, kept } = await writeDue(log, 5_000);
  nowMs = 4_999;
  assert.deepEqual(await log.getDecide("need-due"), due);
  assert.equal((await log.getLease("task-due"))?.expiresAtMs, 90_000, "renewed, still kept");
  nowMs = 5_000;
  await assertForgotten(log, kept);
  const again = await decision(log, "need-due");
  assert.equal(
    (await log.tryDecide(again)).status,
    "decided",
    "a forgotten NEED could be decided again: which is why deciders stop at its deadline",
  );
});

Deno.test("on Deno KV, every record with a retention time is written to expire then", async () => {
  // A directory, so SQLite's -shm and -wal files beside the database go with it.
  const directory = await Deno.makeTempDir({ prefix: "decide-retention-" });
  const path = `${directory}/store.kv`;
  const dueMs = Date.now() + 3_600_000;
  const log = new StoreDecideLog(await DenoKvStore.open(path), true);
  try {
    const { kept } = await writeDue(log, dueMs);
    assert.deepEqual(await log.getDecide("need-kept"), kept);
  } finally {
    await log.close();
  }
  // Deno KV deletes expired rows itself (about a minute after); what it acts on is each row's
  // expiration_ms, which is read here straight from its SQLite file.
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const expiries = db.prepare("select expiration_ms from kv where expiration_ms >= 0").all()
      .map((row) => Number(row.expiration_ms));
    assert.equal(expiries.length, 2, "the decision and the (renewed) lease; nothing else");
    for (const expiry of expiries) {
      assert.ok(Math.abs(expiry - dueMs) < 5_000, `expires at ${expiry}, due ${dueMs}`);
    }
  } finally {
    db.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("on a real etcd, records go when the lease of their slot runs out", async () => {
  const etcd = await startEtcd(1);
  const log = await EtcdDecideLog.connect({ endpoints: etcd.endpoints, expirySlotMs: 1_000 });
  try {
    const { kept } = await writeDue(log, Date.now() + 1_000);
    assert.ok(await log.getDecide("need-due"), "kept until its lease runs out");
    const started = Date.now();
    while (await log.getDecide("need-due") !== undefined && Date.now() - started < 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await assertForgotten(log, kept);
  } finally {
    await log.close();
    await etcd.stop();
  }
});

Deno.test("on etcd, a write whose slot lease was revoked behind the log's back fails once, then gets a new lease", async () => {
  const etcd = await startEtcd(1);
  const log = await EtcdDecideLog.connect({ endpoints: etcd.endpoints });
  const admin = new Etcd3({ hosts: etcd.endpoints });
  try {
    const dueMs = Date.now() + 3_600_000;
    assert.equal((await log.tryDecide(await decision(log, "need-a", dueMs))).status, "decided");
    const { leases } = await admin.leaseClient.leaseLeases();
    assert.equal(leases.length, 1, "one lease for the slot");
    for (const { ID } of leases) await admin.leaseClient.leaseRevoke({ ID });
    assert.equal(await log.getDecide("need-a"), undefined, "revoking a lease deletes its keys");
    const next = await decision(log, "need-b", dueMs);
    await assert.rejects(log.tryDecide(next), (error: Error) => error.name === "EtcdError");
    assert.equal((await log.tryDecide(next)).status, "decided");
    assert.equal((await admin.leaseClient.leaseLeases()).leases.length, 1, "a new lease");
  } finally {
    admin.close();
    await log.close();
    await etcd.stop();
  }
});

Deno.test("an AP replica forgets records at their time and takes none back from a peer", async () => {
  let nowMs = 1_000;
  const store = new MemoryStore({ nowMs: () => nowMs });
  const replica = await ApReplica.open("self", store, () => nowMs);
  const { kept } = await writeDue(replica, 5_000);
  const peer = replica.fork("peer-without-clock");
  const timeless = new ApReplica("timeless");
  await timeless.absorb(peer.snapshot());
  nowMs = 5_000;
  await assertForgotten(replica, kept);
  const absorbed = await replica.absorb(timeless.snapshot());
  assert.equal(absorbed.adopted, 0, "a peer's copy past its time is not taken back");
  await assertForgotten(replica, kept);
  assert.equal(
    (await ApReplica.open("reopened", store, () => nowMs)).decisionsNow().length,
    1,
    "its store let them go too",
  );
  assert.equal(ApReplica.merge("merged", [replica, timeless]).replica.decisionsNow().length, 1);
});

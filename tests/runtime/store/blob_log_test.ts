// Proves blob logs chunk records under the 64 KiB value cap, survive torn writes and crashes during compaction, and work on Deno KV.

import assert from "node:assert/strict";
import { BLOB_CHUNK_BYTES, BlobLog, BlobLogs } from "../../../runtime/store/blob_log.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import type { StoreCommit, StoreCommitResult } from "../../../runtime/store/store.ts";

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 31 + seed) & 0xff);
}

/** A store whose commits fail after `budget` successes: a process dying mid-write. */
class DyingStore extends MemoryStore {
  budget = Infinity;
  override commit(batch: StoreCommit): Promise<StoreCommitResult> {
    if (this.budget-- <= 0) return Promise.reject(new Error("process died"));
    return super.commit(batch);
  }
}

Deno.test("records larger than a value are chunked and read back whole, in order", async () => {
  const store = new MemoryStore();
  const log = await BlobLog.open(store, "ns", "a");
  const records = [
    bytes(10, 1),
    bytes(BLOB_CHUNK_BYTES * 9 + 5, 2),
    new Uint8Array(0),
    bytes(100, 3),
  ];
  for (const record of records) await log.append(record);
  const values = await store.list<unknown>(["ns", "log", "a", "gen"], { limit: 1000 });
  for (const entry of values) {
    if (entry.value instanceof Uint8Array) assert.ok(entry.value.length <= BLOB_CHUNK_BYTES);
  }
  const reopened = await BlobLog.open(store, "ns", "a");
  assert.deepEqual(reopened.records, records);
  assert.deepEqual(await new BlobLogs(store, "ns").names(), ["a"]);
});

Deno.test("a record torn by a crash mid-append is dropped at open; earlier records survive", async () => {
  const inner = new DyingStore();
  const dying = inner;
  const log = await BlobLog.open(dying, "ns", "a");
  await log.append(bytes(50, 1));
  dying.budget = 1;
  await assert.rejects(log.append(bytes(BLOB_CHUNK_BYTES * 20, 2)), /process died/);
  inner.budget = Infinity;
  const reopened = await BlobLog.open(inner, "ns", "a");
  assert.deepEqual(reopened.records, [bytes(50, 1)]);
  await reopened.append(bytes(7, 3));
  assert.deepEqual((await BlobLog.open(inner, "ns", "a")).records, [bytes(50, 1), bytes(7, 3)]);
});

Deno.test("compact() replaces the records; a crash at any commit keeps the old or the new log whole", async () => {
  const records = [bytes(30, 1), bytes(40, 2), bytes(50, 3)];
  const snapshot = bytes(BLOB_CHUNK_BYTES * 12, 9);
  for (let budget = 0; budget < 8; budget++) {
    const inner = new DyingStore();
    const dying = inner;
    const log = await BlobLog.open(dying, "ns", "a");
    for (const record of records) await log.append(record);
    dying.budget = budget;
    const outcome = await log.compact(snapshot).then(() => "done", () => "crashed");
    inner.budget = Infinity;
    const reopened = await BlobLog.open(inner, "ns", "a");
    const expectOld = JSON.stringify(reopened.records) === JSON.stringify(records);
    const expectNew = JSON.stringify(reopened.records) === JSON.stringify([snapshot]);
    assert.ok(expectOld || expectNew, `budget ${budget} (${outcome}): log is neither old nor new`);
    if (outcome === "done") assert.ok(expectNew);
    const keys = await inner.list(["ns", "log", "a", "gen"], { limit: 100_000 });
    const generations = new Set(keys.map((entry) => entry.key[4]));
    assert.equal(generations.size, 1, "open swept the other generation");
  }
});

Deno.test("BlobLogs work on Deno KV across a reopen of the database file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/store.kv`;
    let kv = await DenoKvStore.open(path);
    const log = await new BlobLogs(kv, "plan").open("thread-1");
    await log.append(bytes(BLOB_CHUNK_BYTES * 3, 1));
    await log.append(bytes(10, 2));
    await log.compact(bytes(BLOB_CHUNK_BYTES * 30, 3));
    await log.append(bytes(20, 4));
    await kv.close();
    kv = await DenoKvStore.open(path);
    const reopened = await new BlobLogs(kv, "plan").open("thread-1");
    assert.deepEqual(reopened.records, [bytes(BLOB_CHUNK_BYTES * 30, 3), bytes(20, 4)]);
    await kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BlobLog.open() rejects unusable names with E_BLOB_LOG_NAME", async () => {
  await assert.rejects(BlobLog.open(new MemoryStore(), "ns", ""), /E_BLOB_LOG_NAME|Log name/);
});

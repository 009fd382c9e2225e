// Proves a plan store restarted after a crash recovers every acknowledged op, through compactions, on the simulated disk and on Deno KV.

import assert from "node:assert/strict";
import { BlobLogs } from "../../../runtime/store/blob_log.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import type { Store, StoreCommit, StoreCommitResult } from "../../../runtime/store/store.ts";
import { addTask, annotate, link, openStore, T } from "./_plan_fixtures.ts";

Deno.test("every acknowledged op survives a crash (the store object is dropped, the disk kept)", async () => {
  const disk = new MemoryStore();
  const store = await openStore(new BlobLogs(disk, "plan"), 4);
  const acknowledged: string[] = [];
  for (let index = 0; index < 30; index++) {
    const [result] = await store.appendOps([
      addTask(`t${index}`, index + 1, { thread: `p${index % 3}` }),
    ]);
    acknowledged.push(result.id);
  }
  await store.appendOp({ ...link("t0", "t3", 40), thread: "p0" });
  assert.ok(store.stats().compactions > 0, "the run compacted");
  const recovered = await openStore(new BlobLogs(disk, "plan"), 4);
  const ids = recovered.threads().flatMap((thread) =>
    recovered.getOpsForThread(thread).map((op) => `${op.lamport}/${op.index}/${op.actor}`)
  );
  for (const id of acknowledged) assert.ok(ids.includes(id), `lost acknowledged op ${id}`);
  assert.deepEqual(recovered.snapshot(), store.snapshot());
  assert.ok(recovered.lamport >= 40, "the Lamport clock is recovered too");
});

Deno.test("ops merged from a peer are persisted like local ones", async () => {
  const disk = new MemoryStore();
  const peer = await openStore();
  await peer.appendOps([addTask("a", 1), annotate("a", "k", "v", 2)]);
  const store = await openStore(new BlobLogs(disk, "plan"));
  await store.mergeWithPeer(peer);
  const recovered = await openStore(new BlobLogs(disk, "plan"));
  assert.deepEqual(recovered.snapshot(), peer.snapshot());
});

/** Fails every commit from the moment `failing` is set: the disk went away. */
class FailingStore extends MemoryStore {
  failing = false;
  override commit(batch: StoreCommit): Promise<StoreCommitResult> {
    if (this.failing) return Promise.reject(new Error("disk gone"));
    return super.commit(batch);
  }
}

Deno.test("an append whose write fails is not acknowledged, and the next write persists it", async () => {
  const disk = new FailingStore();
  const store = await openStore(new BlobLogs(disk as Store, "plan"));
  await store.appendOp(addTask("a", 1));
  disk.failing = true;
  await assert.rejects(store.appendOp(addTask("b", 2)), /disk gone/);
  disk.failing = false;
  await store.appendOp(addTask("c", 3));
  const recovered = await openStore(new BlobLogs(disk, "plan"));
  assert.deepEqual(recovered.tasks.ids(), ["a", "b", "c"]);
});

Deno.test("a plan store on Deno KV reopens with every op after compactions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let kv = await DenoKvStore.open(`${dir}/store.kv`);
    const store = await openStore(new BlobLogs(kv, "plan"), 8);
    for (let index = 0; index < 50; index++) await store.appendOp(addTask(`t${index}`, index + 1));
    const expected = store.snapshot();
    await kv.close();
    kv = await DenoKvStore.open(`${dir}/store.kv`);
    const recovered = await openStore(new BlobLogs(kv, "plan"), 8);
    assert.deepEqual(recovered.snapshot(), expected);
    assert.equal(recovered.getOpsForThread(T).length, 50);
    await kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

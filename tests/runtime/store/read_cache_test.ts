// Proves the store's read cache answers repeated reads without the backend, stays coherent with every write, and never caches a read a write overtook.
import assert from "node:assert/strict";
import { ReadCache } from "../../../runtime/store/_read_cache.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import type { StoreEntry } from "../../../runtime/store/store.ts";

const entry = (value: unknown, version = "v1"): StoreEntry<unknown> => ({
  key: ["k"],
  value,
  version,
});

Deno.test("a repeated read is a hit, and returns a copy the caller cannot use to change the cache", async () => {
  const cache = new ReadCache(10);
  let reads = 0;
  const read = () => Promise.resolve((reads++, entry({ list: [1, 2], nested: { n: 1 } })));
  const first = await cache.get(["k"], read);
  (first?.value as { list: number[] }).list.push(99);
  const second = await cache.get(["k"], read);
  assert.deepEqual(second?.value, { list: [1, 2], nested: { n: 1 } });
  assert.equal(reads, 1);
  assert.deepEqual(cache.stats, { hits: 1, misses: 1 });
});

Deno.test("writes, deletes and failed commits keep the cache in step", async () => {
  const cache = new ReadCache(10);
  let reads = 0;
  const read = () => Promise.resolve((reads++, entry("from backend")));
  const value = { a: 1 };
  cache.committed({ sets: [{ key: ["k"], value }] }, "v2");
  value.a = 2; // the caller's later change does not reach the cache
  assert.deepEqual(await cache.get(["k"], read), { key: ["k"], value: { a: 1 }, version: "v2" });
  cache.committed({ deletes: [["k"]] }, "v3");
  assert.equal(await cache.get(["k"], read), undefined);
  assert.equal(reads, 0);
  cache.committed({ checks: [{ key: ["k"], version: null }], sets: [] }, undefined);
  assert.equal((await cache.get(["k"], read))?.value, "from backend");
  assert.equal(reads, 1);
  cache.unsure({ sets: [{ key: ["k"], value: "?" }] });
  await cache.get(["k"], read);
  assert.equal(reads, 2);
});

Deno.test("a read overtaken by a write of the same key does not put its older value in the cache", async () => {
  const cache = new ReadCache(10);
  let release: (value: StoreEntry<unknown>) => void = () => {};
  const slow = cache.get(
    ["k"],
    () => new Promise<StoreEntry<unknown>>((resolve) => (release = resolve)),
  );
  cache.committed({ sets: [{ key: ["k"], value: "new" }] }, "v2");
  release(entry("old"));
  assert.equal((await slow)?.value, "old");
  assert.equal((await cache.get(["k"], () => Promise.reject(new Error("no read"))))?.value, "new");
});

Deno.test("the least recently used entries go first when the cache is full", async () => {
  const cache = new ReadCache(2);
  let reads = 0;
  const read = (value: string) => () =>
    Promise.resolve((reads++, { key: [value], value, version: "v" }));
  await cache.get(["a"], read("a"));
  await cache.get(["b"], read("b"));
  await cache.get(["a"], read("a")); // a is now the most recent
  await cache.get(["c"], read("c")); // evicts b
  assert.equal(reads, 3);
  await cache.get(["a"], read("a"));
  assert.equal(reads, 3);
  await cache.get(["b"], read("b"));
  assert.equal(reads, 4);
});

Deno.test("Deno KV reads its own writes through the cache and serves repeated reads from it", async () => {
  const store = await DenoKvStore.open(":memory:");
  try {
    const version = await store.set(["d", 1], { when: 1 });
    assert.deepEqual(await store.get(["d", 1]), { key: ["d", 1], value: { when: 1 }, version });
    assert.equal(await store.get(["d", 2]), undefined);
    assert.equal(await store.get(["d", 2]), undefined);
    const result = await store.commit({
      checks: [{ key: ["d", 1], version }],
      sets: [{ key: ["d", 1], value: { when: 2 } }],
    });
    assert.ok(result.ok);
    assert.deepEqual((await store.get(["d", 1]))?.value, { when: 2 });
    assert.equal(store.ioStats.hits, 3);
    assert.equal(store.ioStats.misses, 1);
  } finally {
    await store.close();
  }
});

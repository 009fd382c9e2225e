// Proves group commit writes concurrent commits as fewer atomic batches (commits that only check a shared key included) while each commit keeps the outcome it would have alone, in order.
import assert from "node:assert/strict";
import fc from "fast-check";
import { GroupCommit } from "../../../runtime/store/_group_commit.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import type { StoreCommit } from "../../../runtime/store/store.ts";

const LIMITS = { checks: 100, mutations: 1000 };

/** A group commit over a real memory store that records the size of every batch it writes. */
function recording(store = new MemoryStore()) {
  const batches: StoreCommit[] = [];
  const group = new GroupCommit((batch) => {
    batches.push(batch);
    return store.commit(batch);
  }, LIMITS);
  return { store, group, batches };
}

Deno.test("concurrent disjoint commits go as one batch and all apply with its version", async () => {
  const { store, group, batches } = recording();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, index) =>
      group.submit({
        checks: [{ key: ["k", index], version: null }],
        sets: [{ key: ["k", index], value: index }],
      })),
  );
  assert.equal(batches.length, 1);
  assert.ok(results.every((result) => result.ok));
  assert.equal(new Set(results.map((result) => result.ok && result.version)).size, 1);
  assert.equal((await store.get(["k", 7]))?.value, 7);
  assert.deepEqual(group.stats, { commits: 20, batches: 1 });
});

Deno.test("commits on one key keep their order: the second sees the first's write", async () => {
  const { store, group, batches } = recording();
  const [first, second] = await Promise.all([
    group.submit({ checks: [{ key: ["x"], version: null }], sets: [{ key: ["x"], value: 1 }] }),
    group.submit({ checks: [{ key: ["x"], version: null }], sets: [{ key: ["x"], value: 2 }] }),
  ]);
  assert.equal(first.ok, true);
  assert.equal(second.ok, false);
  assert.equal((await store.get(["x"]))?.value, 1);
  assert.equal(batches.length, 2);
});

Deno.test("commits that only check the same key share a batch; a write to it starts the next", async () => {
  const { store, group, batches } = recording();
  const guarded = (index: number) => ({
    checks: [{ key: ["epoch"], version: null }, { key: ["d", index], version: null }],
    sets: [{ key: ["d", index], value: index }],
  });
  const results = await Promise.all([
    ...Array.from({ length: 10 }, (_, index) => group.submit(guarded(index))),
    group.submit({ sets: [{ key: ["epoch"], value: 1 }] }),
    group.submit(guarded(10)),
  ]);
  assert.deepEqual(batches.map((batch) => batch.sets?.length), [10, 1, 1]);
  assert.deepEqual(results.map((result) => result.ok), [...Array(11).fill(true), false]);
  assert.equal(await store.get(["d", 10]), undefined);
});

Deno.test("a commit whose check fails does not sink the others of its batch", async () => {
  const { store, group } = recording();
  await store.set(["taken"], "already");
  const results = await Promise.all([
    group.submit({ sets: [{ key: ["a"], value: 1 }] }),
    group.submit({
      checks: [{ key: ["taken"], version: null }],
      sets: [{ key: ["taken"], value: 2 }],
    }),
    group.submit({ sets: [{ key: ["b"], value: 3 }] }),
  ]);
  assert.deepEqual(results.map((result) => result.ok), [true, false, true]);
  assert.equal((await store.get(["taken"]))?.value, "already");
  assert.equal((await store.get(["b"]))?.value, 3);
});

Deno.test("a commit the backend refuses gets its own error; the rest of its batch applies", async () => {
  const store = await DenoKvStore.open(":memory:");
  try {
    const tooLarge = "x".repeat(70_000); // Deno KV refuses values over 64 KiB
    const results = await Promise.allSettled([
      store.set(["fine", 1], 1),
      store.set(["huge"], tooLarge),
      store.set(["fine", 2], 2),
    ]);
    assert.deepEqual(results.map((result) => result.status), [
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    assert.equal((await store.get(["fine", 2]))?.value, 2);
    assert.equal(await store.get(["huge"]), undefined);
  } finally {
    await store.close();
  }
});

Deno.test("batches stay within the backend's limits on checks and mutations", async () => {
  const { group, batches } = recording();
  await Promise.all(
    Array.from({ length: 250 }, (_, index) =>
      group.submit({
        checks: [{ key: ["c", index], version: null }],
        sets: [{ key: ["c", index], value: index }],
      })),
  );
  assert.ok(batches.every((batch) => (batch.checks?.length ?? 0) <= LIMITS.checks));
  assert.equal(batches.reduce((sum, batch) => sum + (batch.sets?.length ?? 0), 0), 250);
  assert.ok(batches.length >= 3 && batches.length < 250, `${batches.length} batches`);
});

Deno.test("closing a Deno KV store waits for the commits still queued", async () => {
  const store = await DenoKvStore.open(":memory:");
  const writes = Array.from({ length: 50 }, (_, index) => store.set(["w", index], index));
  await store.close();
  assert.ok((await Promise.allSettled(writes)).every((result) => result.status === "fulfilled"));
});

const commitArbitrary = fc.record({
  key: fc.integer({ min: 0, max: 4 }),
  /** A key only checked (absent), as every DECIDE checks the epoch key. */
  guard: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
  other: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
  check: fc.constantFrom("absent", "none"),
  remove: fc.boolean(),
  value: fc.integer(),
});

Deno.test("group commit gives every commit the outcome of applying them one by one in order (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(commitArbitrary, { maxLength: 30 }), async (specs) => {
      const commits: StoreCommit[] = specs.map((spec) => ({
        checks: [
          ...(spec.check === "absent" ? [{ key: ["p", spec.key], version: null }] : []),
          ...(spec.guard === undefined ? [] : [{ key: ["p", spec.guard], version: null }]),
        ],
        sets: spec.remove ? [] : [{ key: ["p", spec.key], value: spec.value }],
        deletes: [
          ...(spec.remove ? [["p", spec.key]] : []),
          ...(spec.other === undefined ? [] : [["p", spec.other]]),
        ],
      }));
      const sequential = new MemoryStore();
      const expected: boolean[] = [];
      for (const commit of commits) expected.push((await sequential.commit(commit)).ok);
      const { store, group } = recording();
      const got = await Promise.all(commits.map((commit) => group.submit(commit)));
      assert.deepEqual(got.map((result) => result.ok), expected);
      const contents = async (each: MemoryStore) =>
        (await each.list(["p"])).map((entry) => [entry.key, entry.value]);
      assert.deepEqual(await contents(store), await contents(sequential));
    }),
    { numRuns: 200 },
  );
});

// Proves every Store backend (Deno KV, the simulator's memory store) honours one contract: CRUD, ordering, bounds, atomic checks, typed errors.
import assert from "node:assert/strict";
import fc from "fast-check";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import { type Store, StoreError, type StoreKey } from "../../../runtime/store/store.ts";

const backends: Record<string, () => Promise<Store>> = {
  "Deno KV": () => DenoKvStore.open(":memory:"),
  memory: () => Promise.resolve(new MemoryStore()),
};

for (const [name, open] of Object.entries(backends)) {
  const test = (title: string, body: (store: Store) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

  test("set() then get() returns the value and a version; delete() removes it", async (store) => {
    const version = await store.set(["a", 1], { n: 1n, bytes: new Uint8Array([1, 2]) });
    const entry = await store.get<{ n: bigint; bytes: Uint8Array }>(["a", 1]);
    assert.deepEqual(entry?.value, { n: 1n, bytes: new Uint8Array([1, 2]) });
    assert.equal(entry?.version, version);
    await store.delete(["a", 1]);
    assert.equal(await store.get(["a", 1]), undefined);
    await store.delete(["never", "there"]);
  });

  test("versions increase with every write", async (store) => {
    const first = await store.set(["k"], 1);
    const second = await store.set(["k"], 2);
    assert.ok(second > first, `${second} > ${first}`);
  });

  test("list() returns entries under a prefix in key order, bounded and reversible", async (store) => {
    for (
      const key of [
        ["p", "b"],
        ["p", "a"],
        ["p", 2],
        ["p", 10],
        ["p", 1n],
        ["p", true],
        ["q", "x"],
        ["p"],
      ]
    ) {
      await store.set(key as StoreKey, key.join("/"));
    }
    const keys = (await store.list(["p"])).map((entry) => entry.key);
    assert.deepEqual(keys, [["p", "a"], ["p", "b"], ["p", 1n], ["p", 2], ["p", 10], ["p", true]]);
    assert.deepEqual((await store.list(["p"], { limit: 2 })).map((entry) => entry.value), [
      "p/a",
      "p/b",
    ]);
    assert.deepEqual(
      (await store.list(["p"], { limit: 1, reverse: true })).map((entry) => entry.key),
      [[
        "p",
        true,
      ]],
    );
  });

  test("commit() applies sets and deletes only when every check holds", async (store) => {
    const version = await store.set(["x"], 1);
    assert.deepEqual(
      await store.commit({ checks: [{ key: ["x"], version: "00000000000000000000" }], sets: [] }),
      {
        ok: false,
      },
    );
    const failed = await store.commit({
      checks: [{ key: ["y"], version }],
      sets: [{ key: ["z"], value: 1 }],
    });
    assert.equal(failed.ok, false);
    assert.equal(await store.get(["z"]), undefined, "a failed batch writes nothing");
    const done = await store.commit({
      checks: [{ key: ["x"], version }, { key: ["y"], version: null }],
      sets: [{ key: ["y"], value: 2 }],
      deletes: [["x"]],
    });
    assert.equal(done.ok, true);
    assert.equal((await store.get(["y"]))?.value, 2);
    assert.equal(await store.get(["x"]), undefined);
  });

  test("compare-and-set lets exactly one of many racers create a key", async (store) => {
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        (_, racer) =>
          store.commit({
            checks: [{ key: ["race"], version: null }],
            sets: [{ key: ["race"], value: racer }],
          }),
      ),
    );
    assert.equal(results.filter((result) => result.ok).length, 1);
  });

  test("bad keys and limits are refused with typed errors", async (store) => {
    await assert.rejects(
      async () => await store.set([] as StoreKey, 1),
      (error: StoreError) => error.code === "E_STORE_KEY",
    );
    await assert.rejects(async () => await store.get([{}] as unknown as StoreKey), StoreError);
    await assert.rejects(async () => await store.get([Number.NaN]), /finite/);
    await assert.rejects(
      async () => await store.list(["a"], { limit: 0 }),
      (error: StoreError) => error.code === "E_STORE_LIMIT",
    );
    for (const expireAtMs of [Number.NaN, Infinity]) {
      await assert.rejects(
        async () =>
          await store.commit({
            sets: [{ key: ["ok"], value: 1 }, { key: ["late"], value: 2, expireAtMs }],
          }),
        (error: StoreError) => error.code === "E_STORE_EXPIRY",
      );
    }
    assert.equal(await store.get(["ok"]), undefined, "a batch with a bad part writes nothing");
  });

  test("a closed store refuses calls with E_STORE_CLOSED", async (store) => {
    await store.close();
    await assert.rejects(
      async () => await store.get(["a"]),
      (error: StoreError) => error.code === "E_STORE_CLOSED",
    );
  });
}

Deno.test("the memory store orders random keys exactly like Deno KV (property)", async () => {
  const part = fc.oneof(
    fc.string({ maxLength: 4, unit: "binary" }),
    fc.integer({ min: -1000, max: 1000 }),
    fc.bigInt({ min: -1000n, max: 1000n }),
    fc.boolean(),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.array(part, { minLength: 1, maxLength: 3 }), { maxLength: 30 }),
      async (keys) => {
        const kv = await DenoKvStore.open(":memory:");
        const memory = new MemoryStore();
        try {
          for (const key of keys) {
            await kv.set(["root", ...key], 1);
            await memory.set(["root", ...key], 1);
          }
          const fromKv = (await kv.list(["root"])).map((entry) => entry.key);
          const fromMemory = (await memory.list(["root"])).map((entry) => entry.key);
          assert.deepEqual(fromMemory, fromKv);
        } finally {
          await kv.close();
        }
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("the memory store orders code points, -0 and 0 like Deno KV", async () => {
  const kv = await DenoKvStore.open(":memory:");
  const memory = new MemoryStore();
  try {
    for (const part of ["\uE000", "\u{10000}", "a", -0, 0, -1.5, 3n]) {
      await kv.set(["r", part], String(part));
      await memory.set(["r", part], String(part));
    }
    const fromKv = (await kv.list(["r"])).map((entry) => entry.key);
    assert.deepEqual((await memory.list(["r"])).map((entry) => entry.key), fromKv);
    assert.equal(fromKv.length, 7);
  } finally {
    await kv.close();
  }
});

Deno.test("Deno KV: data survives closing and reopening the database file", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const first = await DenoKvStore.open(`${directory}/store.kv`);
    await first.set(["durable"], "yes");
    await first.close();
    const second = await DenoKvStore.open(`${directory}/store.kv`);
    assert.equal((await second.get(["durable"]))?.value, "yes");
    await second.close();
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("the memory store reads a key past its expiry as absent, on the clock it is given", async () => {
  let nowMs = 0;
  const store = new MemoryStore({ nowMs: () => nowMs });
  await store.commit({
    sets: [{ key: ["e", 1], value: "due", expireAtMs: 100 }, { key: ["e", 2], value: "kept" }],
  });
  nowMs = 99;
  assert.equal((await store.get(["e", 1]))?.value, "due");
  nowMs = 100;
  assert.equal(await store.get(["e", 1]), undefined);
  assert.deepEqual((await store.list(["e"])).map((entry) => entry.value), ["kept"]);
  assert.equal((await store.commit({ checks: [{ key: ["e", 1], version: null }] })).ok, true);
  const timeless = new MemoryStore();
  await timeless.commit({ sets: [{ key: ["e"], value: 1, expireAtMs: -1 }] });
  assert.equal((await timeless.get(["e"]))?.value, 1, "without a clock nothing expires");
});

// Proves the Lamport clock ticks on send, jumps past what it observes, and never goes backwards across restarts.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ENVELOPE_ERROR_CODES,
  LAMPORT_MAX,
  LamportClock,
  lamportObserve,
  lamportTick,
} from "../../../protocols/envelope/mod.ts";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import type { Store } from "../../../runtime/store/store.ts";

Deno.test("lamportTick() adds one and lamportObserve() takes max(local, seen) + 1", () => {
  assert.equal(lamportTick(0), 1);
  assert.equal(lamportObserve(5, 3), 6);
  assert.equal(lamportObserve(5, 9), 10);
  fc.assert(fc.property(fc.nat(), fc.nat(), (local, seen) => {
    const next = lamportObserve(local, seen);
    assert.ok(next > local && next > seen);
  }));
});

Deno.test("tick() and observe() hand out strictly increasing values", async () => {
  const clock = await LamportClock.open(new MemoryStore());
  assert.equal(await clock.tick(), 1);
  assert.equal(await clock.tick(), 2);
  assert.equal(await clock.observe(40), 41);
  assert.equal(await clock.observe(7), 42);
  assert.equal(await clock.tick(), 43);
  assert.equal(clock.current, 43);
});

Deno.test("concurrent ticks across reservation boundaries are unique and all durable", async () => {
  const store = new MemoryStore();
  const clock = await LamportClock.open(store, { reserveAhead: 3 });
  const values = await Promise.all(Array.from({ length: 50 }, () => clock.tick()));
  assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
  const ceiling = (await store.get<number>(["envelope", "lamport"]))?.value ?? 0;
  assert.ok(ceiling >= 50, `ceiling ${ceiling} below handed-out 50`);
  assert.ok(clock.writes < 50, `reservations should batch writes, made ${clock.writes}`);
});

Deno.test("observe() refuses a value a peer could use to exhaust the clock", async () => {
  const clock = await LamportClock.open(new MemoryStore());
  await assert.rejects(
    clock.observe(LAMPORT_MAX + 1),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.lamport,
  );
  await assert.rejects(clock.observe(0), /must be an integer/);
  assert.equal(await clock.tick(), 1);
});

async function restartNeverGoesBackwards(
  open: () => Promise<Store>,
  reserveAhead: number,
): Promise<void> {
  let store = await open();
  let clock = await LamportClock.open(store, { reserveAhead });
  let highest = 0;
  for (let run = 0; run < 4; run++) {
    for (let step = 0; step < 25; step++) {
      const value = step % 5 === 0 ? await clock.observe(highest + 3) : await clock.tick();
      assert.ok(value > highest, `run ${run}: ${value} after ${highest}`);
      highest = value;
    }
    await store.close();
    store = await open();
    clock = await LamportClock.open(store, { reserveAhead });
    assert.ok(clock.current >= highest, `restart resumed at ${clock.current}, below ${highest}`);
  }
  assert.ok(await clock.tick() > highest);
  await store.close();
}

Deno.test("a restart over MemoryStore never goes backwards, with and without reservations", async () => {
  for (const reserveAhead of [0, 1, 16, 1024]) {
    const memory = new MemoryStore();
    await restartNeverGoesBackwards(() => {
      memory.reopen();
      return Promise.resolve(memory);
    }, reserveAhead);
  }
});

Deno.test("a restart over Deno KV never goes backwards", async () => {
  const directory = await Deno.makeTempDir({ prefix: "lamport-kv-" });
  try {
    for (const reserveAhead of [0, 64]) {
      const path = `${directory}/store-${reserveAhead}.kv`;
      await restartNeverGoesBackwards(() => DenoKvStore.open(path), reserveAhead);
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("with reserveAhead 0 every tick is written before it is handed out", async () => {
  const store = new MemoryStore();
  const clock = await LamportClock.open(store, { reserveAhead: 0 });
  for (let expected = 1; expected <= 5; expected++) {
    assert.equal(await clock.tick(), expected);
    assert.equal((await store.get<number>(["envelope", "lamport"]))?.value, expected);
  }
  assert.equal(clock.writes, 5);
});

// Proves by property: random plan ops split across replicas and merged or synced in any order converge to equal documents and views, and state regresses only through reopen transitions.

import assert from "node:assert/strict";
import fc from "fast-check";
import { REOPEN_TRANSITIONS, stateRank, TASK_STATES } from "../../../protocols/plan/op.ts";
import { PlanSyncPeers } from "../../../protocols/plan/plan_sync.ts";
import type { PlanStore } from "../../../protocols/plan/plan_store.ts";
import { openStore } from "./_plan_fixtures.ts";

const TASKS = ["t0", "t1", "t2", "t3", "t4", "t5"];
const THREADS = ["p0", "p1"];

const opBody = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("ADD_TASK"),
      task: fc.constantFrom(...TASKS),
      title: fc.constantFrom("x", "y"),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("LINK"),
      from: fc.constantFrom(...TASKS),
      to: fc.constantFrom(...TASKS),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc.record({
        kind: fc.constant("STATE"),
        task: fc.constantFrom(...TASKS),
        state: fc.constantFrom(...TASK_STATES.slice(1)),
        epoch: fc.integer({ min: 0, max: 2 }),
      }),
      fc.record({
        kind: fc.constant("STATE"),
        task: fc.constantFrom(...TASKS),
        state: fc.constant("DRAFT"),
        transition: fc.constantFrom(...REOPEN_TRANSITIONS),
        epoch: fc.integer({ min: 0, max: 2 }),
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("ANNOTATE"),
      task: fc.constantFrom(...TASKS),
      key: fc.constantFrom("a", "b"),
      value: fc.integer({ min: 0, max: 9 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom("REQUIRES", "PRODUCES"),
      task: fc.constantFrom(...TASKS),
      key: fc.constantFrom("k1", "k2"),
    }),
  },
);

/** Ops with unique ids: each gets its own index; replica r authors as actor r. */
const scenario = fc.record({
  ops: fc.array(
    fc.record({
      body: opBody,
      replica: fc.integer({ min: 0, max: 2 }),
      lamport: fc.integer({ min: 1, max: 12 }),
      thread: fc.constantFrom(...THREADS),
    }),
    { minLength: 1, maxLength: 40 },
  ),
  merges: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
    maxLength: 8,
  }),
  chunk: fc.integer({ min: 1, max: 5 }),
});

function materialise(ops: { body: object; replica: number; lamport: number; thread: string }[]) {
  return ops.map((op, index) => ({
    ...op.body,
    thread: op.thread,
    actor: `r${op.replica}`,
    lamport: op.lamport,
    index,
    replica: op.replica,
  }));
}

async function importInChunks(store: PlanStore, ops: Record<string, unknown>[], chunk: number) {
  for (let start = 0; start < ops.length; start += chunk) {
    await store.importOps(ops.slice(start, start + chunk).map(({ replica: _, ...op }) => op));
  }
}

function sameEverywhere(replicas: PlanStore[]): void {
  const reference = replicas[0];
  for (const replica of replicas.slice(1)) {
    assert.deepEqual(replica.threads(), reference.threads());
    for (const thread of reference.threads()) {
      assert.deepEqual(replica.heads(thread), reference.heads(thread));
    }
    assert.deepEqual(replica.snapshot(), reference.snapshot());
  }
}

Deno.test("replicas merged in random order converge to equal documents and views, equal to a one-shot replay", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ ops, merges, chunk }) => {
      const all = materialise(ops);
      const replicas = [await openStore(), await openStore(), await openStore()];
      for (let index = 0; index < 3; index++) {
        await importInChunks(replicas[index], all.filter((op) => op.replica === index), chunk);
      }
      for (const [to, from] of merges) {
        if (to !== from) await replicas[to].mergeWithPeer(replicas[from]);
      }
      for (const [to, from] of [[1, 0], [2, 1], [0, 2], [1, 0]]) {
        await replicas[to].mergeWithPeer(replicas[from]);
      }
      sameEverywhere(replicas);
      const oneShot = await openStore();
      await importInChunks(oneShot, [...all].reverse(), 1);
      assert.deepEqual(
        oneShot.snapshot(),
        replicas[0].snapshot(),
        "views do not depend on delivery order",
      );
      for (const replica of replicas) assert.equal(replica.graph.findCycle(), undefined);
    }),
    { numRuns: 60 },
  );
});

Deno.test("replicas exchanging sync messages with random losses converge once repair ticks run", async () => {
  await fc.assert(
    fc.asyncProperty(
      scenario,
      fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
      async ({ ops, chunk }, drops) => {
        const all = materialise(ops);
        const stores = [await openStore(), await openStore(), await openStore()];
        const peers = stores.map((store) => new PlanSyncPeers(store));
        peers.forEach((peer, index) =>
          [0, 1, 2].filter((other) => other !== index).forEach((other) => peer.addPeer(`p${other}`))
        );
        for (let index = 0; index < 3; index++) {
          await importInChunks(stores[index], all.filter((op) => op.replica === index), chunk);
        }
        let dropCursor = 0;
        for (let round = 0; round < 12; round++) {
          let queue = peers.flatMap((peer, index) =>
            peer.tick().map((message) => ({ ...message, from: index }))
          );
          for (let hop = 0; hop < 30 && queue.length > 0; hop++) {
            const next: typeof queue = [];
            for (const message of queue) {
              if (round < 4 && drops[dropCursor++ % drops.length]) {
                continue;
              }
              const target = Number(message.peer.slice(1));
              const receipt = await peers[target].receive(
                `p${message.from}`,
                message.thread,
                message.data,
              );
              next.push(...receipt.replies.map((reply) => ({ ...reply, from: target })));
            }
            queue = next;
          }
        }
        sameEverywhere(stores);
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("a task's state regresses only when a reopen op is applied, in any delivery order", async () => {
  const stateOps = fc.array(
    fc.oneof(
      fc.record({
        state: fc.constantFrom(...TASK_STATES.slice(1)),
        transition: fc.constant(null),
        epoch: fc.integer({ min: 0, max: 2 }),
        lamport: fc.integer({ min: 2, max: 30 }),
        actor: fc.constantFrom("a", "b"),
      }),
      fc.record({
        state: fc.constant("DRAFT"),
        transition: fc.constantFrom(...REOPEN_TRANSITIONS),
        epoch: fc.integer({ min: 0, max: 2 }),
        lamport: fc.integer({ min: 2, max: 30 }),
        actor: fc.constantFrom("a", "b"),
      }),
    ),
    { minLength: 1, maxLength: 25 },
  );
  await fc.assert(
    fc.asyncProperty(stateOps, fc.func(fc.integer()), async (raw, shuffleKey) => {
      const ops = raw.map((op, index) => ({ ...op, kind: "STATE", thread: "p", task: "x", index }));
      const orders = [
        ops,
        [...ops].sort((left, right) => shuffleKey(left.index) - shuffleKey(right.index)),
      ];
      const finals: string[] = [];
      for (const order of orders) {
        const store = await openStore();
        await store.importOps([{
          kind: "ADD_TASK",
          thread: "p",
          actor: "a",
          lamport: 1,
          task: "x",
        }]);
        let rank = 0;
        for (const op of order) {
          await store.importOps([op]);
          const now = stateRank(store.getTask("x")!.state);
          if (now < rank) {
            assert.notEqual(
              op.transition,
              null,
              `state went back from rank ${rank} to ${now} on a forward op`,
            );
          }
          rank = now;
        }
        finals.push(store.getTask("x")!.state);
      }
      assert.equal(finals[0], finals[1]);
    }),
    { numRuns: 200 },
  );
});

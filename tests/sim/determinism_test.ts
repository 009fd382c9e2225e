// Proves a seed fixes the whole run: 16 actors, >10,000 messages, random delays and a partition give one trace hash per seed.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CHATTER_CHAOS_LINK as CHAOS_LINK,
  runChatterSimulation,
} from "../../sim/scenarios/run_chatter.ts";

Deno.test("the built-in scenario is big enough: ≥ 10 actors, ≥ 10,000 messages, a partition that drops traffic", async () => {
  const result = await runChatterSimulation({ seed: 1 });
  console.log(`seed 1 trace ${result.traceHash}`);
  assert.ok(result.chatters >= 10, `${result.chatters} actors`);
  assert.ok(result.deliveries >= 10_000, `${result.deliveries} deliveries`);
  assert.ok(result.network.droppedByPartition > 0, "the partition cut traffic");
  assert.equal(result.chattersReported, result.chatters, "every chatter finished its budget");
  assert.match(result.traceHash, /^[0-9a-f]{64}$/);
});

Deno.test("the same seed gives the same trace hash, another seed a different one (property over seeds)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer(), fc.integer(), async (seed, other) => {
      fc.pre(seed !== other);
      const [first, again, different] = await Promise.all([
        runChatterSimulation({ seed }),
        runChatterSimulation({ seed }),
        runChatterSimulation({ seed: other }),
      ]);
      console.log(
        `seeds ${seed}/${other}: ${first.traceHash.slice(0, 16)} ${
          different.traceHash.slice(0, 16)
        }`,
      );
      assert.equal(again.traceHash, first.traceHash);
      assert.equal(again.deliveries, first.deliveries);
      assert.notEqual(different.traceHash, first.traceHash);
    }),
    { numRuns: 6 },
  );
});

Deno.test("replays stay exact under faults: BUGGIFY crashes plus loss, duplication and reordering", async () => {
  let restarts = 0;
  for (const seed of [3, 7]) {
    const options = { seed, buggify: true, link: CHAOS_LINK };
    const first = await runChatterSimulation(options);
    const again = await runChatterSimulation(options);
    console.log(`seed ${seed} chaos trace ${first.traceHash} restarts ${first.restarts}`);
    assert.equal(again.traceHash, first.traceHash);
    assert.equal(again.restarts, first.restarts);
    assert.ok(first.network.duplicated + first.network.reordered + first.network.droppedByLoss > 0);
    restarts += first.restarts;
  }
  assert.ok(
    restarts > 0,
    "seed 7 activates the chatter crash fault point, so supervision is replayed too",
  );
});

Deno.test("the trace depends on what actors do, not only on the seed: another scenario gives another hash", async () => {
  const base = await runChatterSimulation({ seed: 9 });
  const changed = await runChatterSimulation({
    seed: 9,
    scenario: {
      nodes: 4,
      actorsPerNode: 4,
      messageBudget: 399,
      pauseMaxMs: 20,
      forwardRate: 0.25,
      hopsMax: 2,
    },
  });
  assert.notEqual(changed.traceHash, base.traceHash);
});

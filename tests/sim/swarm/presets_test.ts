// Proves every swarm preset replays byte for byte (same seed, same trace hash, different seed, different hash) and that the short chaos suite (every fault family, knobs drawn from the seed) holds every property — the CI version of `deno task chaos`.
import assert from "node:assert/strict";
import {
  CHAOS_PRESETS,
  runSwarmSimulation,
  scenarioOf,
  SWARM_PRESETS,
  type SwarmRunResult,
} from "../../../sim/swarm/mod.ts";

/** Short runs: 3 s of load at 3 NEEDs/s (faults scale with the load). */
const SHORT = { loadMs: 3_000, needsPerSecond: 3 };

function failures(result: SwarmRunResult): string[] {
  return result.checks.filter((check) => check.status === "fail").map((check) =>
    `${check.id}: ${check.violations[0]?.message}`
  );
}

for (const preset of Object.keys(SWARM_PRESETS)) {
  Deno.test(`preset ${preset} replays exactly: the same seed gives the same trace hash`, async () => {
    const scenario = scenarioOf({ scenario: preset, seed: 11, knobs: "preset", overrides: SHORT });
    const first = await runSwarmSimulation({ scenario, seed: 11, repeat: true });
    console.log(`${preset} seed 11 trace ${first.traceHash}`);
    assert.deepEqual(failures(first), [], "every property holds, the repeat's hash included (P2)");
    const p2 = first.checks.find((check) => check.id === "P2");
    assert.ok((p2?.checked ?? 0) >= 1, "P2 compared the repeat's trace hash");
    assert.ok(first.needs.posted > 0 && first.needs.final === first.needs.posted);
  });
}

/**
 * Runs that long chaos runs (`deno task chaos --seed 1000 --seeds 40 --buggify`) found failing,
 * each with the fix it needed; every property must hold in them from now on.
 */
const CHAOS_REGRESSIONS = [
  // A kill of the only requester, which was under a clock skew, did nothing (N).
  { scenario: "crashes", seed: 1014, overrides: { buggify: true } },
  // A node whose core restarted refused every COMMIT it replayed from a peer once the 10 s lease
  // had run out, so it expired NEEDs the others finalised: a refund against a payout ($).
  { scenario: "retention", seed: 1029, overrides: { buggify: true, nemeses: [0, 1] } },
  // The only honest worker stalled past its lease; the task reopened meanwhile and its task-ready
  // was passed over (the worker still held the job), so after two wrong results nobody bid (L).
  { scenario: "byzantine", seed: 1037, overrides: { buggify: true } },
  // A DECIDE reached both halves as a partition split them; each leased the task to its own
  // worker, which committed; after the heal no node took the other side's lease (P5, L).
  { scenario: "partition-ap", seed: 1009, overrides: { buggify: true, nemeses: [0] } },
  // Two deciders drawn, and a second failover while the first one's decider was paused (N).
  { scenario: "failover", seed: 1104, overrides: { buggify: true } },
  // BUGGIFY stalled three workers in a row on one task, each a 60 s lease lost (L).
  { scenario: "byzantine", seed: 1101, overrides: { buggify: true } },
  // A decider resumed from a pause took its buckets again and, before its new fence came back,
  // read that newer fence in the log at a finalization: it gave its own bucket up (L).
  { scenario: "mixed", seed: 1401, overrides: { buggify: true } },
  // A decider restarted and rebuilt a FINAL thread from a peer's archive: by its own clock the
  // challenge window opened again, the replayed FINALIZE waited, and it upheld a challenge made
  // after the window, slashing the attesters of a result already paid out (P3).
  { scenario: "byzantine", seed: 3002, overrides: { buggify: true } },
  // A spammer replayed a finished NEED to nodes whose cores had restarted (their replay caches
  // empty) after they forgot the thread: they ran it again, leased and slashed (P5 d, ledgers).
  { scenario: "mixed", seed: 3017, overrides: { buggify: true } },
  // A second partition began before the first healed: the decide service merged the first one's
  // sides silently, so a task leased on both was never reconciled and its NEED never ended (P5, L).
  { scenario: "partition-ap", seed: 3106, overrides: { buggify: true } },
  // Random knobs drew two requesters; one was clock-skewed and one paused when a kill came for a
  // requester, so the kill did nothing (N).
  { scenario: "crashes", seed: 3325, overrides: { buggify: true } },
  // A first version of the restart recovery from the audit log applied a decider's own NEED
  // before its roles watched again: the decider never heard of the plan's quorum (L).
  { scenario: "crashes", seed: 3604, overrides: { buggify: true } },
  // BUGGIFY stalled four workers in a row on one task, a lost lease each: L counted its bound
  // from the end of the load, not from the last fault point that hit the NEED (L).
  { scenario: "byzantine", seed: 4600, overrides: { buggify: true, needsPerSecond: 15 } },
  // A worker's bid for a fresh task found it held by a wrong result's lease; the result's rejection
  // reopened the task while the bid was on its way, and that task-ready was passed over (one job
  // per task). The bid was not made again, and the task stayed unclaimed (L).
  { scenario: "failover", seed: 9004, overrides: { buggify: true } },
  // Both sides of an isolate-one partition leased a task, and the majority finalized it; the merge
  // kept the isolated node's later grant, so that node never took the others' FINALIZE and its
  // ledger parted from theirs ($). A decider now marks the lease final before the FINALIZE, and a
  // merge keeps the final lease.
  { scenario: "partition-ap", seed: 9112, overrides: { buggify: true } },
];

for (const { scenario, seed, overrides } of CHAOS_REGRESSIONS) {
  Deno.test(`chaos regression: ${scenario} seed ${seed} (random knobs) holds every property`, async () => {
    const recipe = { scenario, seed, knobs: "random" as const, overrides };
    const result = await runSwarmSimulation({ scenario: scenarioOf(recipe), seed });
    assert.deepEqual(failures(result), []);
  });
}

Deno.test("a NEED only its isolated node knew, which restarted before the heal, still finishes everywhere (mixed seed 3316, audit on)", async () => {
  // The node posted two NEEDs while cut off and was killed before the heal, losing its threads.
  // It rebuilds them from its audit log (its ledger still escrows them), and its peers, asked for
  // threads only it had spoken on, ask it for them. Before, both waited for their deadline there.
  const recipe = { scenario: "mixed", seed: 3316, knobs: "random" as const };
  const scenario = { ...scenarioOf({ ...recipe, overrides: { buggify: true } }), audit: true };
  const result = await runSwarmSimulation({ scenario, seed: recipe.seed });
  assert.deepEqual(failures(result), []);
  assert.equal(result.needs.final, result.needs.posted, JSON.stringify(result.needs));
  const digests = new Map<string, string>();
  for (const event of result.history.ofType("ledger")) digests.set(event.node, event.digest);
  assert.equal(new Set(digests.values()).size, 1, "every node ends with the same ledger");
});

Deno.test("another seed gives another trace", async () => {
  const run = (seed: number) =>
    runSwarmSimulation({
      scenario: scenarioOf({ scenario: "steady", seed, knobs: "preset", overrides: SHORT }),
      seed,
    });
  const [one, two] = [await run(1), await run(2)];
  assert.notEqual(one.traceHash, two.traceHash);
});

Deno.test("short chaos: every fault family, knobs drawn from the seed, holds every property", async () => {
  for (const preset of CHAOS_PRESETS) {
    const recipe = { scenario: preset, seed: 101, knobs: "random" as const, overrides: SHORT };
    const result = await runSwarmSimulation({ scenario: scenarioOf(recipe), seed: recipe.seed });
    console.log(`${preset} seed 101 (random knobs) trace ${result.traceHash.slice(0, 16)}`);
    assert.deepEqual(
      failures(result),
      [],
      `${preset}: deno task sim --scenario ${preset} --seed 101 --knobs random --load 3000ms --rate 3`,
    );
    const fired = result.checks.find((check) => check.id === "N");
    assert.notEqual(fired?.status, "fail", "every nemesis of the suite fired");
  }
});

Deno.test("retention: the decide service forgets every NEED's records past its deadline and margin, and every property holds", async () => {
  const recipe = { scenario: "retention", seed: 5, knobs: "preset" as const };
  const scenario = scenarioOf(recipe);
  const result = await runSwarmSimulation({ scenario, seed: recipe.seed });
  assert.deepEqual(failures(result), [], "P1 above all: a forgotten NEED is never decided again");
  assert.ok(result.needs.posted > 0 && result.needs.final === result.needs.posted);
  assert.deepEqual(result.decideLog, { decisions: 0, leases: 0 });
  // The same run with a margin longer than the run keeps them all.
  const params = { ...scenario.params, decideRetentionMs: 10 * 60_000 };
  const kept = await runSwarmSimulation({ scenario: { ...scenario, params }, seed: recipe.seed });
  assert.equal(kept.decideLog.decisions, kept.needs.final);
  assert.ok(kept.decideLog.leases >= kept.needs.final, "a lease per task at least");
});

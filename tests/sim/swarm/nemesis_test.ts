// Proves every nemesis acts on the simulated swarm while it lasts and is undone when it ends, partitions split nodes as their shape says, and a node fault whose only candidate is under another fault still acts on it, and a fault that finds nothing to act on fails the run instead of passing silently.
import assert from "node:assert/strict";
import fc from "fast-check";
import { SeededRandom } from "../../../sim/seeded_random.ts";
import { partitionGroups } from "../../../sim/swarm/nemesis.ts";
import {
  type NemesisSpec,
  PARTITION_SHAPES,
  runSwarmSimulation,
  SWARM_PRESETS,
  SwarmHarness,
  type SwarmScenario,
  withDuration,
} from "../../../sim/swarm/mod.ts";

Deno.test("partition shapes split the nodes as named (property over seeds and sizes)", () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 3, max: 12 }), (seed, count) => {
      const nodes = Array.from({ length: count }, (_, index) => `node-${index}`);
      for (const shape of PARTITION_SHAPES) {
        const { groups, bridge } = partitionGroups(shape, nodes, new SeededRandom(seed));
        assert.deepEqual(
          groups.flat().sort(),
          [...nodes].sort(),
          `${shape} places every node once`,
        );
        if (shape === "majority-minority") assert.ok(groups[0].length * 2 > count);
        if (shape === "isolate-one") assert.equal(groups[1].length, 1);
        if (shape === "bridge") assert.deepEqual(groups[2], [bridge]);
        if (shape === "halves") assert.ok(Math.abs(groups[0].length - groups[1].length) <= 1);
      }
    }),
    { numRuns: 50 },
  );
});

/** A 5-node swarm with one of every node and network fault, light load. */
function everyFault(): SwarmScenario {
  const nemeses: NemesisSpec[] = [
    { kind: "partition", atMs: 1_000, durationMs: 1_000, shape: "majority-minority" },
    { kind: "kill-restart", atMs: 2_500, durationMs: 1_000, target: "decider" },
    { kind: "pause", atMs: 4_000, durationMs: 1_000, target: "worker" },
    {
      kind: "clock-skew",
      atMs: 5_500,
      durationMs: 1_000,
      offsetMs: 700,
      driftPpm: 0,
      target: "any",
    },
    {
      kind: "slow-links",
      atMs: 7_000,
      durationMs: 1_000,
      latencyMinMs: 50,
      latencyMaxMs: 60,
      share: 1,
    },
    {
      kind: "flaky-links",
      atMs: 8_500,
      durationMs: 1_000,
      dropRate: 0.5,
      duplicateRate: 0.2,
      reorderRate: 0.2,
    },
    { kind: "failover", atMs: 10_000, durationMs: 1_000 },
    { kind: "epoch-advance", atMs: 11_500 },
    { kind: "heal", atMs: 12_500 },
  ];
  const base = SWARM_PRESETS.steady;
  return withDuration({
    ...base,
    name: "every-fault",
    nodes: 5,
    roles: { planners: 2, verifiers: 5, workers: 5, deciders: 2, requesters: 2, challengers: 1 },
    organisations: 5,
    load: { ...base.load, needsPerSecond: 2, loadMs: 12_000 },
    nemeses,
  });
}

Deno.test("every nemesis acts while it lasts and is undone when it ends", async () => {
  const harness = await SwarmHarness.create(everyFault(), 7);
  const sim = harness.simulation;
  const targetOf = (index: number) =>
    harness.history.ofType("nemesis").find((event) =>
      event.nemesis === index && event.phase === "start"
    )
      ?.nodes[0] as string;
  const seen: Record<string, boolean> = {};
  const probe = (atMs: number, name: string, check: () => boolean) =>
    sim.at(atMs, `probe ${name}`, () => void (seen[name] = check()));
  const cut = () =>
    harness.nodes.some((from) => harness.nodes.some((to) => !sim.network.reachable(from, to)));
  probe(1_500, "partitioned", cut);
  probe(2_200, "healed", () => !cut());
  probe(3_000, "killed", () => !sim.node(targetOf(1)).up);
  probe(4_000 + 3_000, "restarted", () => sim.node(targetOf(1)).up);
  probe(4_500, "paused", () => sim.node(targetOf(2)).paused);
  probe(5_200, "resumed", () => !sim.node(targetOf(2)).paused);
  probe(6_000, "skewed", () => sim.node(targetOf(3)).clock.offsetNs === 700_000_000n);
  probe(6_700, "corrected", () => sim.node(targetOf(3)).clock.offsetNs === 0n);
  probe(9_000, "lossy", () => sim.network.defaultLink.dropRate === 0.5);
  probe(9_700, "reliable", () => sim.network.defaultLink.dropRate === 0);
  probe(10_500, "zombie paused", () => sim.node(targetOf(6)).paused);
  await sim.run(harness.scenario.durationMs);
  assert.deepEqual(
    Object.entries(seen).filter(([, ok]) => !ok).map(([name]) => name),
    [],
    "every probe saw its fault (or its repair)",
  );
  const phases = harness.history.ofType("nemesis").map((event) =>
    `${event.nemesis}:${event.phase}`
  );
  for (let index = 0; index < 9; index++) {
    assert.ok(phases.includes(`${index}:start`), `${index} fired`);
  }
  const epochs = harness.history.ofType("log").filter((event) =>
    event.op === "epoch" && event.outcome === "ok"
  );
  assert.ok(epochs.length >= 1, "the epoch advanced");
  const stats = sim.network.stats;
  assert.ok(stats.droppedByPartition > 0 && stats.droppedByLoss > 0 && stats.duplicated > 0);
});

Deno.test("the whole run with every fault holds every property", async () => {
  const result = await runSwarmSimulation({ scenario: everyFault(), seed: 7 });
  const failed = result.checks.filter((check) => check.status === "fail");
  assert.deepEqual(failed.map((check) => `${check.id}: ${check.violations[0].message}`), []);
  assert.equal(result.checks.find((check) => check.id === "N")?.checked, 9);
});

Deno.test("a node fault whose only candidate is under another fault still acts on it", async () => {
  const base = everyFault();
  const scenario = {
    ...base,
    roles: { ...base.roles, requesters: 1 },
    nemeses: [
      {
        kind: "clock-skew" as const,
        atMs: 2_000,
        durationMs: 4_000,
        offsetMs: 700,
        driftPpm: 0,
        target: "requester" as const,
      },
      {
        kind: "kill-restart" as const,
        atMs: 3_000,
        durationMs: 1_000,
        target: "requester" as const,
      },
    ],
  };
  const result = await runSwarmSimulation({ scenario: withDuration(scenario), seed: 3 });
  const failed = result.checks.filter((check) => check.status === "fail");
  assert.deepEqual(failed.map((check) => `${check.id}: ${check.violations[0].message}`), []);
  const starts = result.history.ofType("nemesis").filter((event) => event.phase === "start");
  assert.equal(starts.length, 2);
  assert.deepEqual(starts[1].nodes, starts[0].nodes, "the skewed requester is the one killed");
});

Deno.test("a fault with nothing to act on is a violation, not a silent no-op", async () => {
  const base = everyFault();
  const scenario = {
    ...base,
    roles: { ...base.roles, deciders: 1 },
    nemeses: [{ kind: "failover" as const, atMs: 2_000, durationMs: 1_000 }],
  };
  const result = await runSwarmSimulation({ scenario: withDuration(scenario), seed: 3 });
  const fired = result.checks.find((check) => check.id === "N");
  assert.equal(fired?.status, "fail");
  assert.match(
    fired?.violations[0].message ?? "",
    /did nothing: failover needs a decider with buckets/,
  );
});

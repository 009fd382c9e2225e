// Proves swarm testing draws valid scenarios from any seed, the same ones for the same seed, that overrides and load scaling keep faults in place relative to the load, and that bad scenarios are refused with typed errors.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  castNodes,
  checkSwarmScenario,
  nodesNeededFor,
  overrideScenario,
  randomizeScenario,
  scaleLoad,
  SWARM_PRESETS,
  SwarmScenarioError,
} from "../../../sim/swarm/mod.ts";
import { NemesisSpecError } from "../../../sim/swarm/nemesis_spec.ts";

Deno.test("random knobs give a valid scenario for every seed and preset, the same one per seed", () => {
  fc.assert(
    fc.property(fc.integer(), fc.constantFrom(...Object.keys(SWARM_PRESETS)), (seed, preset) => {
      const drawn = randomizeScenario(SWARM_PRESETS[preset], seed);
      checkSwarmScenario(drawn);
      assert.deepEqual(randomizeScenario(SWARM_PRESETS[preset], seed), drawn);
      assert.equal(drawn.nemeses.length, SWARM_PRESETS[preset].nemeses.length);
      const byRole = castNodes(drawn);
      assert.equal(byRole.filter((plan) => plan.decider).length, drawn.roles.deciders);
      assert.equal(
        byRole.filter((plan) => plan.approveEverything).length,
        drawn.byzantine.approveEverything,
      );
      if (drawn.nemeses.some((nemesis) => nemesis.kind === "failover")) {
        assert.ok(drawn.roles.deciders >= 2, "a failover needs a second decider");
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("different seeds draw different knobs", () => {
  const drawn = new Set(
    Array.from(
      { length: 20 },
      (_, seed) => JSON.stringify(randomizeScenario(SWARM_PRESETS.mixed, seed)),
    ),
  );
  assert.ok(drawn.size >= 15, `${drawn.size} distinct scenarios from 20 seeds`);
});

Deno.test("scaling the load moves faults with it and keeps the drain for the liveness bound", () => {
  const base = SWARM_PRESETS["partition-cp"];
  const half = scaleLoad(base, { loadMs: base.load.loadMs / 2 });
  const start = base.load.startMs;
  base.nemeses.forEach((nemesis, index) => {
    const moved = half.nemeses[index];
    assert.ok(Math.abs((moved.atMs - start) - (nemesis.atMs - start) / 2) <= 1, `nemesis ${index}`);
  });
  const lastMs = Math.max(
    ...half.nemeses.map((n) => n.atMs + ("durationMs" in n ? n.durationMs : 0)),
    half.load.startMs + half.load.loadMs,
  );
  assert.ok(half.durationMs >= lastMs + half.livenessBoundMs, "the run lasts past the bound");
});

Deno.test("overrides change nodes, rate, mode, faults and mutations, and nothing else", () => {
  const base = SWARM_PRESETS.crashes;
  const changed = overrideScenario(base, {
    nodes: 5,
    needsPerSecond: 9,
    mode: "ap",
    nemeses: [0, 2],
    mutation: "lease-check-off",
  });
  assert.equal(changed.nodes, 5);
  assert.equal(changed.roles.verifiers, 5, "every node verifies, as in the preset");
  assert.equal(changed.load.needsPerSecond, 9);
  assert.equal(changed.mode, "ap");
  assert.deepEqual(changed.nemeses, [base.nemeses[0], base.nemeses[2]]);
  assert.deepEqual(changed.mutations, { leaseCheckOff: true });
  assert.equal(changed.load.shapes, base.load.shapes);
});

Deno.test("a bad scenario or nemesis is refused with a typed error naming the value", () => {
  const base = SWARM_PRESETS.steady;
  const cases: [unknown, RegExp][] = [
    [{ ...base, nodes: 0 }, /nodes must be an integer in \[1/],
    [
      { ...base, roles: { ...base.roles, deciders: 99 } },
      /roles.deciders must be an integer in \[1, 7\], got 99/,
    ],
    [{ ...base, mode: "ca" }, /mode must be cp or ap, got ca/],
    [
      { ...base, load: { ...base.load, needsPerSecond: -1 } },
      /needsPerSecond must be in \(0, 10000\]/,
    ],
    [
      { ...base, load: { ...base.load, shapes: [{ ...base.load.shapes[0], op: "mine-bitcoin" }] } },
      /op mine-bitcoin is unknown/,
    ],
    [
      { ...base, byzantine: { ...base.byzantine, approveEverything: 9 } },
      /9 approve-everything verifiers but only 7/,
    ],
  ];
  for (const [scenario, message] of cases) {
    assert.throws(() => checkSwarmScenario(scenario as never), (error: Error) => {
      assert.ok(error instanceof SwarmScenarioError);
      assert.match(error.message, message);
      return true;
    });
  }
  const badNemeses: [unknown, RegExp][] = [
    [
      { kind: "partition", atMs: 10, durationMs: 10, shape: "donut" },
      /Partition shape must be one of/,
    ],
    [{
      kind: "flaky-links",
      atMs: 10,
      durationMs: 10,
      dropRate: 0,
      duplicateRate: 0,
      reorderRate: 0,
    }, /silent no-op/],
    [
      { kind: "pause", atMs: 10, durationMs: 10_000_000, target: "any" },
      /must end before the run does/,
    ],
  ];
  for (const [nemesis, message] of badNemeses) {
    assert.throws(
      () => checkSwarmScenario({ ...base, nemeses: [nemesis as never] }),
      (error: Error) => error instanceof NemesisSpecError && message.test(error.message),
    );
  }
});

Deno.test("a fault aimed at a decider or a requester always finds one free: they cover the faults overlapping it", () => {
  const pause = { kind: "pause", atMs: 9_000, durationMs: 1_500, target: "decider" } as const;
  const skew = {
    kind: "clock-skew",
    atMs: 8_000,
    durationMs: 1_500,
    offsetMs: -800,
    driftPpm: -100,
    target: "worker",
  } as const;
  const kill = { kind: "kill-restart", atMs: 1_000, durationMs: 1_000, target: "any" } as const;
  assert.equal(nodesNeededFor("decider", [kill]), 1);
  assert.equal(
    nodesNeededFor("decider", [kill, pause]),
    1,
    "a fault that is over by then takes nobody",
  );
  assert.equal(
    nodesNeededFor("decider", [kill, pause, skew]),
    2,
    "the skewed node may be the only decider",
  );
  const failover = { kind: "failover", atMs: 4_000, durationMs: 3_000 } as const;
  assert.equal(nodesNeededFor("decider", [failover]), 2);
  assert.equal(
    nodesNeededFor("decider", [failover, { ...failover, atMs: 6_000 }]),
    3,
    "a failover while another one's decider is still paused needs a third decider",
  );
  assert.equal(nodesNeededFor("decider", [failover, { ...failover, atMs: 8_000 }]), 2);
  assert.equal(nodesNeededFor("decider", [failover, { ...pause, atMs: 5_000 }]), 3);
  // Crashes seed 3325: a requester skewed, another paused, then a kill aimed at a requester.
  const killRequester = { ...kill, atMs: 9_000, target: "requester" } as const;
  assert.equal(nodesNeededFor("requester", [killRequester, skew, { ...pause, atMs: 9_200 }]), 3);
  assert.equal(nodesNeededFor("requester", [failover]), 1, "a failover takes no requester");
  fc.assert(
    fc.property(fc.integer(), fc.constantFrom(...Object.keys(SWARM_PRESETS)), (seed, preset) => {
      const drawn = randomizeScenario(SWARM_PRESETS[preset], seed);
      for (
        const [role, count] of [["decider", drawn.roles.deciders], [
          "requester",
          drawn.roles.requesters,
        ]] as const
      ) {
        assert.ok(count >= Math.min(drawn.nodes, nodesNeededFor(role, drawn.nemeses)), role);
      }
    }),
  );
});

Deno.test("a swarm shrunk by --nodes keeps an honest worker and verifier, and the deciders its faults need", () => {
  for (const nodes of [1, 2, 3, 5]) {
    for (const preset of ["byzantine", "failover", "mixed"]) {
      for (const seed of [4900, 4901, 4902]) {
        const scenario = overrideScenario(randomizeScenario(SWARM_PRESETS[preset], seed), {
          nodes,
        });
        const { roles, byzantine } = checkSwarmScenario(scenario);
        const where = `${preset} seed ${seed}, ${nodes} nodes`;
        assert.ok(roles.workers > byzantine.wrongOutput, `${where}: an honest worker`);
        assert.ok(roles.verifiers > byzantine.approveEverything, `${where}: an honest verifier`);
        assert.ok(byzantine.frivolousChallengers <= roles.challengers, where);
        assert.ok(
          roles.deciders >= Math.min(nodes, nodesNeededFor("decider", scenario.nemeses)),
          `${where}: deciders for the faults`,
        );
      }
    }
  }
});

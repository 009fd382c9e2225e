// Proves the checkers bite: with a broken quorum rule, fencing off, or lease checks off, the matching property fails within a few seeds, while the same runs without the mutation hold.
import assert from "node:assert/strict";
import { type MutationName, runSwarmSimulation, scenarioOf } from "../../../sim/swarm/mod.ts";

/** Seeds a mutation gets to be caught in (a checker that needs more is too weak). */
const SEEDS_MAX = 3;

async function caughtWithin(preset: string, mutation: MutationName, property: string) {
  const overrides = { loadMs: 4_000, needsPerSecond: 3 };
  for (let seed = 1; seed <= SEEDS_MAX; seed++) {
    const broken = await runSwarmSimulation({
      scenario: scenarioOf({
        scenario: preset,
        seed,
        knobs: "preset",
        overrides: { ...overrides, mutation },
      }),
      seed,
    });
    const check = broken.checks.find((each) => each.id === property);
    if (check?.status !== "fail") continue;
    console.log(`${mutation}: ${property} caught at seed ${seed}: ${check.violations[0].message}`);
    const sound = await runSwarmSimulation({
      scenario: scenarioOf({ scenario: preset, seed, knobs: "preset", overrides }),
      seed,
    });
    assert.equal(
      sound.checks.find((each) => each.id === property)?.status,
      "pass",
      `${property} holds without the mutation (seed ${seed})`,
    );
    return;
  }
  assert.fail(`${property} missed the ${mutation} mutation in ${SEEDS_MAX} seeds`);
}

Deno.test("P6 catches a quorum rule one vote short", async () => {
  await caughtWithin("steady", "quorum-one-short", "P6");
});

Deno.test("P4 catches the decide log and the nodes accepting stale fences (a zombie decider)", async () => {
  await caughtWithin("failover", "fencing-off", "P4");
});

Deno.test("P5 catches the lease checks turned off (two workers on one task)", async () => {
  await caughtWithin("steady", "lease-check-off", "P5");
});

// Proves failure reports carry the replay command and the smallest window, the HTML report is self-contained, shrinking finds a smaller run that still fails, byzantine agents are refused, and sharing signature verdicts between simulated nodes changes nothing but speed.
import assert from "node:assert/strict";
import {
  percentile,
  renderFailures,
  renderHtmlReport,
  replayCommand,
  type RunRecipe,
  runSwarmSimulation,
  scenarioOf,
  shrinkFailure,
} from "../../../sim/swarm/mod.ts";

const SHORT = { loadMs: 3_000, needsPerSecond: 3 };

Deno.test("the replay command names every knob that shaped the run", () => {
  assert.equal(
    replayCommand({ scenario: "steady", seed: 4, knobs: "preset" }),
    "deno task sim --scenario steady --seed 4",
  );
  assert.equal(
    replayCommand({
      scenario: "mixed",
      seed: -9,
      knobs: "random",
      overrides: {
        nodes: 5,
        needsPerSecond: 2,
        loadMs: 4_000,
        mode: "ap",
        nemeses: [],
        mutation: "fencing-off",
      },
    }),
    "deno task sim --scenario mixed --seed -9 --knobs random --nodes 5 --rate 2 --load 4000ms " +
      "--mode ap --nemeses none --mutation fencing-off",
  );
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile([], 99), 0);
});

Deno.test("a failing run reports its window and replay command; shrinking keeps the failure smaller", async () => {
  const recipe: RunRecipe = {
    scenario: "steady",
    seed: 2,
    knobs: "preset",
    overrides: { loadMs: 4_000, needsPerSecond: 4, mutation: "quorum-one-short" },
  };
  const failed = await runSwarmSimulation({ scenario: scenarioOf(recipe), seed: recipe.seed });
  assert.equal(failed.ok, false);
  const text = renderFailures(failed, recipe);
  assert.match(text, /FAIL P6 quorum validity/);
  assert.match(text, /smallest window \(NEED node-\d+-/);
  assert.match(
    text,
    /replay: deno task sim --scenario steady --seed 2 --rate 4 --load 4000ms --mutation quorum-one-short/,
  );
  const shrunk = await shrinkFailure(recipe, failed, { runsMax: 6 });
  const smaller = scenarioOf(shrunk.recipe);
  assert.ok(shrunk.runs >= 1 && shrunk.runs <= 6);
  assert.ok(
    smaller.load.loadMs < 4_000 || smaller.nodes < 7 || smaller.load.needsPerSecond < 4,
    "some knob went down",
  );
  assert.equal(shrunk.result.checks.find((check) => check.id === "P6")?.status, "fail");
  assert.ok(shrunk.result.needs.posted <= failed.needs.posted);
});

Deno.test("the HTML report is one self-contained page with lanes, faults, latencies and checks", async () => {
  const recipe: RunRecipe = {
    scenario: "partition-cp",
    seed: 3,
    knobs: "preset",
    overrides: SHORT,
  };
  const result = await runSwarmSimulation({ scenario: scenarioOf(recipe), seed: recipe.seed });
  const html = renderHtmlReport(result, recipe);
  assert.match(
    html,
    /<h1>partition-cp · seed 3 · <span class="ok">all properties hold<\/span><\/h1>/,
  );
  assert.match(html, new RegExp(result.traceHash));
  assert.match(html, /deno task sim --scenario partition-cp --seed 3 --rate 3 --load 3000ms/);
  for (const plan of result.plans) assert.match(html, new RegExp(`class="lane">${plan.id}<`));
  assert.match(html, /<rect [^>]*class="fault wide"><title>#0 partition/);
  assert.match(html, /class="decide"/);
  assert.match(html, /class="final"/);
  assert.match(html, /\d+ NEEDs · p50 \d+ ms · p90 \d+ ms · p99 \d+ ms/);
  assert.doesNotMatch(html, /<script|<link|<img|https?:\/\//);
});

Deno.test("byzantine agents are refused: the spammer's forgeries never count, wrong results never finalize", async () => {
  const recipe: RunRecipe = { scenario: "byzantine", seed: 5, knobs: "preset", overrides: SHORT };
  // Every result audited: at the preset's half share, which wrong results slip through (approved
  // by an approve-everything committee, never re-run) depends on the seed's draws.
  const scenario = { ...scenarioOf(recipe), auditShare: 1 };
  const result = await runSwarmSimulation({ scenario, seed: recipe.seed });
  assert.deepEqual(
    result.checks.filter((check) => check.status === "fail").map((check) => check.id),
    [],
  );
  for (const attack of ["junk", "replay", "vote", "decide"]) {
    assert.ok((result.spammer[attack] ?? 0) > 0, `the spammer sent ${attack}`);
  }
  const spammerDecides = result.history.ofType("accepted").filter((event) =>
    event.message.kind === "DECIDE" && event.message.sender.length > 0 &&
    result.history.nodeOf(event.message.sender).startsWith("spammer")
  );
  assert.equal(spammerDecides.length, 0, "no forged DECIDE was accepted anywhere");
  assert.match(
    result.checks.find((check) => check.id === "P3")?.note ?? "",
    /; 0 invalid results finalized unchallenged$/,
  );
});

Deno.test("sharing signature verdicts between simulated nodes leaves the trace unchanged", async () => {
  const scenario = scenarioOf({
    scenario: "byzantine",
    seed: 8,
    knobs: "preset",
    overrides: SHORT,
  });
  const shared = await runSwarmSimulation({ scenario, seed: 8 });
  const alone = await runSwarmSimulation({ scenario, seed: 8, shareVerification: false });
  assert.equal(shared.traceHash, alone.traceHash);
});

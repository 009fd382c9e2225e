/**
 * Running a list of swarm simulation recipes for `sim` and `chaos`: the
 * flags they share, a progress bar when there are many, a block per run
 * (or a JSON line), the failure windows with their replay command, an
 * optional shrink of the first failure, and the HTML report.
 *
 * @module
 */

import {
  percentile,
  renderFailures,
  renderHtmlReport,
  renderRun,
  replayCommand,
  type RunRecipe,
  runSwarmSimulation,
  scenarioOf,
  type ScenarioOverrides,
  shrinkFailure,
  type SwarmRunResult,
} from "../sim/swarm/mod.ts";
import type { FlagSpec } from "./args.ts";
import { ProgressBar } from "./progress.ts";

/** Flags `sim` and `chaos` share. */
export const SIM_RUN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  knobs: {
    type: "string",
    value: "MODE",
    description: "preset: the scenario as written; random: the seed also draws its knobs " +
      "(default: random when running several seeds)",
  },
  nodes: { type: "string", value: "N", description: "Override the number of nodes" },
  rate: { type: "string", value: "R", description: "Override the load in NEEDs per second" },
  load: {
    type: "string",
    value: "D",
    description: "Override the length of the load (faults move with it)",
  },
  duration: { type: "string", value: "D", description: "Override the total virtual time of a run" },
  mode: { type: "string", value: "cp|ap", description: "Override the decide mode" },
  nemeses: {
    type: "string",
    value: "LIST",
    description: "Keep only these faults of the schedule (indices, or 'none')",
  },
  buggify: { type: "boolean", description: "Enable BUGGIFY fault points" },
  mutation: {
    type: "string",
    value: "NAME",
    description: "Break one protocol rule to see the checkers catch it: " +
      "quorum-one-short, fencing-off, lease-check-off",
  },
  repeat: { type: "boolean", description: "Run each seed twice and require the same trace hash" },
  shrink: {
    type: "boolean",
    description: "Shrink the first failing run (fewer needs, nodes, faults)",
  },
  report: {
    type: "string",
    value: "FILE",
    description: "Write an HTML report (first failure, else last run)",
  },
  json: { type: "boolean", description: "Print one JSON object per run" },
};

/** How to run recipes. */
export interface RunRecipesOptions {
  readonly json: boolean;
  readonly repeat: boolean;
  readonly shrink: boolean;
  readonly report?: string;
  readonly onTraceLine?: (line: string) => void;
  /** Shown before each run's line in compact mode (chaos). */
  readonly compact?: boolean;
}

/** What running the recipes came to. */
export interface RunRecipesOutcome {
  readonly runs: number;
  readonly failed: number;
}

/** Runs every recipe; prints as it goes; resolves with the number of failed runs. */
export async function runRecipes(
  recipes: readonly RunRecipe[],
  options: RunRecipesOptions,
): Promise<RunRecipesOutcome> {
  const progress = recipes.length > 1
    ? new ProgressBar(recipes.length, options.json, "ok")
    : undefined;
  let failed = 0;
  let firstFailure: { result: SwarmRunResult; recipe: RunRecipe } | undefined;
  let last: { result: SwarmRunResult; recipe: RunRecipe } | undefined;
  for (const recipe of recipes) {
    const result = await runSwarmSimulation({
      scenario: scenarioOf(recipe),
      seed: recipe.seed,
      repeat: options.repeat,
      onTraceLine: options.onTraceLine,
    });
    progress?.tick(result.ok);
    if (!result.ok) failed++;
    print(result, recipe, options);
    last = { result, recipe };
    if (result.ok || firstFailure !== undefined) continue;
    firstFailure = { result, recipe };
    if (options.shrink) await shrink(result, recipe);
  }
  progress?.done();
  const reported = firstFailure ?? last;
  if (options.report !== undefined && reported !== undefined) {
    await Deno.writeTextFile(options.report, renderHtmlReport(reported.result, reported.recipe));
    if (!options.json) console.log(`report: ${options.report}`);
  }
  return { runs: recipes.length, failed };
}

function print(result: SwarmRunResult, recipe: RunRecipe, options: RunRecipesOptions): void {
  if (options.json) return console.log(JSON.stringify(summary(result, recipe)));
  if (options.compact) {
    const bad = result.checks.filter((check) => check.status === "fail").map((check) => check.id);
    console.log(
      `${recipe.scenario.padEnd(13)} seed ${String(recipe.seed).padEnd(6)} ` +
        `${result.ok ? "ok  " : "FAIL"} trace ${result.traceHash.slice(0, 16)} · ` +
        `${result.needs.final}/${result.needs.posted} final · ${result.events} events` +
        (bad.length > 0 ? ` · violated ${bad.join(", ")}` : ""),
    );
  } else {
    console.log(renderRun(result, recipe));
  }
  if (!result.ok) console.log(renderFailures(result, recipe));
}

async function shrink(result: SwarmRunResult, recipe: RunRecipe): Promise<void> {
  console.log("shrinking the failure (re-running with fewer needs, nodes and faults)...");
  const smallest = await shrinkFailure(recipe, result);
  console.log(`smallest failing run after ${smallest.runs} runs:`);
  console.log(renderRun(smallest.result, smallest.recipe));
  console.log(renderFailures(smallest.result, smallest.recipe, 1));
}

/** The JSON line of a run. */
export function summary(result: SwarmRunResult, recipe: RunRecipe): Record<string, unknown> {
  return {
    seed: result.seed,
    scenario: recipe.scenario,
    knobs: recipe.knobs,
    overrides: recipe.overrides as ScenarioOverrides | undefined,
    traceHash: result.traceHash,
    ok: result.ok,
    needs: result.needs,
    latencyMsP50: percentile(result.latenciesMs, 50),
    latencyMsP99: percentile(result.latenciesMs, 99),
    checks: result.checks.map((check) => ({
      id: check.id,
      status: check.status,
      checked: check.checked,
      violations: check.violationCount,
      note: check.note,
    })),
    events: result.events,
    virtualMs: result.virtualMs,
    wallMs: Math.round(result.wallMs),
    replay: replayCommand(recipe),
  };
}

/**
 * Shrinking a failing run: re-run the same seed with a shorter load, a
 * lower rate, fewer nodes and fewer faults, keeping each change while the
 * same property still fails, so the report ends with the smallest recipe
 * found (within a bounded number of runs). Changing a knob changes what the
 * seed draws, so this is a search, not a guarantee.
 *
 * @module
 */

import type { ScenarioOverrides } from "./knobs.ts";
import { scenarioOf } from "./recipe.ts";
import type { RunRecipe } from "./report_text.ts";
import { runSwarmSimulation, type SwarmRunResult } from "./run.ts";

/** Options of {@linkcode shrinkFailure}. */
export interface ShrinkOptions {
  /** Most runs the search may make. Default 24. */
  readonly runsMax?: number;
  /** Told about each attempt (for progress output). */
  readonly onAttempt?: (recipe: RunRecipe, stillFails: boolean) => void;
}

/** The smallest failing recipe found, and its run. */
export interface ShrinkResult {
  readonly recipe: RunRecipe;
  readonly result: SwarmRunResult;
  readonly runs: number;
}

/**
 * Shrinks a failed run while one of the properties that failed (`failed`,
 * by checker id) keeps failing.
 */
export async function shrinkFailure(
  recipe: RunRecipe,
  failed: SwarmRunResult,
  options: ShrinkOptions = {},
): Promise<ShrinkResult> {
  const runsMax = options.runsMax ?? 24;
  const target = new Set(failed.checks.filter((c) => c.status === "fail").map((c) => c.id));
  let best: ShrinkResult = { recipe, result: failed, runs: 0 };
  let runs = 0;
  const attempt = async (overrides: ScenarioOverrides): Promise<boolean> => {
    if (runs >= runsMax) return false;
    runs++;
    const candidate: RunRecipe = {
      ...best.recipe,
      overrides: { ...best.recipe.overrides, ...overrides },
    };
    const result = await runSwarmSimulation({
      scenario: scenarioOf(candidate),
      seed: candidate.seed,
    });
    const fails = result.checks.some((check) => check.status === "fail" && target.has(check.id));
    options.onAttempt?.(candidate, fails);
    if (fails) best = { recipe: candidate, result, runs };
    return fails;
  };
  for (const step of shrinkSteps()) {
    while (runs < runsMax) {
      const next = step(scenarioOf(best.recipe));
      if (next === undefined || !(await attempt(next))) break;
    }
  }
  // Then drop faults one at a time, last first (late faults rarely cause early failures).
  const all = scenarioOf({
    ...best.recipe,
    overrides: { ...best.recipe.overrides, nemeses: undefined },
  });
  let kept = best.recipe.overrides?.nemeses ?? all.nemeses.map((_, index) => index);
  for (let position = kept.length - 1; position >= 0 && runs < runsMax; position--) {
    const without = kept.filter((_, index) => index !== position);
    if (await attempt({ nemeses: without })) kept = without;
  }
  return { ...best, runs };
}

type Step = (scenario: ReturnType<typeof scenarioOf>) => ScenarioOverrides | undefined;

/** Shrinking moves, tried in order, each repeated while it keeps the failure. */
function shrinkSteps(): Step[] {
  return [
    (scenario) =>
      scenario.load.loadMs >= 2_000 ? { loadMs: Math.round(scenario.load.loadMs / 2) } : undefined,
    (scenario) =>
      scenario.load.needsPerSecond >= 1
        ? { needsPerSecond: Math.round(scenario.load.needsPerSecond * 5) / 10 }
        : undefined,
    (scenario) => {
      const minimum = Math.max(
        3,
        scenario.byzantine.approveEverything + 2,
        scenario.byzantine.wrongOutput + 2,
      );
      return scenario.nodes > minimum ? { nodes: scenario.nodes - 1 } : undefined;
    },
  ];
}

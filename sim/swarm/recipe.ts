/**
 * From a recipe (preset name, seed, knobs, overrides) to the scenario it
 * stands for: the one place that does it, so the CLI, chaos, shrinking and
 * the replay command always agree.
 *
 * @module
 */

import { overrideScenario, randomizeScenario } from "./knobs.ts";
import { SWARM_PRESETS } from "./presets.ts";
import type { RunRecipe } from "./report_text.ts";
import { type SwarmScenario, SwarmScenarioError } from "./scenario.ts";

/** The scenario of a recipe; throws {@linkcode SwarmScenarioError} for an unknown preset. */
export function scenarioOf(recipe: RunRecipe): SwarmScenario {
  const preset = SWARM_PRESETS[recipe.scenario];
  if (preset === undefined) {
    throw new SwarmScenarioError(
      `Unknown scenario ${recipe.scenario}; known: ${Object.keys(SWARM_PRESETS).join(", ")}`,
    );
  }
  const drawn = recipe.knobs === "random" ? randomizeScenario(preset, recipe.seed) : preset;
  return recipe.overrides === undefined ? drawn : overrideScenario(drawn, recipe.overrides);
}

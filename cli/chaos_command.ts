/**
 * `can-swarm chaos`: the nemesis suite. Runs every fault-family preset over
 * many seeds (each seed also drawing its scenario's knobs), checks every
 * property of every run, prints one line per run and, for a violation, its
 * smallest trace window and replay command; exits 1 on any violation.
 *
 * @module
 */

import { CHAOS_PRESETS, type RunRecipe, scenarioOf, SWARM_PRESETS } from "../sim/swarm/mod.ts";
import { type CommandSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";
import { runRecipes, SIM_RUN_FLAGS } from "./_sim_runs.ts";
import { runOptionsOf } from "./sim_command.ts";

/** Flags of `chaos`. */
export const CHAOS_SPEC: CommandSpec = {
  name: "chaos",
  summary: "Run the nemesis suite over many seeds; exit 1 if any property is violated.",
  flags: {
    seed: { type: "string", value: "N", description: "First seed", default: "1" },
    seeds: { type: "string", value: "N", description: "Seeds per preset", default: "5" },
    presets: {
      type: "string",
      value: "LIST",
      description: `Comma-separated presets (default: ${CHAOS_PRESETS.join(",")})`,
    },
    ...SIM_RUN_FLAGS,
  },
  notes:
    "Faults: partitions (halves, majority/minority, bridge, isolate-one), kills and restarts,\n" +
    "pauses, clock skew and drift, loss, duplication, reordering, slow links, zombie deciders,\n" +
    "epoch advances, byzantine agents, BUGGIFY. Each failure prints its replay command.",
};

/** Runs `chaos`; resolves with the exit code (1 on any violation). */
export async function chaosCommand(flags: ParsedFlags): Promise<number> {
  const first = integerFlag(flags, "seed", 1, -2147483648, 2147483647);
  const seeds = integerFlag(flags, "seeds", 5, 1, 100_000);
  const presets = flags.presets === undefined
    ? [...CHAOS_PRESETS]
    : String(flags.presets).split(",");
  for (const preset of presets) {
    if (!(preset in SWARM_PRESETS)) {
      throw new UsageError(
        `--presets names unknown preset '${preset}'; known: ${
          Object.keys(SWARM_PRESETS).join(", ")
        }`,
      );
    }
  }
  const options = runOptionsOf({ knobs: "random", ...flags }, seeds + 1);
  const recipes: RunRecipe[] = [];
  for (let seed = first; seed < first + seeds; seed++) {
    for (const scenario of presets) {
      recipes.push({ scenario, seed, knobs: options.knobs, overrides: options.overrides });
    }
  }
  for (const recipe of recipes) scenarioOf(recipe);
  const outcome = await runRecipes(recipes, { ...options, compact: true });
  if (!options.json) {
    console.log(
      outcome.failed === 0
        ? `all ${outcome.runs} runs (${presets.length} presets × ${seeds} seeds) held every property`
        : `${outcome.failed} of ${outcome.runs} runs violated a property`,
    );
  }
  return outcome.failed === 0 ? 0 : 1;
}

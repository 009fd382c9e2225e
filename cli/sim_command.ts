/**
 * `can-swarm sim`: runs a scenario on the deterministic simulator — a whole
 * swarm of protocol nodes under load and nemeses — checks every property
 * against the history, and prints each seed with its scenario and trace
 * hash. The same seed (and flags) always gives the same hash; a failing
 * property prints its smallest trace window and the command that replays
 * it. The legacy chatter workload stays available as `--scenario chatter`.
 *
 * @module
 */

import {
  type ChatterSimulationResult,
  runChatterSimulation,
} from "../sim/scenarios/run_chatter.ts";
import {
  type MutationName,
  MUTATIONS,
  type RunRecipe,
  scenarioOf,
  type ScenarioOverrides,
  SWARM_PRESETS,
} from "../sim/swarm/mod.ts";
import { choiceFlag, type CommandSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";
import { runRecipes, type RunRecipesOptions, SIM_RUN_FLAGS } from "./_sim_runs.ts";

/** Scenarios `sim` knows: every swarm preset, and the chatter workload. */
export const SIM_SCENARIOS = [...Object.keys(SWARM_PRESETS), "chatter"] as const;

/** Flags of `sim`. */
export const SIM_SPEC: CommandSpec = {
  name: "sim",
  summary:
    "Run a swarm scenario on the deterministic simulator, check its properties, print its trace hash.",
  flags: {
    seed: { type: "string", value: "N", description: "Seed of the (first) run", default: "1" },
    seeds: {
      type: "string",
      value: "N",
      description:
        "Run N consecutive seeds starting at --seed (swarm testing: knobs vary per seed)",
      default: "1",
    },
    scenario: {
      type: "string",
      value: "NAME",
      description: `Scenario: ${SIM_SCENARIOS.join(", ")}`,
      default: "steady",
    },
    ...SIM_RUN_FLAGS,
    trace: { type: "boolean", description: "Print every trace line (one seed only)" },
  },
  notes: [
    "Reproduce any run exactly with the replay command it prints (same --seed, --scenario, --knobs",
    "and overrides). Durations take ms, s or m (e.g. 90s). Exit code 1 when a property fails.",
  ].join("\n"),
};

/** Runs `sim`; resolves with the exit code. */
export async function simCommand(flags: ParsedFlags): Promise<number> {
  const seed = integerFlag(flags, "seed", 1, -2147483648, 2147483647);
  const seeds = integerFlag(flags, "seeds", 1, 1, 1_000_000);
  const scenario = choiceFlag(flags, "scenario", SIM_SCENARIOS, "steady");
  if (scenario === "chatter") return await chatter(flags, seed, seeds);
  const options = runOptionsOf(flags, seeds);
  const recipes: RunRecipe[] = [];
  for (let offset = 0; offset < seeds; offset++) {
    recipes.push({
      scenario,
      seed: seed + offset,
      knobs: options.knobs,
      overrides: options.overrides,
    });
  }
  for (const recipe of recipes) scenarioOf(recipe); // bad overrides fail before any run
  const onTraceLine = flags.trace && seeds === 1 ? (line: string) => console.log(line) : undefined;
  const { failed } = await runRecipes(recipes, { ...options, onTraceLine });
  return failed === 0 ? 0 : 1;
}

/** Options shared by `sim` and `chaos` from their flags. */
export function runOptionsOf(
  flags: ParsedFlags,
  seeds: number,
): RunRecipesOptions & { knobs: "preset" | "random"; overrides: ScenarioOverrides } {
  const knobs = choiceFlag(
    flags,
    "knobs",
    ["preset", "random"] as const,
    seeds > 1 ? "random" : "preset",
  );
  const overrides: ScenarioOverrides = {
    nodes: flags.nodes === undefined ? undefined : integerFlag(flags, "nodes", 7, 3, 64),
    needsPerSecond: flags.rate === undefined ? undefined : positiveNumber(flags, "rate", 1_000),
    loadMs: flags.load === undefined ? undefined : durationFlag(flags, "load"),
    mode: flags.mode === undefined
      ? undefined
      : choiceFlag(flags, "mode", ["cp", "ap"] as const, "cp"),
    buggify: flags.buggify === true ? true : undefined,
    durationMs: flags.duration === undefined ? undefined : durationFlag(flags, "duration"),
    nemeses: flags.nemeses === undefined ? undefined : nemesisList(String(flags.nemeses)),
    mutation: flags.mutation === undefined
      ? undefined
      : choiceFlag(flags, "mutation", Object.keys(MUTATIONS) as MutationName[], "fencing-off"),
  };
  return {
    knobs,
    overrides: Object.fromEntries(
      Object.entries(overrides).filter(([, value]) => value !== undefined),
    ) as ScenarioOverrides,
    json: flags.json === true,
    repeat: flags.repeat === true,
    shrink: flags.shrink === true,
    report: typeof flags.report === "string" ? flags.report : undefined,
  };
}

/** Parses a duration flag: `1500`, `1500ms`, `90s` or `2m`; whole milliseconds > 0. */
export function durationFlag(flags: ParsedFlags, name: string): number {
  const raw = String(flags[name]);
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  const scale = { ms: 1, s: 1_000, m: 60_000 };
  const value = match === null ? NaN : Number(match[1]) * scale[(match[2] ?? "ms") as "ms"];
  if (!Number.isFinite(value) || value < 1 || value > 86_400_000) {
    throw new UsageError(`--${name} must be a duration like 1500ms, 90s or 2m, got '${raw}'`);
  }
  return Math.round(value);
}

function positiveNumber(flags: ParsedFlags, name: string, max: number): number {
  const value = Number(flags[name]);
  if (!(Number.isFinite(value) && value > 0 && value <= max)) {
    throw new UsageError(`--${name} must be a number in (0, ${max}], got '${String(flags[name])}'`);
  }
  return value;
}

function nemesisList(raw: string): number[] {
  if (raw === "none") return [];
  const indices = raw.split(",").map((part) => Number(part.trim()));
  if (indices.some((index) => !Number.isInteger(index) || index < 0)) {
    throw new UsageError(
      `--nemeses must be comma-separated schedule indices or 'none', got '${raw}'`,
    );
  }
  return indices;
}

async function chatter(flags: ParsedFlags, seed: number, seeds: number): Promise<number> {
  const durationMs = flags.duration === undefined ? 60_000 : durationFlag(flags, "duration");
  const onTraceLine = flags.trace && seeds === 1 ? (line: string) => console.log(line) : undefined;
  for (let offset = 0; offset < seeds; offset++) {
    const result = await runChatterSimulation({
      seed: seed + offset,
      buggify: flags.buggify === true,
      durationMs,
      onTraceLine,
    });
    console.log(flags.json ? JSON.stringify(result) : renderChatter(result));
  }
  return 0;
}

/** One human-readable block per chatter seed. */
export function renderChatter(result: ChatterSimulationResult): string {
  const speed = result.wallMs > 0 ? Math.round(result.virtualMs / result.wallMs) : Infinity;
  const net = result.network;
  return [
    `seed ${result.seed}  trace ${result.traceHash}`,
    `  chatter: ${result.chattersReported}/${result.chatters} chatters finished · ${result.deliveries} deliveries · ${result.events} events · ${result.restarts} restarts`,
    `  network: sent ${net.sent} · delivered ${net.delivered} · lost to partition ${net.droppedByPartition} · lost ${net.droppedByLoss} · duplicated ${net.duplicated} · reordered ${net.reordered}`,
    `  time: ${(result.virtualMs / 1000).toFixed(2)} s virtual in ${
      (result.wallMs / 1000).toFixed(2)
    } s wall (${speed}×)`,
  ].join("\n");
}

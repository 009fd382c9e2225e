/**
 * `can-swarm sim`: deterministic replays. Runs the built-in scenario on the
 * simulator for one or more seeds and prints each seed with its trace hash;
 * the same seed always prints the same hash.
 *
 * @module
 */

import {
  type ChatterSimulationResult,
  runChatterSimulation,
} from "../sim/scenarios/run_chatter.ts";
import { choiceFlag, type CommandSpec, integerFlag, type ParsedFlags } from "./args.ts";

/** Scenarios `sim` knows. */
export const SIM_SCENARIOS = ["chatter"] as const;

/** Flags of `sim`. */
export const SIM_SPEC: CommandSpec = {
  name: "sim",
  summary: "Run a scenario on the deterministic simulator and print its seed and trace hash.",
  flags: {
    seed: { type: "string", value: "N", description: "Seed of the (first) run", default: "1" },
    seeds: {
      type: "string",
      value: "N",
      description: "Run N consecutive seeds starting at --seed",
      default: "1",
    },
    scenario: {
      type: "string",
      value: "NAME",
      description: `Scenario: ${SIM_SCENARIOS.join(", ")}`,
      default: "chatter",
    },
    "duration-ms": {
      type: "string",
      value: "MS",
      description: "Virtual time limit",
      default: "60000",
    },
    buggify: { type: "boolean", description: "Enable BUGGIFY fault points" },
    trace: { type: "boolean", description: "Print every trace line (one seed only)" },
    json: { type: "boolean", description: "Print one JSON object per seed" },
  },
  notes: "Reproduce any run exactly with the same --seed (and --buggify, if it was on).",
};

/** Runs `sim`; resolves with the exit code. */
export async function simCommand(flags: ParsedFlags): Promise<number> {
  const seed = integerFlag(flags, "seed", 1, -2147483648, 2147483647);
  const seeds = integerFlag(flags, "seeds", 1, 1, 1_000_000);
  choiceFlag(flags, "scenario", SIM_SCENARIOS, "chatter");
  const durationMs = integerFlag(flags, "duration-ms", 60_000, 1);
  const onTraceLine = flags.trace && seeds === 1 ? (line: string) => console.log(line) : undefined;
  for (let offset = 0; offset < seeds; offset++) {
    const result = await runChatterSimulation({
      seed: seed + offset,
      buggify: flags.buggify === true,
      durationMs,
      onTraceLine,
    });
    console.log(flags.json ? JSON.stringify(result) : renderResult(result));
  }
  return 0;
}

/** One human-readable block per seed. */
export function renderResult(result: ChatterSimulationResult): string {
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

/**
 * `can-swarm chaos`: nemesis runs. Each seed runs the scenario with BUGGIFY
 * on over a lossy, duplicating, reordering network with a partition, twice,
 * and fails when a seed does not replay to the same trace hash.
 *
 * @module
 */

import type { LinkOptions } from "../sim/network.ts";
import { runChatterSimulation } from "../sim/scenarios/run_chatter.ts";
import { type CommandSpec, integerFlag, type ParsedFlags } from "./args.ts";

/** The faulty link chaos runs use. */
export const CHAOS_LINK: Partial<LinkOptions> = {
  latencyMinMs: 1,
  latencyMaxMs: 50,
  dropRate: 0.01,
  duplicateRate: 0.01,
  reorderRate: 0.05,
};

/** Flags of `chaos`. */
export const CHAOS_SPEC: CommandSpec = {
  name: "chaos",
  summary: "Run nemesis simulations over many seeds and check that each replays exactly.",
  flags: {
    seed: { type: "string", value: "N", description: "First seed", default: "1" },
    seeds: { type: "string", value: "N", description: "Number of seeds", default: "20" },
    json: { type: "boolean", description: "Print one JSON object per seed" },
  },
  notes:
    "Faults: BUGGIFY crashes, 1% loss, 1% duplication, 5% reordering, 1-50 ms latency, a partition.",
};

/** Runs `chaos`; resolves with the exit code (1 on any non-reproducible seed). */
export async function chaosCommand(flags: ParsedFlags): Promise<number> {
  const first = integerFlag(flags, "seed", 1, -2147483648, 2147483647);
  const seeds = integerFlag(flags, "seeds", 20, 1, 1_000_000);
  let failures = 0;
  for (let seed = first; seed < first + seeds; seed++) {
    const options = { seed, buggify: true, link: CHAOS_LINK };
    const [once, again] = [
      await runChatterSimulation(options),
      await runChatterSimulation(options),
    ];
    const reproducible = once.traceHash === again.traceHash;
    if (!reproducible) failures++;
    const line = {
      seed,
      reproducible,
      traceHash: once.traceHash,
      deliveries: once.deliveries,
      restarts: once.restarts,
      lost: once.network.droppedByLoss + once.network.droppedByPartition,
      duplicated: once.network.duplicated,
      reordered: once.network.reordered,
    };
    console.log(
      flags.json
        ? JSON.stringify(line)
        : `seed ${seed} ${reproducible ? "ok  " : "DIFF"} trace ${line.traceHash.slice(0, 16)} · ` +
          `${line.deliveries} deliveries · ${line.restarts} restarts · ${line.lost} lost · ${line.duplicated} dup · ${line.reordered} reordered`,
    );
  }
  if (!flags.json) {
    console.log(
      failures === 0
        ? `all ${seeds} seeds replayed exactly`
        : `${failures} of ${seeds} seeds did not replay`,
    );
  }
  return failures === 0 ? 0 : 1;
}

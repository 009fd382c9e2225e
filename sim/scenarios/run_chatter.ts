/**
 * Runs the chatter scenario on the simulator and summarises it.
 *
 * @module
 */

import type { ChatterReport } from "../../actors/chatter.ts";
import { nsToMs } from "../../runtime/env.ts";
import type { LinkOptions, NetworkStats } from "../network.ts";
import type { RunSummary } from "../scheduler.ts";
import { Simulation } from "../simulation.ts";
import {
  bootChatterNode,
  CHATTER_DEFAULT,
  chatterNodeIds,
  type ChatterScenario,
  checkChatterScenario,
} from "./chatter.ts";

/** A faulty link for chatter runs under chaos: 1–50 ms, 1 % loss, 1 % duplication, 5 % reordering. */
export const CHATTER_CHAOS_LINK: Partial<LinkOptions> = {
  latencyMinMs: 1,
  latencyMaxMs: 50,
  dropRate: 0.01,
  duplicateRate: 0.01,
  reorderRate: 0.05,
};

/** Options of {@linkcode runChatterSimulation}. */
export interface ChatterSimulationOptions {
  readonly seed: number;
  readonly scenario?: ChatterScenario;
  /** Enables BUGGIFY fault points (chatters crash now and then). */
  readonly buggify?: boolean;
  /** The default link between nodes (latency, loss, duplication, reordering). */
  readonly link?: Partial<LinkOptions>;
  /** Virtual time limit. Default 60,000 ms. */
  readonly durationMs?: number;
  /** Receives every trace line (for `--trace`). */
  readonly onTraceLine?: (line: string) => void;
}

/** What a chatter simulation did. */
export interface ChatterSimulationResult {
  readonly seed: number;
  readonly traceHash: string;
  readonly traceLines: number;
  readonly events: number;
  readonly deliveries: number;
  readonly chattersReported: number;
  readonly chatters: number;
  /** Virtual time of the last event: how long the workload took. */
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly endReason: RunSummary["reason"];
  readonly network: NetworkStats;
  readonly restarts: number;
  readonly buggifyFired: Record<string, number>;
}

/**
 * Runs one seed of the chatter scenario.
 *
 * @example
 * ```ts
 * const { traceHash } = await runChatterSimulation({ seed: 42 });
 * ```
 */
export async function runChatterSimulation(
  options: ChatterSimulationOptions,
): Promise<ChatterSimulationResult> {
  const scenario = checkChatterScenario(options.scenario ?? CHATTER_DEFAULT);
  const simulation = new Simulation({
    seed: options.seed,
    buggify: options.buggify,
    link: options.link,
  });
  simulation.scheduler.trace.onLine = options.onTraceLine;
  const reports: ChatterReport[] = [];
  let restarts = 0;
  const nodeIds = chatterNodeIds(scenario);
  for (const nodeId of nodeIds) {
    simulation.addNode(nodeId, (system) => {
      system.events.subscribe((event) => {
        if (event.type === "actor-restarted") restarts++;
      });
      bootChatterNode(system, scenario, (report) => reports.push(report));
    });
  }
  if (scenario.partitionAtMs !== undefined) {
    const half = Math.ceil(nodeIds.length / 2);
    simulation.at(scenario.partitionAtMs, "nemesis", () => {
      simulation.partition([nodeIds.slice(0, half), nodeIds.slice(half)]);
    });
  }
  if (scenario.healAtMs !== undefined) {
    simulation.at(scenario.healAtMs, "nemesis", () => simulation.heal());
  }
  const started = performance.now();
  const summary = await simulation.run(options.durationMs ?? 60_000);
  const wallMs = performance.now() - started;
  return {
    seed: options.seed,
    traceHash: simulation.traceHash,
    traceLines: simulation.scheduler.trace.lineCount,
    events: summary.events,
    deliveries: simulation.scheduler.trace.deliveries,
    chattersReported: reports.length,
    chatters: scenario.nodes * scenario.actorsPerNode,
    virtualMs: nsToMs(summary.lastEventNs),
    wallMs,
    endReason: summary.reason,
    network: { ...simulation.network.stats },
    restarts,
    buggifyFired: Object.fromEntries(simulation.faults.fired),
  };
}

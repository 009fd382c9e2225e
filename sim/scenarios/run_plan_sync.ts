/**
 * Runs the plan-sync scenario on the simulator and reports whether every
 * replica converged to the same documents and views.
 *
 * @module
 */

import type { PlanStore } from "../../protocols/plan/plan_store.ts";
import type { PlanSyncPeers } from "../../protocols/plan/plan_sync.ts";
import type { LinkOptions, NetworkStats } from "../network.ts";
import { Simulation } from "../simulation.ts";
import {
  bootPlanNode,
  PLAN_SYNC_DEFAULT,
  planNodeIds,
  type PlanSyncScenario,
  type WriterLog,
} from "./plan_sync.ts";

/** Options of {@linkcode runPlanSyncSimulation}. */
export interface PlanSyncSimulationOptions {
  readonly seed: number;
  readonly scenario?: PlanSyncScenario;
  /** Default: 1–10 ms, 10 % loss, 10 % duplicates, 20 % reordering. */
  readonly link?: Partial<LinkOptions>;
  /** Partition `[node-0] | rest` between these times (ms). Default 800–2,200. */
  readonly partition?: { readonly fromMs: number; readonly toMs: number } | null;
  /** Crash this node at `atMs` and restart it at `restartMs`. Default node-1, 1,200 → 1,600. */
  readonly crash?:
    | { readonly node: string; readonly atMs: number; readonly restartMs: number }
    | null;
  /** Virtual time of the whole run. Default 8,000 ms. */
  readonly durationMs?: number;
}

/** What a plan-sync simulation did. */
export interface PlanSyncSimulationResult {
  readonly seed: number;
  readonly traceHash: string;
  /** True when every replica has the same heads per thread and the same view snapshot. */
  readonly converged: boolean;
  /** Per node: thread → heads. */
  readonly heads: Record<string, Record<string, string[]>>;
  /** Per node: canonical JSON of the views. */
  readonly views: Record<string, string>;
  readonly opsPerNode: Record<string, number>;
  readonly acknowledged: number;
  /** Acknowledged ops missing from the node that acknowledged them after its restart. */
  readonly lostAfterRestart: number;
  readonly rejectedAppends: Record<string, number>;
  readonly syncStats: Record<string, PlanSyncPeers["stats"]>;
  readonly network: NetworkStats;
}

/**
 * Runs one seed of the plan-sync scenario.
 *
 * @example
 * ```ts
 * const result = await runPlanSyncSimulation({ seed: 7 });
 * console.log(result.converged);
 * ```
 */
export async function runPlanSyncSimulation(
  options: PlanSyncSimulationOptions,
): Promise<PlanSyncSimulationResult> {
  const scenario = options.scenario ?? PLAN_SYNC_DEFAULT;
  const simulation = new Simulation({
    seed: options.seed,
    link: options.link ??
      { latencyMinMs: 1, latencyMaxMs: 10, dropRate: 0.1, duplicateRate: 0.1, reorderRate: 0.2 },
  });
  const replicas = new Map<string, { store: PlanStore; sync: PlanSyncPeers }>();
  const log: WriterLog = { acknowledged: new Map(), rejected: new Map() };
  const crash = options.crash === undefined
    ? { node: "node-1", atMs: 1_200, restartMs: 1_600 }
    : options.crash;
  let ackedBeforeCrash = new Set<string>();
  let lostAfterRestart = 0;
  let writing = true;
  const nodeIds = planNodeIds(scenario);
  for (const nodeId of nodeIds) {
    simulation.addNode(nodeId, (system) =>
      bootPlanNode(system, {
        scenario,
        replicas,
        log,
        writing: () => writing,
        onReplica: (id, store) => {
          if (crash === null || id !== crash.node || simulation.node(id).incarnation === 0) return;
          for (const opId of ackedBeforeCrash) {
            const thread = opThread(store, opId);
            if (thread === undefined) lostAfterRestart++;
          }
        },
      }));
  }
  simulation.at(scenario.writeUntilMs, "writers stop", () => {
    writing = false;
  });
  const partition = options.partition === undefined
    ? { fromMs: 800, toMs: 2_200 }
    : options.partition;
  if (partition !== null) {
    simulation.at(
      partition.fromMs,
      "nemesis",
      () => simulation.partition([nodeIds.slice(0, 1), nodeIds.slice(1)]),
    );
    simulation.at(partition.toMs, "nemesis", () => simulation.heal());
  }
  if (crash !== null) {
    simulation.at(crash.atMs, "nemesis", () => {
      ackedBeforeCrash = new Set(log.acknowledged.get(crash.node) ?? []);
      simulation.crash(crash.node);
    });
    simulation.at(crash.restartMs, "nemesis", () => simulation.restart(crash.node));
  }
  await simulation.run(options.durationMs ?? 8_000);
  return summarise(options.seed, simulation, replicas, log, lostAfterRestart);
}

/** Finds the thread holding an op id on a replica (undefined when absent). */
function opThread(store: PlanStore, opId: string): string | undefined {
  return store.threads().find((thread) =>
    store.getOpsForThread(thread).some((op) => `${op.lamport}/${op.index}/${op.actor}` === opId)
  );
}

function summarise(
  seed: number,
  simulation: Simulation,
  replicas: Map<string, { store: PlanStore; sync: PlanSyncPeers }>,
  log: WriterLog,
  lostAfterRestart: number,
): PlanSyncSimulationResult {
  const heads: Record<string, Record<string, string[]>> = {};
  const views: Record<string, string> = {};
  const opsPerNode: Record<string, number> = {};
  const syncStats: Record<string, PlanSyncPeers["stats"]> = {};
  for (const [nodeId, { store, sync }] of [...replicas].sort(([a], [b]) => a < b ? -1 : 1)) {
    heads[nodeId] = Object.fromEntries(
      store.threads().map((thread) => [thread, store.heads(thread)]),
    );
    views[nodeId] = JSON.stringify(store.snapshot());
    opsPerNode[nodeId] = store.threads().reduce(
      (sum, thread) => sum + store.getOpsForThread(thread).length,
      0,
    );
    syncStats[nodeId] = structuredClone(sync.stats);
  }
  const headTexts = new Set(Object.values(heads).map((value) => JSON.stringify(value)));
  const viewTexts = new Set(Object.values(views));
  let acknowledged = 0;
  for (const ids of log.acknowledged.values()) acknowledged += ids.size;
  return {
    seed,
    traceHash: simulation.traceHash,
    converged: replicas.size === simulation.nodeIds.length && headTexts.size === 1 &&
      viewTexts.size === 1,
    heads,
    views,
    opsPerNode,
    acknowledged,
    lostAfterRestart,
    rejectedAppends: Object.fromEntries(log.rejected),
    syncStats,
    network: { ...simulation.network.stats },
  };
}

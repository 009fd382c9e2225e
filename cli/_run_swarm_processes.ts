/**
 * `run swarm --processes N`: the same run as the in-process `run swarm`,
 * but every node is a separate `run node` process on libp2p deciding
 * through etcd (a private etcd when `--etcd` is not given), or with
 * `--consensus ap` through a decide-log replica in each process. NEEDs are posted
 * round robin through the nodes' HTTP APIs, their outcomes polled from the
 * same APIs, and the summary is the in-process one (ending `finalised: X/M`).
 *
 * @module
 */

import type { NeedStatus } from "../actors/requester.ts";
import type { TaskSpec } from "../protocols/lifecycle/payloads.ts";
import { ProgressBar } from "./progress.ts";
import { evenLayout, ProcessSwarm } from "./_process_swarm.ts";
import { runSummary, type SwarmRunSummary } from "./run_swarm.ts";

/** Settings of a multi-process protocol run. */
export interface ProcessRunOptions {
  readonly processes: number;
  readonly needs: number;
  readonly task: Omit<TaskSpec, "input">;
  readonly deadlineInMs: number;
  readonly challengeWindowMs: number;
  readonly policy: boolean;
  readonly etcdEndpoints: readonly string[] | undefined;
  readonly dataDir: string | undefined;
  /** `etcd` (default) or `ap`. */
  readonly consensus?: "etcd" | "ap";
  readonly json: boolean;
  /** Told once the swarm is up, with how it was started. */
  readonly onStarted?: (etcd: string) => void;
}

/** Interval of outcome polls. */
const POLL_MS = 250;

/** Runs the swarm; resolves with the summary. */
export async function runSwarmProcesses(options: ProcessRunOptions): Promise<SwarmRunSummary> {
  const swarm = await ProcessSwarm.start({
    layout: evenLayout(options.processes),
    dataDir: options.dataDir,
    etcdEndpoints: options.etcdEndpoints,
    consensus: options.consensus,
    challengeWindowMs: options.challengeWindowMs,
    policy: options.policy,
  });
  let keep = false;
  try {
    options.onStarted?.(
      options.consensus === "ap"
        ? "ap (a replica in each node's data directory)"
        : options.etcdEndpoints === undefined
        ? `private etcd at ${swarm.etcdEndpoints.join(",")}`
        : `etcd at ${swarm.etcdEndpoints.join(",")}`,
    );
    const progress = new ProgressBar(options.needs, options.json);
    const started = performance.now();
    const posted = await postAll(swarm, options);
    const outcomes = await untilSettled(swarm, posted, options, progress);
    const wallMs = performance.now() - started;
    progress.done();
    const summary = await summarise(swarm, [...outcomes.values()], options, wallMs);
    if (summary.finalised === summary.needs) return summary;
    // Not every NEED became final: keep the audit logs and the nodes' output to look at.
    keep = true;
    return { ...summary, keptDataDir: swarm.dataRoot };
  } catch (error) {
    keep = true;
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n` +
        `(node logs and audit logs kept in ${swarm.dataRoot})`,
      { cause: error },
    );
  } finally {
    await swarm.stop({ keep });
  }
}

/** Posts every NEED, round robin over the requesters; returns NEED id → node index. */
async function postAll(
  swarm: ProcessSwarm,
  options: ProcessRunOptions,
): Promise<Map<string, number>> {
  const requesters = swarm.requesters;
  const stamp = Date.now();
  const ids = await Promise.all(
    Array.from({ length: options.needs }, async (_, index) => {
      const node = requesters[index % requesters.length];
      const task = { ...options.task, input: `need ${index} at ${stamp}` } as TaskSpec;
      return [await swarm.post(node, task, options.deadlineInMs), node] as const;
    }),
  );
  return new Map(ids);
}

/** Polls the requesters until every posted NEED ended (or its deadline and a grace passed). */
async function untilSettled(
  swarm: ProcessSwarm,
  posted: Map<string, number>,
  options: ProcessRunOptions,
  progress: ProgressBar,
): Promise<Map<string, NeedStatus>> {
  const ended = new Map<string, NeedStatus>();
  const deadline = performance.now() + options.deadlineInMs + 30_000;
  const nodes = [...new Set(posted.values())];
  while (ended.size < posted.size && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const lists = await Promise.all(nodes.map((node) => swarm.needs(node).catch(() => [])));
    for (const status of lists.flat()) {
      if (status.status === "in-flight" || !posted.has(status.needId)) continue;
      if (ended.has(status.needId)) continue;
      ended.set(status.needId, status);
      progress.tick(status.status === "final");
    }
  }
  for (const needId of posted.keys()) {
    if (!ended.has(needId)) {
      ended.set(needId, { needId, status: "abandoned", postedAtMs: 0 });
    }
  }
  return ended;
}

async function summarise(
  swarm: ProcessSwarm,
  outcomes: NeedStatus[],
  options: ProcessRunOptions,
  wallMs: number,
): Promise<SwarmRunSummary> {
  const healths = await Promise.all(
    swarm.nodeIds.map((_, index) => swarm.health(index).catch(() => undefined)),
  );
  const sum = (pick: (health: Record<string, unknown>) => number) =>
    healths.reduce((total, health) => total + (health === undefined ? 0 : pick(health)), 0);
  const stats = (health: Record<string, unknown>) =>
    health.stats as {
      emitted: number;
      accepted: number;
      rejected: Record<string, number>;
      declined: Record<string, number>;
    };
  const decider = (health: Record<string, unknown>) =>
    health.decider as { decided: number; conflicts: number };
  const verifier = (health: Record<string, unknown>) =>
    health.verifier as { attested: number; divergences: number };
  return runSummary({
    nodes: options.processes,
    outcomes,
    wallMs,
    counters: healths.filter((health) => health !== undefined).map(stats),
    decides: sum((health) => decider(health).decided),
    conflicts: sum((health) => decider(health).conflicts),
    attests: sum((health) => verifier(health).attested),
    digestDivergences: sum((health) => verifier(health).divergences),
  });
}

/**
 * `can-swarm run node`: one long-running node on embedded defaults (Deno KV
 * store in its data directory, in-process transport), until SIGINT/SIGTERM
 * or `--duration-ms`.
 *
 * @module
 */

import { type NodeStatus, nodeStatus } from "../actors/node_status.ts";
import { RealEnv } from "../runtime/real_env.ts";
import { ActorSystem } from "../runtime/system.ts";
import { stderrLogSink } from "../runtime/log.ts";
import { type CommandSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";

/** Flags of `run node`. */
export const RUN_NODE_SPEC: CommandSpec = {
  name: "run node",
  summary: "Run one CAN Swarm node on embedded defaults until interrupted.",
  flags: {
    "node-id": {
      type: "string",
      value: "ID",
      description: "Identifier of this node",
      default: "node-0",
    },
    "data-dir": {
      type: "string",
      value: "DIR",
      description: "Where the node keeps its store",
      default: "./data/<node-id>",
    },
    "heartbeat-ms": {
      type: "string",
      value: "MS",
      description: "Interval of status lines",
      default: "5000",
    },
    "duration-ms": {
      type: "string",
      value: "MS",
      description: "Stop after this long (0 = run until SIGINT)",
      default: "0",
    },
  },
  notes:
    "The node keeps a Deno KV store at <data-dir>/store.kv; only one process may open it at a time.",
};

/** Runs a node; resolves with the exit code. */
export async function runNode(flags: ParsedFlags): Promise<number> {
  const nodeId = typeof flags["node-id"] === "string" ? flags["node-id"] : "node-0";
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(nodeId)) {
    throw new UsageError(
      `--node-id must be 1-64 letters, digits or -_.: characters, got '${nodeId}'`,
    );
  }
  const dataDir = typeof flags["data-dir"] === "string" ? flags["data-dir"] : `./data/${nodeId}`;
  const heartbeatMs = integerFlag(flags, "heartbeat-ms", 5_000, 10);
  const durationMs = integerFlag(flags, "duration-ms", 0, 0);
  await Deno.mkdir(dataDir, { recursive: true });
  const env = await RealEnv.open({ nodeId, storePath: `${dataDir}/store.kv` });
  const system = ActorSystem.create(env, { log: stderrLogSink("warn") });
  const print = (status: NodeStatus) =>
    console.log(
      `node ${status.nodeId} · boot #${status.boots} · up ${
        (status.uptimeMs / 1000).toFixed(1)
      } s · ${system.actorCount} actors`,
    );
  system.spawn(() => nodeStatus({ heartbeatMs, onHeartbeat: print }), { name: "status" });
  console.log(
    `node ${nodeId} started · store ${dataDir}/store.kv · transport in-process · Ctrl-C to stop`,
  );
  await waitForStop(durationMs);
  await system.terminate();
  await env.close();
  console.log(`node ${nodeId} stopped`);
  return 0;
}

/** Resolves on SIGINT, SIGTERM or after `durationMs` (when > 0). */
function waitForStop(durationMs: number): Promise<void> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      for (const signal of signals) Deno.removeSignalListener(signal, stop);
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    };
    for (const signal of signals) Deno.addSignalListener(signal, stop);
    if (durationMs > 0) timer = setTimeout(stop, durationMs);
  });
}

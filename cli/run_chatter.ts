/**
 * `can-swarm run chatter`: a whole swarm of nodes in
 * this process on the real clock, running the chatter workload to the end
 * and printing what it did. With `--processes N` the nodes are N separate
 * `run node` processes on libp2p instead.
 *
 * @module
 */

import type { ChatterReport } from "../actors/chatter.ts";
import { RealEnv } from "../runtime/real_env.ts";
import { ActorSystem } from "../runtime/system.ts";
import { stderrLogSink } from "../runtime/log.ts";
import { InProcHub } from "../runtime/transport/inproc.ts";
import {
  bootChatterNode,
  CHATTER_DEFAULT,
  chatterNodeIds,
  type ChatterScenario,
  checkChatterScenario,
} from "../sim/scenarios/chatter.ts";
import { type CommandSpec, integerFlag, numberFlag, type ParsedFlags } from "./args.ts";
import { renderProcessSummary, runProcessSwarm } from "./_swarm_processes.ts";

/** Flags of `run swarm`. */
export const RUN_CHATTER_SPEC: CommandSpec = {
  name: "run chatter",
  summary: "Run a local swarm (in this process, or as N libp2p processes) and report what it did.",
  flags: {
    processes: {
      type: "string",
      value: "N",
      description: "Run N node processes on libp2p (127.0.0.1) instead of in-process nodes",
      default: "0",
    },
    "data-dir": {
      type: "string",
      value: "DIR",
      description: "With --processes: keep node data under DIR (default: a temporary directory)",
    },
    nodes: {
      type: "string",
      value: "N",
      description: "Nodes",
      default: String(CHATTER_DEFAULT.nodes),
    },
    "actors-per-node": {
      type: "string",
      value: "N",
      description: "Chatter actors per node",
      default: String(CHATTER_DEFAULT.actorsPerNode),
    },
    messages: {
      type: "string",
      value: "N",
      description: "Chats each actor originates",
      default: String(CHATTER_DEFAULT.messageBudget),
    },
    "pause-max-ms": {
      type: "string",
      value: "MS",
      description: "Longest pause between two chats",
      default: "2",
    },
    "timeout-ms": {
      type: "string",
      value: "MS",
      description: "Give up after this long",
      default: "60000",
    },
    json: { type: "boolean", description: "Print the summary as JSON" },
  },
};

/** Runs the swarm; resolves with the exit code (1 when it timed out). */
export async function runChatter(flags: ParsedFlags): Promise<number> {
  const processes = integerFlag(flags, "processes", 0, 0, 64);
  if (processes > 0) return await runChatterProcesses(flags, processes);
  const scenario: ChatterScenario = checkChatterScenario({
    ...CHATTER_DEFAULT,
    nodes: integerFlag(flags, "nodes", CHATTER_DEFAULT.nodes, 1, 1_000),
    actorsPerNode: integerFlag(flags, "actors-per-node", CHATTER_DEFAULT.actorsPerNode, 1, 10_000),
    messageBudget: integerFlag(flags, "messages", CHATTER_DEFAULT.messageBudget, 1, 10_000_000),
    pauseMaxMs: numberFlag(flags, "pause-max-ms", 2, 0, 60_000),
    partitionAtMs: undefined,
    healAtMs: undefined,
  });
  const timeoutMs = integerFlag(flags, "timeout-ms", 60_000, 1);
  const chatters = scenario.nodes * scenario.actorsPerNode;
  const hub = new InProcHub();
  const reports: ChatterReport[] = [];
  let allReported: () => void = () => {};
  const done = new Promise<void>((resolve) => (allReported = resolve));
  const nodes: { env: RealEnv; system: ActorSystem }[] = [];
  let deadLetters = 0;
  const started = performance.now();
  for (const nodeId of chatterNodeIds(scenario)) {
    const env = await RealEnv.open({ nodeId, transport: hub.connect(nodeId) });
    const system = ActorSystem.create(env, { log: stderrLogSink("warn") });
    system.events.subscribe((event) => {
      if (event.type === "dead-letter") deadLetters++;
    });
    nodes.push({ env, system });
  }
  for (const { system } of nodes) {
    bootChatterNode(system, scenario, (report) => {
      reports.push(report);
      if (reports.length === chatters) allReported();
    });
  }
  if (!flags.json) {
    console.log(
      `swarm: ${scenario.nodes} nodes × ${scenario.actorsPerNode} chatters, ${scenario.messageBudget} chats each`,
    );
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = await Promise.race([
    done.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
  ]);
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  await Promise.all(nodes.map(({ system }) => system.terminate()));
  await Promise.all(nodes.map(({ env }) => env.close()));
  const summary = summarise(reports, chatters, wallMs, deadLetters, timedOut);
  console.log(flags.json ? JSON.stringify(summary) : renderSummary(summary));
  return timedOut ? 1 : 0;
}

interface SwarmSummary {
  readonly chatters: number;
  readonly reported: number;
  readonly sent: number;
  readonly received: number;
  readonly acknowledged: number;
  readonly deadLetters: number;
  readonly wallMs: number;
  readonly timedOut: boolean;
}

function summarise(
  reports: ChatterReport[],
  chatters: number,
  wallMs: number,
  deadLetters: number,
  timedOut: boolean,
): SwarmSummary {
  const total = (key: "sent" | "received" | "acknowledged") =>
    reports.reduce((sum, report) => sum + report[key], 0);
  return {
    chatters,
    reported: reports.length,
    sent: total("sent"),
    received: total("received"),
    acknowledged: total("acknowledged"),
    deadLetters,
    wallMs: Math.round(wallMs),
    timedOut,
  };
}

function renderSummary(summary: SwarmSummary): string {
  const status = summary.timedOut
    ? `TIMED OUT: ${summary.reported}/${summary.chatters} chatters finished`
    : `all ${summary.chatters} chatters finished`;
  return [
    status,
    `  chats sent ${summary.sent} · received ${summary.received} · acknowledged ${summary.acknowledged} (when each chatter finished)`,
    `  dead letters ${summary.deadLetters} · wall time ${summary.wallMs} ms`,
  ].join("\n");
}

async function runChatterProcesses(flags: ParsedFlags, processes: number): Promise<number> {
  const actorsPerNode = integerFlag(flags, "actors-per-node", 2, 1, 1_000);
  const messageBudget = integerFlag(flags, "messages", 200, 1, 10_000_000);
  if (!flags.json) {
    console.log(
      `swarm: ${processes} node processes on libp2p × ${actorsPerNode} chatters, ${messageBudget} chats each`,
    );
  }
  const summary = await runProcessSwarm({
    processes,
    actorsPerNode,
    messageBudget,
    pauseMaxMs: numberFlag(flags, "pause-max-ms", 5, 0, 60_000),
    timeoutMs: integerFlag(flags, "timeout-ms", 60_000, 1),
    dataDir: typeof flags["data-dir"] === "string" ? flags["data-dir"] : undefined,
    json: flags.json === true,
  });
  console.log(flags.json ? JSON.stringify(summary) : renderProcessSummary(summary));
  return summary.timedOut || summary.cleanExits < processes ? 1 : 0;
}

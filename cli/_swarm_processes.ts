/**
 * `run chatter --processes N`: a local multi-process swarm. Starts N
 * `run node --transport libp2p` processes on 127.0.0.1 (random free ports,
 * bootstrapping from the first), runs the chatter workload across them,
 * shows progress, stops every process and prints a summary.
 *
 * @module
 */

import { chatterCount, counter, type NodeLine, NodeProcess } from "./node_process.ts";

/** Settings of a multi-process swarm run. */
export interface ProcessSwarmOptions {
  readonly processes: number;
  readonly actorsPerNode: number;
  readonly messageBudget: number;
  readonly pauseMaxMs: number;
  readonly timeoutMs: number;
  /** Root of the nodes' data directories; a temporary one (removed after) when absent. */
  readonly dataDir?: string;
  readonly json: boolean;
}

/** What a multi-process run did. */
export interface ProcessSwarmSummary {
  readonly processes: number;
  readonly chatters: number;
  readonly connected: boolean;
  readonly sent: number;
  readonly received: number;
  readonly acknowledged: number;
  readonly newsPublished: number;
  readonly newsHeard: number;
  readonly directFramesDelivered: number;
  readonly topicFramesDelivered: number;
  readonly framesLost: number;
  readonly cleanExits: number;
  readonly wallMs: number;
  readonly timedOut: boolean;
}

/** Runs the swarm; resolves with its summary. */
export async function runProcessSwarm(options: ProcessSwarmOptions): Promise<ProcessSwarmSummary> {
  const started = performance.now();
  const dataRoot = options.dataDir ?? await Deno.makeTempDir({ prefix: "can-swarm-" });
  const nodes = Array.from({ length: options.processes }, (_, index) => `node-${index}`);
  const network = `swarm-${crypto.randomUUID().slice(0, 8)}`;
  const args = (node: string, bootstrap: string[]) => [
    "--transport=libp2p",
    `--data-dir=${dataRoot}/${node}`,
    "--mdns=off",
    `--network=${network}`,
    "--heartbeat-ms=250",
    "--workload=chatter",
    `--peers=${nodes.join(",")}`,
    `--actors-per-node=${options.actorsPerNode}`,
    `--messages=${options.messageBudget}`,
    `--pause-max-ms=${options.pauseMaxMs}`,
    ...(bootstrap.length > 0 ? [`--bootstrap=${bootstrap.join(",")}`] : []),
  ];
  const processes: NodeProcess[] = [];
  const progress = progressPrinter(options.json);
  let timedOut = false;
  try {
    processes.push(NodeProcess.start(nodes[0], args(nodes[0], [])));
    const ready = await processes[0].waitFor("ready", (line) => line.event === "ready", 30_000);
    for (const node of nodes.slice(1)) {
      processes.push(NodeProcess.start(node, args(node, ready.addrs as string[])));
    }
    timedOut = !await untilQuiet(processes, options, progress);
  } finally {
    progress.end();
  }
  const statuses = processes.map((process) => process.last("status"));
  const exits = await Promise.all(processes.map((process) => process.stop()));
  if (options.dataDir === undefined) await Deno.remove(dataRoot, { recursive: true });
  return summarise(options, statuses, exits, performance.now() - started, timedOut);
}

/** Waits until every chatter spent its budget and the counts stop moving; false on timeout. */
async function untilQuiet(
  processes: readonly NodeProcess[],
  options: ProcessSwarmOptions,
  progress: ReturnType<typeof progressPrinter>,
): Promise<boolean> {
  const deadline = performance.now() + options.timeoutMs;
  const budget = options.processes * options.actorsPerNode * options.messageBudget;
  let previous = "";
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const statuses = processes.map((process) => process.last("status"));
    const sent = total(statuses, (line) => chatterCount(line, "sent"));
    const connected = statuses.filter((line) =>
      ((line?.knownNodes as string[] | undefined)?.length ?? 0) === processes.length
    ).length;
    progress.update(
      sent / budget,
      `${connected}/${processes.length} nodes connected · ${sent} chats sent`,
    );
    const fingerprint = JSON.stringify(statuses.map((line) =>
      line?.chatter
    ));
    if (sent >= budget && fingerprint === previous) return true;
    previous = fingerprint;
  }
  return false;
}

function total(lines: (NodeLine | undefined)[], pick: (line: NodeLine | undefined) => number) {
  return lines.reduce((sum, line) => sum + pick(line), 0);
}

function summarise(
  options: ProcessSwarmOptions,
  statuses: (NodeLine | undefined)[],
  exits: Deno.CommandStatus[],
  wallMs: number,
  timedOut: boolean,
): ProcessSwarmSummary {
  return {
    processes: options.processes,
    chatters: options.processes * options.actorsPerNode,
    connected: statuses.every((line) =>
      ((line?.knownNodes as string[] | undefined)?.length ?? 0) === options.processes
    ),
    sent: total(statuses, (line) => chatterCount(line, "sent")),
    received: total(statuses, (line) => chatterCount(line, "received")),
    acknowledged: total(statuses, (line) => chatterCount(line, "acknowledged")),
    newsPublished: total(statuses, (line) => chatterCount(line, "published")),
    newsHeard: total(statuses, (line) => chatterCount(line, "heard")),
    directFramesDelivered: total(statuses, (line) => counter(line, "directDelivered")),
    topicFramesDelivered: total(statuses, (line) => counter(line, "topicDelivered")),
    framesLost: total(statuses, (line) => counter(line, "directLost")),
    cleanExits: exits.filter((exit) => exit.code === 0).length,
    wallMs: Math.round(wallMs),
    timedOut,
  };
}

/** A progress bar on a terminal, plain lines otherwise, nothing in JSON mode. */
function progressPrinter(json: boolean) {
  const encoder = new TextEncoder();
  const tty = Deno.stdout.isTerminal();
  let lastLine = 0;
  return {
    update(fraction: number, detail: string) {
      if (json) return;
      const clamped = Math.max(0, Math.min(1, fraction));
      const filled = Math.round(clamped * 30);
      const bar = `[${"#".repeat(filled)}${".".repeat(30 - filled)}] ${
        Math.floor(clamped * 100).toString().padStart(3)
      }% · ${detail}`;
      if (tty) Deno.stdout.writeSync(encoder.encode(`\r${bar}\x1b[K`));
      else if (performance.now() - lastLine > 2_000) {
        lastLine = performance.now();
        console.log(bar);
      }
    },
    end() {
      if (!json && tty) Deno.stdout.writeSync(encoder.encode("\n"));
    },
  };
}

/** Renders a summary for people. */
export function renderProcessSummary(summary: ProcessSwarmSummary): string {
  const status = summary.timedOut
    ? "TIMED OUT before every chatter finished"
    : `all ${summary.chatters} chatters finished`;
  return [
    `${status} · ${summary.processes} processes ${
      summary.connected ? "all connected" : "NOT all connected"
    }`,
    `  chats sent ${summary.sent} · received ${summary.received} · acknowledged ${summary.acknowledged}`,
    `  news published ${summary.newsPublished} · heard on other nodes ${summary.newsHeard}`,
    `  frames delivered: direct ${summary.directFramesDelivered} · topic ${summary.topicFramesDelivered} · lost ${summary.framesLost}`,
    `  ${summary.cleanExits}/${summary.processes} processes exited cleanly · wall time ${summary.wallMs} ms`,
  ].join("\n");
}

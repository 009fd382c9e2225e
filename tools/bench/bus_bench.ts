/**
 * Bus benchmark: publish→deliver latency (p50/p99) and throughput of topic
 * messages across 5 processes on loopback (1 publisher, 4 subscribers),
 * through the CAN Swarm stack (actor `ctx.publish` → Libp2pTransport →
 * gossipsub → Libp2pTransport → subscribed actor) and through raw gossipsub
 * on the same TCP/noise/yamux stack in the same run. Prints JSON with both
 * and their ratios (DESIGN.md §8: goal p99 < 5 ms, overhead ≤ 1.5× raw):
 * of the best round of each stack, and the median over rounds of each
 * round's ratios (the stacks alternate, so a round compares runs under the
 * same load — what to read on a shared machine). 200 paced messages warm
 * both stacks up before the measured ones.
 *
 *   deno task bench:bus [--latency N] [--burst N] [--rounds N] [--topology mesh|star]
 *
 * `--topology mesh` (default): every process connects to every other, as a
 * swarm does, so subscribers also forward each message to each other;
 * `star`: subscribers connect to the publisher only, so no process forwards
 * (the least CPU per message: the stack's own overhead stands out most).
 *
 * For experiments, `BENCH_SWARM_OPTIONS='{"relayServer":false}'` passes
 * extra `Libp2pTransport` options to the swarm stack's processes.
 *
 * @module
 */

import { parseArgs } from "node:util";

const WORKER = new URL("./_bus_bench_worker.ts", import.meta.url).pathname;
const PROCESSES = 5;

/** Figures of one stack. */
export interface BusFigures {
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly latencySamples: number;
  readonly latencyExpected: number;
  readonly throughputPerSecond: number;
  readonly burstDelivered: number;
  readonly burstExpected: number;
  /**
   * CPU time (user + system, all 5 processes, from the first measured message
   * to the end of the burst) per message delivered: what the stack costs,
   * and far less at the mercy of other load on the machine than latency.
   */
  readonly cpuUsPerDelivery: number;
  /** Peers each subscriber was connected to at the end (4 in a mesh, 1 in a star). */
  readonly peersPerSubscriber: number[];
}

interface WorkerResult {
  latencies: number[];
  burstReceived: number;
  burstSeconds: number;
  peers: number;
  cpuMs: number;
}

async function readJsonLines(
  child: Deno.ChildProcess,
  onLine: (line: Record<string, unknown>) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line.startsWith("{")) onLine(JSON.parse(line));
    }
  }
}

function spawnWorker(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, ...args],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
}

/** Runs one stack (`raw` or `swarm`) across 5 processes and returns its figures. */
export async function runStack(
  mode: string,
  latencyCount: number,
  burstCount: number,
  topology: "mesh" | "star" = "mesh",
) {
  const subscribers = PROCESSES - 1;
  const counts = [String(subscribers), String(latencyCount), String(burstCount), topology];
  const publisher = spawnWorker([mode, "pub", "0", "-", ...counts]);
  let resolveReady: (addrs: string[]) => void = () => {};
  const ready = new Promise<string[]>((resolve) => (resolveReady = resolve));
  let publisherCpuMs = 0;
  const publisherOutput = readJsonLines(publisher, (line) => {
    if (line.event === "ready") resolveReady(line.addrs as string[]);
    if (line.event === "published") publisherCpuMs = line.cpuMs as number;
  });
  // In a mesh, every subscriber dials the publisher and the subscribers started before it,
  // so both stacks run on the same full mesh of connections (the swarm stack would build one
  // anyway from node announcements; raw gossipsub has no discovery beyond its bootstrap list).
  const addresses = [(await ready)[0]];
  const results: WorkerResult[] = [];
  const children: Deno.ChildProcess[] = [];
  const outputs: Promise<void>[] = [];
  for (let index = 1; index <= subscribers; index++) {
    const child = spawnWorker([mode, "sub", String(index), addresses.join(","), ...counts]);
    let started: (addrs: string[]) => void = () => {};
    const childReady = new Promise<string[]>((resolve) => (started = resolve));
    children.push(child);
    outputs.push(readJsonLines(child, (line) => {
      if (line.event === "ready") started(line.addrs as string[]);
      if (line.event === "result") results.push(line as unknown as WorkerResult);
    }));
    if (topology === "mesh") addresses.push((await childReady)[0]);
    else await childReady;
  }
  await Promise.all([publisherOutput, ...outputs]);
  await Promise.all([publisher.status, ...children.map((child) => child.status)]);
  return figures(results, latencyCount, burstCount, subscribers, publisherCpuMs);
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

function figures(
  results: WorkerResult[],
  latencyCount: number,
  burstCount: number,
  subscribers: number,
  publisherCpuMs: number,
): BusFigures {
  const latencies = results.flatMap((result) => result.latencies).sort((a, b) => a - b);
  const delivered = results.reduce((sum, result) => sum + result.burstReceived, 0);
  const seconds = Math.max(...results.map((result) => result.burstSeconds));
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    latencyMsP50: round(percentile(latencies, 0.5)),
    latencyMsP99: round(percentile(latencies, 0.99)),
    latencySamples: latencies.length,
    latencyExpected: latencyCount * subscribers,
    throughputPerSecond: Math.round(delivered / Math.max(seconds, 1e-9)),
    burstDelivered: delivered,
    burstExpected: burstCount * subscribers,
    cpuUsPerDelivery: round(
      (publisherCpuMs + results.reduce((sum, result) => sum + result.cpuMs, 0)) * 1000 /
        Math.max(1, latencies.length + delivered),
    ),
    peersPerSubscriber: results.map((result) => result.peers),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      latency: { type: "string", default: "1000" },
      burst: { type: "string", default: "5000" },
      rounds: { type: "string", default: "2" },
      topology: { type: "string", default: "mesh" },
    },
    strict: true,
  });
  const latencyCount = Number(values.latency);
  const burstCount = Number(values.burst);
  const rounds = Number(values.rounds);
  const topology = values.topology;
  if (topology !== "mesh" && topology !== "star") {
    console.error(`--topology must be mesh or star, got ${topology}`);
    Deno.exit(2);
  }
  const best = (runs: BusFigures[]) =>
    runs.reduce((best, run) => (run.latencyMsP99 < best.latencyMsP99 ? run : best));
  const raw: BusFigures[] = [];
  const swarm: BusFigures[] = [];
  for (let round = 0; round < rounds; round++) {
    // Each round runs both stacks back to back, which goes first alternating.
    const runRaw = async () => raw.push(await runStack("raw", latencyCount, burstCount, topology));
    const runSwarm = async () =>
      swarm.push(await runStack("swarm", latencyCount, burstCount, topology));
    if (round % 2 === 0) await runRaw().then(runSwarm);
    else await runSwarm().then(runRaw);
  }
  const rawBest = best(raw);
  const swarmBest = best(swarm);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  // Each round's ratios compare two runs under about the same load.
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
  const perRound = (figure: (run: BusFigures) => number, rawOverSwarm = false) =>
    median(raw.map((run, index) => {
      const [top, bottom] = rawOverSwarm ? [run, swarm[index]] : [swarm[index], run];
      return ratio(figure(top), figure(bottom));
    }));
  console.log(JSON.stringify(
    {
      benchmark: "bus",
      processes: PROCESSES,
      subscribers: PROCESSES - 1,
      rounds,
      topology,
      note: "best round by p99 of each stack; latency: paced publishes every 2 ms " +
        "after 200 unmeasured warm-up ones; " +
        "throughput: burst; both stacks on the same topology",
      raw: rawBest,
      swarm: swarmBest,
      ratios: {
        latencyP50: ratio(swarmBest.latencyMsP50, rawBest.latencyMsP50),
        latencyP99: ratio(swarmBest.latencyMsP99, rawBest.latencyMsP99),
        throughputRawOverSwarm: ratio(rawBest.throughputPerSecond, swarmBest.throughputPerSecond),
      },
      medianRoundRatios: {
        latencyP50: perRound((run) => run.latencyMsP50),
        latencyP99: perRound((run) => run.latencyMsP99),
        throughputRawOverSwarm: perRound((run) => run.throughputPerSecond, true),
        cpuPerDelivery: perRound((run) => run.cpuUsPerDelivery),
      },
      goals: {
        latencyMsP99Below: 5,
        overheadAtMost: 1.5,
        latencyP99Met: swarmBest.latencyMsP99 < 5,
        overheadMet: swarmBest.latencyMsP99 <= 1.5 * rawBest.latencyMsP99,
      },
      allRounds: { raw, swarm },
    },
    null,
    2,
  ));
}

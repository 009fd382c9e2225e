/**
 * Swarm simulation speed: a 10-node protocol swarm (every node a verifier
 * and worker, 3 planners, 4 deciders, signatures on) at 100 NEEDs per
 * second of virtual time, no faults. Reports events per wall second, the
 * simulated-to-wall time ratio over the loaded part of the run, and memory
 * per simulated node; next to them, in the same run, the bare engines
 * beneath: the scheduler's event heap alone and the Ed25519 cost of the
 * signatures the run made and checked, which bounds how fast any run with
 * real signatures can go. Prints one JSON document.
 *
 * Run: `deno task bench:sim [--load-ms N] [--rate R]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EventQueue } from "../../runtime/time_queue.ts";
import { Identity, SignatureVerifier } from "../../protocols/identity/mod.ts";
import {
  SWARM_PRESETS,
  SwarmHarness,
  type SwarmScenario,
  withDuration,
} from "../../sim/swarm/mod.ts";

/** The benchmark scenario: 10 nodes, 100 NEEDs/s for `loadMs`, no faults, no audit logs. */
export function benchScenario(loadMs: number, needsPerSecond: number): SwarmScenario {
  const base = SWARM_PRESETS.steady;
  return withDuration({
    ...base,
    name: "bench",
    description: "10 nodes at 100 NEEDs/s, no faults",
    nodes: 10,
    roles: { planners: 3, verifiers: 10, workers: 10, deciders: 4, requesters: 10, challengers: 2 },
    organisations: 10,
    audit: false,
    load: { ...base.load, needsPerSecond, loadMs },
    params: { challengeWindowMs: 2_000 },
  });
}

/** What one benchmark run measured. */
export interface SimBenchReport {
  readonly nodes: number;
  readonly needsPerSecond: number;
  readonly needsPosted: number;
  readonly needsFinal: number;
  /** Virtual time from the start until every NEED was final (or the run's end). */
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly events: number;
  readonly eventsPerWallSecond: number;
  /** Virtual seconds per wall second over the loaded part. */
  readonly simulatedToWallRatio: number;
  readonly heapBytesPerNodeIdle: number;
  readonly heapBytesPerNodeLoaded: number;
  /** Envelopes signed and verified (one verification per receiving node). */
  readonly signatures: number;
  readonly verifications: number;
  /** The bare event heap: push and pop per second. */
  readonly rawHeapEventsPerSecond: number;
  /** Wall ms the run's signatures alone cost on this machine (measured in the same run). */
  readonly signatureWallMs: number;
  /** The ratio a run could reach if signing and verifying were all it did. */
  readonly signatureBoundRatio: number;
}

/** Runs the benchmark once. */
export async function runSimBench(loadMs = 5_000, needsPerSecond = 100): Promise<SimBenchReport> {
  const scenario = benchScenario(loadMs, needsPerSecond);
  collect();
  const before = Deno.memoryUsage().heapUsed;
  const harness = await SwarmHarness.create(scenario, 1);
  await harness.simulation.run(scenario.load.startMs);
  collect();
  const idle = Deno.memoryUsage().heapUsed;
  const posted = new Set<string>();
  const final = new Set<string>();
  const started = performance.now();
  let events = 0;
  let heapLoaded = 0;
  let cursor = 0;
  // Step through the load in slices, so the loaded heap is measured before the drain.
  for (let atMs = scenario.load.startMs; atMs < scenario.durationMs; atMs += 1_000) {
    events += (await harness.simulation.run(1_000)).events;
    if (atMs <= scenario.load.startMs + scenario.load.loadMs) {
      heapLoaded = Deno.memoryUsage().heapUsed;
    }
    cursor = tally(harness, cursor, posted, final);
    if (atMs > scenario.load.startMs + scenario.load.loadMs && final.size >= posted.size) break;
  }
  const wallMs = performance.now() - started;
  const virtualMs = Number(harness.simulation.scheduler.nowNs / 1_000_000n) - scenario.load.startMs;
  const accepted = harness.history.ofType("accepted");
  const signatures =
    accepted.filter((event) => harness.history.nodeOf(event.message.sender) === event.node).length;
  const verifications = accepted.length - signatures;
  const signatureWallMs = await signatureCost(signatures, verifications);
  return {
    nodes: scenario.nodes,
    needsPerSecond,
    needsPosted: posted.size,
    needsFinal: final.size,
    virtualMs,
    wallMs: Math.round(wallMs),
    events,
    eventsPerWallSecond: Math.round(events / (wallMs / 1000)),
    simulatedToWallRatio: round(virtualMs / wallMs),
    heapBytesPerNodeIdle: Math.round((idle - before) / scenario.nodes),
    heapBytesPerNodeLoaded: Math.round((heapLoaded - before) / scenario.nodes),
    signatures,
    verifications,
    rawHeapEventsPerSecond: rawHeapEventsPerSecond(events),
    signatureWallMs: Math.round(signatureWallMs),
    signatureBoundRatio: round(virtualMs / signatureWallMs),
  };
}

/** Counts posted and final NEEDs in the history from `cursor`; returns the new cursor. */
function tally(harness: SwarmHarness, cursor: number, posted: Set<string>, final: Set<string>) {
  const events = harness.history.events;
  for (let index = cursor; index < events.length; index++) {
    const event = events[index];
    if (event.type === "accepted" && event.message.kind === "NEED") {
      posted.add(event.message.thread);
    }
    if (event.type === "effect" && event.effect.type === "need-final") {
      final.add(event.effect.needId);
    }
  }
  return events.length;
}

/** Wall time of `signatures` Ed25519 signatures and `verifications` verifications, measured now. */
async function signatureCost(signatures: number, verifications: number): Promise<number> {
  const identity = await Identity.fromSeed(new Uint8Array(32).fill(7));
  const message = new Uint8Array(400).fill(1);
  const signature = await identity.sign(message);
  const verifier = new SignatureVerifier();
  const sample = 2_000;
  const signStart = performance.now();
  for (let index = 0; index < sample; index++) await identity.sign(message);
  const signMs = (performance.now() - signStart) / sample;
  const verifyStart = performance.now();
  for (let index = 0; index < sample; index++) {
    await verifier.verify(identity.did, signature, message);
  }
  const verifyMs = (performance.now() - verifyStart) / sample;
  return signatures * signMs + verifications * verifyMs;
}

function rawHeapEventsPerSecond(events: number): number {
  const queue = new EventQueue<{ timeNs: bigint; sequence: number }>();
  const started = performance.now();
  for (let index = 0; index < events; index++) {
    queue.push({ timeNs: BigInt(index % 1000), sequence: index });
  }
  while (queue.pop() !== undefined) { /* drain */ }
  return Math.round(events / ((performance.now() - started) / 1000));
}

function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "load-ms": { type: "string" }, rate: { type: "string" } },
    strict: true,
  });
  const report = await runSimBench(Number(values["load-ms"] ?? 5_000), Number(values.rate ?? 100));
  console.log(JSON.stringify(report, null, 2));
}

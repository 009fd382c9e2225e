/**
 * The named swarm scenarios of `deno task sim` and `deno task chaos`: a
 * fault-free baseline, and one preset per family of faults (partitions in
 * CP and AP mode, crashes, pauses and clocks, a lossy network, byzantine
 * agents, a zombie decider with epoch changes) plus one that mixes them.
 * Timings scale with the load so a shorter run keeps the same shape.
 *
 * @module
 */

import { SWARM_PARAMS_DEFAULT } from "../../protocols/params.ts";
import type { NemesisSpec } from "./nemesis_spec.ts";
import type { SwarmScenario, TaskShape } from "./scenario.ts";

/** Mixed task shapes: quick string operations and heavier hash chains. */
export const TASK_SHAPES_DEFAULT: readonly TaskShape[] = [
  { op: "reverse", inputWordsMin: 1, inputWordsMax: 8, roundsMin: 1, roundsMax: 1, weight: 3 },
  { op: "sort-words", inputWordsMin: 2, inputWordsMax: 12, roundsMin: 1, roundsMax: 1, weight: 2 },
  { op: "sha256", inputWordsMin: 1, inputWordsMax: 4, roundsMin: 1, roundsMax: 64, weight: 2 },
  { op: "word-count", inputWordsMin: 1, inputWordsMax: 20, roundsMin: 1, roundsMax: 1, weight: 1 },
];

/** Load starts here (after every node booted). */
const LOAD_START_MS = 500;
/** Default length of the load phase. */
export const LOAD_MS_DEFAULT = 20_000;
/**
 * The liveness bound a scenario can promise after the last fault that hit a
 * NEED: a worker that died holding a lease costs a lease TTL (plus the
 * monitor's grace) before the task is claimed again; its successor's work
 * (up to half a TTL more when BUGGIFY slows work down) and the challenge
 * window follow; 20 s of slack covers the rest. With BUGGIFY, three lost
 * leases are allowed for: the bound counts from the last fault point that
 * named the NEED (a stalled worker's lease is lost after it), but a core
 * crash names no NEED and may take the leases of the next holders too.
 */
export function livenessBound(scenario: Pick<SwarmScenario, "params" | "buggify">): number {
  const leaseTtlMs = scenario.params.leaseTtlMinMs ?? SWARM_PARAMS_DEFAULT.leaseTtlMinMs;
  const challengeMs = scenario.params.challengeWindowMs ?? SWARM_PARAMS_DEFAULT.challengeWindowMs;
  const slowWorkMs = scenario.buggify ? leaseTtlMs / 2 : 0;
  const lostLeases = scenario.buggify ? 3 : 1;
  return Math.round(lostLeases * (leaseTtlMs + 1_000) + slowWorkMs + challengeMs + 20_000);
}

/** The load of every preset unless it says otherwise. */
const LOAD_DEFAULT: SwarmScenario["load"] = {
  needsPerSecond: 4,
  loadMs: LOAD_MS_DEFAULT,
  startMs: LOAD_START_MS,
  shapes: TASK_SHAPES_DEFAULT,
  bounty: 5,
  budget: 10,
  deadlineMs: 300_000,
};

/** A scenario from the defaults of every field. */
function scenario(
  fields: Partial<SwarmScenario> & Pick<SwarmScenario, "name" | "description">,
): SwarmScenario {
  const nodes = fields.nodes ?? 7;
  const base: SwarmScenario = {
    nodes,
    roles: {
      planners: Math.min(3, nodes),
      verifiers: nodes,
      workers: nodes,
      deciders: Math.min(3, nodes),
      requesters: Math.min(3, nodes),
      challengers: Math.min(2, nodes),
    },
    byzantine: { approveEverything: 0, wrongOutput: 0, spammers: 0, frivolousChallengers: 0 },
    mode: "cp",
    load: LOAD_DEFAULT,
    durationMs: 0,
    nemeses: [],
    link: { latencyMinMs: 1, latencyMaxMs: 5 },
    params: {},
    bootstrap: false,
    buggify: false,
    audit: false,
    livenessBoundMs: 0,
    organisations: nodes,
    auditShare: 0.1,
    ...fields,
  };
  return withDuration(base);
}

/**
 * Derives the liveness bound from the scenario's timings, and the run's
 * length: until that bound after the last fault can be judged, plus slack.
 */
export function withDuration(base: SwarmScenario): SwarmScenario {
  let lastMs = base.load.startMs + base.load.loadMs;
  for (const nemesis of base.nemeses) {
    lastMs = Math.max(lastMs, nemesis.atMs + ("durationMs" in nemesis ? nemesis.durationMs : 0));
  }
  const livenessBoundMs = livenessBound(base);
  return { ...base, livenessBoundMs, durationMs: lastMs + livenessBoundMs + 5_000 };
}

/** `at(0.25)`: a quarter of the way into the default load. */
function at(share: number): number {
  return Math.round(LOAD_START_MS + LOAD_MS_DEFAULT * share);
}

const PARTITIONS: readonly NemesisSpec[] = [
  { kind: "partition", atMs: at(0.1), durationMs: 3_000, shape: "majority-minority" },
  { kind: "partition", atMs: at(0.35), durationMs: 3_000, shape: "halves" },
  { kind: "partition", atMs: at(0.6), durationMs: 2_500, shape: "isolate-one" },
  { kind: "partition", atMs: at(0.8), durationMs: 2_500, shape: "bridge" },
  { kind: "heal", atMs: at(1) + 1_000 },
];

/** Every preset, by name. */
export const SWARM_PRESETS: Readonly<Record<string, SwarmScenario>> = {
  steady: scenario({
    name: "steady",
    description: "7 nodes, CP, no faults: the baseline every other preset is measured against",
    audit: true,
  }),
  "partition-cp": scenario({
    name: "partition-cp",
    description: "CP decide log; majority/minority, halves, isolate-one and bridge partitions",
    nemeses: PARTITIONS,
  }),
  "partition-ap": scenario({
    name: "partition-ap",
    description: "AP decide mode on slow links: both sides decide, the merge picks one winner",
    mode: "ap",
    link: { latencyMinMs: 5, latencyMaxMs: 40 },
    nemeses: [
      { kind: "partition", atMs: at(0.2), durationMs: 4_000, shape: "halves" },
      { kind: "partition", atMs: at(0.6), durationMs: 3_000, shape: "majority-minority" },
      { kind: "heal", atMs: at(1) + 1_000 },
    ],
  }),
  crashes: scenario({
    name: "crashes",
    description: "Kill and restart deciders and workers, pause nodes, skew and drift clocks",
    buggify: true,
    audit: true,
    nemeses: [
      { kind: "kill-restart", atMs: at(0.1), durationMs: 2_000, target: "decider" },
      { kind: "kill-restart", atMs: at(0.3), durationMs: 3_000, target: "worker" },
      { kind: "pause", atMs: at(0.45), durationMs: 2_000, target: "any" },
      {
        kind: "clock-skew",
        atMs: at(0.55),
        durationMs: 4_000,
        offsetMs: 1_500,
        driftPpm: 200,
        target: "any",
      },
      { kind: "kill-restart", atMs: at(0.75), durationMs: 1_500, target: "requester" },
      { kind: "heal", atMs: at(1) + 1_000 },
    ],
  }),
  flaky: scenario({
    name: "flaky",
    description: "Lossy, duplicating, reordering and slow links",
    nemeses: [
      {
        kind: "flaky-links",
        atMs: at(0.1),
        durationMs: 8_000,
        dropRate: 0.02,
        duplicateRate: 0.02,
        reorderRate: 0.1,
      },
      {
        kind: "slow-links",
        atMs: at(0.5),
        durationMs: 6_000,
        latencyMinMs: 20,
        latencyMaxMs: 200,
        share: 0.3,
      },
      { kind: "heal", atMs: at(1) + 1_000 },
    ],
  }),
  byzantine: scenario({
    name: "byzantine",
    description: "Approve-everything verifiers, wrong-output workers, a spammer and a " +
      "frivolous challenger; honest challengers audit half of the results",
    nodes: 9,
    roles: { planners: 3, verifiers: 9, workers: 9, deciders: 3, requesters: 3, challengers: 3 },
    byzantine: { approveEverything: 3, wrongOutput: 2, spammers: 1, frivolousChallengers: 1 },
    auditShare: 0.5,
    audit: true,
  }),
  failover: scenario({
    name: "failover",
    description: "A paused decider loses its buckets and comes back as a zombie; epochs advance; " +
      "a wrong-output worker and a frivolous challenger keep the arbiters ruling",
    byzantine: { approveEverything: 0, wrongOutput: 1, spammers: 0, frivolousChallengers: 1 },
    nemeses: [
      { kind: "failover", atMs: at(0.2), durationMs: 3_000 },
      { kind: "epoch-advance", atMs: at(0.5) },
      { kind: "failover", atMs: at(0.6), durationMs: 2_000 },
      { kind: "epoch-advance", atMs: at(0.85) },
    ],
  }),
  mixed: scenario({
    name: "mixed",
    description: "Partitions, crashes, pauses, skew, flaky links, a spammer and BUGGIFY together",
    nodes: 8,
    buggify: true,
    byzantine: { approveEverything: 0, wrongOutput: 0, spammers: 1, frivolousChallengers: 0 },
    nemeses: [
      { kind: "partition", atMs: at(0.1), durationMs: 2_500, shape: "majority-minority" },
      { kind: "kill-restart", atMs: at(0.25), durationMs: 2_000, target: "any" },
      {
        kind: "flaky-links",
        atMs: at(0.35),
        durationMs: 4_000,
        dropRate: 0.02,
        duplicateRate: 0.02,
        reorderRate: 0.05,
      },
      { kind: "pause", atMs: at(0.5), durationMs: 1_500, target: "decider" },
      {
        kind: "clock-skew",
        atMs: at(0.6),
        durationMs: 3_000,
        offsetMs: -800,
        driftPpm: -100,
        target: "worker",
      },
      { kind: "partition", atMs: at(0.75), durationMs: 2_000, shape: "bridge" },
      { kind: "epoch-advance", atMs: at(0.9) },
      { kind: "heal", atMs: at(1) + 1_000 },
    ],
  }),
  retention: scenario({
    name: "retention",
    description: "NEEDs end within the run, and the decide log forgets their records " +
      "10 s past each deadline, across a decider crash and clock skew",
    load: { ...LOAD_DEFAULT, deadlineMs: 45_000 },
    params: { leaseTtlMinMs: 10_000, needExpiryGraceMs: 5_000, decideRetentionMs: 10_000 },
    nemeses: [
      { kind: "kill-restart", atMs: at(0.3), durationMs: 2_000, target: "decider" },
      {
        kind: "clock-skew",
        atMs: at(0.55),
        durationMs: 4_000,
        offsetMs: 1_500,
        driftPpm: 200,
        target: "decider",
      },
      // Keeps the run going well past the last NEED's deadline and margin.
      { kind: "heal", atMs: 100_000 },
    ],
  }),
};

/** Presets `deno task chaos` runs (every fault family). */
export const CHAOS_PRESETS: readonly string[] = [
  "partition-cp",
  "partition-ap",
  "crashes",
  "flaky",
  "byzantine",
  "failover",
  "mixed",
  "retention",
];

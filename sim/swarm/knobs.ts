/**
 * Swarm testing: with `--seeds N` every seed also varies its scenario's
 * knobs within bounds — node count, roles, load, link latency, protocol
 * timings, fault timings and partition shapes, BUGGIFY — so a suite of
 * seeds covers configurations nobody wrote down, and a failing seed still
 * reproduces exactly (the knobs derive from the seed). Also here: explicit
 * overrides from the command line, and the load/time scaling that shortens
 * a preset (for CI, and for shrinking).
 *
 * @module
 */

import type { Random } from "../../runtime/env.ts";
import type { ProtocolMutations } from "../../protocols/lifecycle/mutations.ts";
import { SeededRandom } from "../seeded_random.ts";
import type { NemesisSpec } from "./nemesis_spec.ts";
import { PARTITION_SHAPES } from "./nemesis_spec.ts";
import { withDuration } from "./presets.ts";
import type { DecideMode, RoleCounts, SwarmScenario } from "./scenario.ts";

/** Explicit changes to a scenario (command-line flags, shrinking). */
export interface ScenarioOverrides {
  readonly nodes?: number;
  readonly needsPerSecond?: number;
  /** Length of the load phase; faults keep their place relative to it. */
  readonly loadMs?: number;
  readonly mode?: DecideMode;
  readonly buggify?: boolean;
  /** Total virtual time of the run (the drain after the load grows or shrinks). */
  readonly durationMs?: number;
  /** Keeps only these nemeses (by index in the schedule). */
  readonly nemeses?: readonly number[];
  /** A deliberately broken protocol rule (proving the checkers bite). */
  readonly mutation?: MutationName;
}

/** The protocol mutations, by their command-line names. */
export const MUTATIONS = {
  "quorum-one-short": { quorumOneShort: true },
  "fencing-off": { fencingOff: true },
  "lease-check-off": { leaseCheckOff: true },
} as const satisfies Record<string, ProtocolMutations>;

/** The name of a mutation. */
export type MutationName = keyof typeof MUTATIONS;

/** The scenario with its knobs drawn for `seed` (swarm testing). */
export function randomizeScenario(base: SwarmScenario, seed: number): SwarmScenario {
  const random = SeededRandom.derive(seed, "knobs");
  const minimum = Math.max(4, base.byzantine.approveEverything + 3, base.byzantine.wrongOutput + 3);
  const nodes = between(
    random,
    Math.max(minimum, base.nodes - 2),
    Math.max(minimum, base.nodes + 2),
  );
  const resized = resize(base, nodes);
  const factor = 0.5 + random.float();
  const latencyMaxMs = between(random, 2, 25);
  const scaled = scaleLoad(resized, {
    needsPerSecond: round(base.load.needsPerSecond * factor),
    loadMs: Math.round(base.load.loadMs * (0.5 + random.float() / 2)),
  });
  // A failover needs a second decider to take the buckets over.
  const decidersMin = base.nemeses.some((nemesis) => nemesis.kind === "failover") ? 2 : 1;
  const drawn = withDuration({
    ...scaled,
    roles: {
      planners: between(random, 1, Math.min(4, nodes)),
      verifiers: between(random, Math.max(nodes - 1, base.byzantine.approveEverything + 1), nodes),
      workers: between(random, Math.max(2, base.byzantine.wrongOutput + 1), nodes),
      deciders: between(random, decidersMin, Math.max(decidersMin, Math.min(4, nodes))),
      requesters: between(random, 1, nodes),
      challengers: between(random, base.byzantine.frivolousChallengers, Math.min(3, nodes)),
    },
    link: { latencyMinMs: 1, latencyMaxMs },
    params: {
      ...scaled.params,
      challengeWindowMs: [2_000, 5_000, 10_000][random.int(3)],
    },
    buggify: base.buggify || random.float() < 0.5,
    nemeses: scaled.nemeses.map((nemesis) => jitter(nemesis, scaled.load.loadMs, random)),
  });
  return withRoomForFaults(drawn); // the schedule as jittered
}

/**
 * Roles that the scenario's faults and byzantine agents leave room for:
 * enough deciders and requesters that no fault aimed at one finds none
 * free, at least one honest worker and one honest verifier (byzantine counts
 * shrink to fit a small swarm: with every worker committing wrong outputs
 * no NEED can end), and no more frivolous challengers than challengers.
 */
function withRoomForFaults(scenario: SwarmScenario): SwarmScenario {
  const { nodes, roles, byzantine } = scenario;
  const wrongOutput = Math.min(byzantine.wrongOutput, nodes - 1);
  const approveEverything = Math.min(byzantine.approveEverything, nodes - 1);
  const enough = (count: number, needed: number) => Math.min(nodes, Math.max(count, needed));
  const fitted: RoleCounts = {
    ...roles,
    workers: enough(roles.workers, wrongOutput + 1),
    verifiers: enough(roles.verifiers, approveEverything + 1),
    deciders: enough(roles.deciders, nodesNeededFor("decider", scenario.nemeses)),
    requesters: enough(roles.requesters, nodesNeededFor("requester", scenario.nemeses)),
  };
  return {
    ...scenario,
    roles: fitted,
    byzantine: {
      ...byzantine,
      wrongOutput,
      approveEverything,
      frivolousChallengers: Math.min(byzantine.frivolousChallengers, fitted.challengers),
    },
  };
}

/** Applies explicit overrides (then re-derives the duration unless one is given). */
export function overrideScenario(base: SwarmScenario, overrides: ScenarioOverrides): SwarmScenario {
  let scenario = overrides.nodes === undefined
    ? base
    : withRoomForFaults(resize(base, overrides.nodes));
  if (overrides.needsPerSecond !== undefined || overrides.loadMs !== undefined) {
    scenario = scaleLoad(scenario, overrides);
  }
  if (overrides.mode !== undefined) scenario = { ...scenario, mode: overrides.mode };
  if (overrides.buggify !== undefined) scenario = { ...scenario, buggify: overrides.buggify };
  if (overrides.mutation !== undefined) {
    scenario = { ...scenario, mutations: MUTATIONS[overrides.mutation] };
  }
  if (overrides.nemeses !== undefined) {
    const keep = new Set(overrides.nemeses);
    scenario = { ...scenario, nemeses: scenario.nemeses.filter((_, index) => keep.has(index)) };
  }
  scenario = withDuration(scenario);
  return overrides.durationMs === undefined
    ? scenario
    : { ...scenario, durationMs: overrides.durationMs };
}

/**
 * Changes the load's rate and length; faults move with the load (a fault a
 * third into the load stays a third into it).
 */
export function scaleLoad(
  base: SwarmScenario,
  change: { readonly needsPerSecond?: number; readonly loadMs?: number },
): SwarmScenario {
  const loadMs = change.loadMs ?? base.load.loadMs;
  const factor = loadMs / base.load.loadMs;
  const start = base.load.startMs;
  const move = (atMs: number) => Math.round(start + (atMs - start) * factor);
  const nemeses = base.nemeses.map((nemesis): NemesisSpec => {
    const atMs = Math.max(0, move(nemesis.atMs));
    if (!("durationMs" in nemesis)) return { ...nemesis, atMs };
    return { ...nemesis, atMs, durationMs: Math.max(100, Math.round(nemesis.durationMs * factor)) };
  });
  return withDuration({
    ...base,
    load: {
      ...base.load,
      loadMs,
      needsPerSecond: change.needsPerSecond ?? base.load.needsPerSecond,
    },
    nemeses,
  });
}

/**
 * Nodes of a role (deciders, requesters) a schedule needs so that no fault
 * aimed at that role finds none free: a fault aimed at it needs one more than
 * the node faults overlapping it could occupy (any node may play the role;
 * mixed seed 9 drew a single decider, skewed its clock, and then had no
 * decider to pause; crashes seed 3325 had its requesters skewed and paused
 * when a kill came for one), and a failover two more deciders (the one it
 * pauses and the one taking the buckets; failover seed 1104 drew two
 * deciders and a second failover while the first one's decider was still
 * paused).
 */
export function nodesNeededFor(
  role: "decider" | "requester",
  nemeses: readonly NemesisSpec[],
): number {
  const occupying = nemeses.filter((nemesis) => "target" in nemesis || nemesis.kind === "failover");
  let needed = 1;
  for (const fault of occupying) {
    const aimed = fault.kind === "failover"
      ? role === "decider" ? 2 : 0
      : "target" in fault && fault.target === role
      ? 1
      : 0;
    if (aimed === 0) continue;
    const overlapping = occupying.filter((other) =>
      other !== fault && "durationMs" in other && "durationMs" in fault &&
      other.atMs < fault.atMs + fault.durationMs && fault.atMs < other.atMs + other.durationMs
    );
    needed = Math.max(needed, overlapping.length + aimed);
  }
  return needed;
}

/** The scenario with `nodes` nodes, role counts scaled to fit. */
function resize(base: SwarmScenario, nodes: number): SwarmScenario {
  const fit = (count: number) =>
    Math.max(1, Math.min(nodes, Math.round(count * nodes / base.nodes)));
  const roles = base.roles;
  return {
    ...base,
    nodes,
    organisations: Math.min(base.organisations, nodes),
    roles: {
      planners: fit(roles.planners),
      verifiers: roles.verifiers === base.nodes ? nodes : fit(roles.verifiers),
      workers: roles.workers === base.nodes ? nodes : fit(roles.workers),
      deciders: fit(roles.deciders),
      requesters: fit(roles.requesters),
      challengers: Math.min(nodes, roles.challengers),
    },
  };
}

/** Moves a fault within ±15 % of the load, stretches it by 0.5–1.5, redraws a partition shape. */
function jitter(nemesis: NemesisSpec, loadMs: number, random: Random): NemesisSpec {
  const atMs = Math.max(0, Math.round(nemesis.atMs + (random.float() - 0.5) * 0.3 * loadMs));
  if (nemesis.kind === "partition") {
    const shape = PARTITION_SHAPES[random.int(PARTITION_SHAPES.length)];
    const durationMs = Math.max(200, Math.round(nemesis.durationMs * (0.5 + random.float())));
    return { ...nemesis, atMs, durationMs, shape };
  }
  if (!("durationMs" in nemesis)) return { ...nemesis, atMs };
  return {
    ...nemesis,
    atMs,
    durationMs: Math.max(200, Math.round(nemesis.durationMs * (0.5 + random.float()))),
  };
}

function between(random: Random, min: number, max: number): number {
  return min + random.int(max - min + 1);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

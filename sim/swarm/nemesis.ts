/**
 * Nemeses at work: each scheduled fault starts (and, when it has a
 * duration, ends) as a simulation event, picks its targets from the run's
 * nemesis stream, applies itself to the simulated network, clocks and
 * nodes, and records what it did in the history. A fault that finds nothing
 * to act on records a `no-op`, which fails the run: no silent no-op faults.
 *
 * @module
 */

import { msToNs } from "../../runtime/env.ts";
import type { LinkOptions, NetworkStats } from "../network.ts";
import type { SeededRandom } from "../seeded_random.ts";
import type { Simulation } from "../simulation.ts";
import type { History } from "./history.ts";
import type { NemesisSpec, NodeTarget, PartitionShape } from "./nemesis_spec.ts";

/** What nemeses need from the run. */
export interface NemesisHost {
  readonly simulation: Simulation;
  readonly history: History;
  /** The nemesis random stream. */
  readonly random: SeededRandom;
  /** Protocol node ids. */
  readonly nodes: readonly string[];
  /** Other nodes (spammers): they stay with the first group of a partition. */
  readonly extraNodes: readonly string[];
  /** The scenario's link, restored by a heal. */
  readonly baseLink: LinkOptions;
  /** Whether `node` plays `target`. */
  plays(node: string, target: NodeTarget): boolean;
  /** The network was split into these connected sides. */
  onPartition(sides: readonly (readonly string[])[]): void;
  /** The network healed. */
  onHeal(): void;
  /** Moves the decide buckets of decider `from` to decider `to`. */
  failover(from: string, to: string): void;
  /** How many decide buckets `node` owns now. */
  bucketCount(node: string): number;
  /** Asks `node` to advance the epoch. */
  advanceEpoch(node: string): void;
}

/** A nemesis in progress. */
interface Active {
  readonly nodes: readonly string[];
  readonly undo: () => string;
}

/** What a nemesis start did: its targets, its description and how to undo it. */
type Started = { readonly nodes: readonly string[]; readonly detail: string; undo?: () => string };

/** Schedules every nemesis of `specs` on the host's simulation. */
export function scheduleNemeses(host: NemesisHost, specs: readonly NemesisSpec[]): void {
  const busy = new Map<string, number>();
  const active = new Map<number, Active>();
  specs.forEach((spec, index) => {
    host.simulation.at(spec.atMs, `nemesis ${spec.kind}`, () => {
      const started = start(host, spec, busy);
      if (typeof started === "string") return record(host, index, spec, "no-op", started, []);
      record(host, index, spec, "start", started.detail, started.nodes);
      if (started.undo === undefined) return;
      active.set(index, { nodes: started.nodes, undo: started.undo });
      if (isNodeFault(spec)) { for (const node of started.nodes) busy.set(node, index); }
    });
    if (!("durationMs" in spec)) return;
    host.simulation.at(spec.atMs + spec.durationMs, `nemesis ${spec.kind} end`, () => {
      const running = active.get(index);
      if (running === undefined) return;
      active.delete(index);
      for (const node of running.nodes) if (busy.get(node) === index) busy.delete(node);
      record(host, index, spec, "end", running.undo(), running.nodes);
    });
  });
}

function record(
  host: NemesisHost,
  index: number,
  spec: NemesisSpec,
  phase: "start" | "end" | "no-op",
  detail: string,
  nodes: readonly string[],
): void {
  host.history.push({ type: "nemesis", nemesis: index, kind: spec.kind, phase, detail, nodes });
  host.simulation.scheduler.trace.note("nemesis", `${index} ${spec.kind} ${phase} ${detail}`);
}

function isNodeFault(spec: NemesisSpec): boolean {
  return spec.kind === "kill-restart" || spec.kind === "pause" || spec.kind === "clock-skew" ||
    spec.kind === "failover";
}

/** Applies a nemesis; returns what it did, or why it could not act. */
function start(host: NemesisHost, spec: NemesisSpec, busy: Map<string, number>): Started | string {
  const sim = host.simulation;
  switch (spec.kind) {
    case "partition":
      return partition(host, spec.shape);
    case "heal":
      return heal(host);
    case "slow-links":
      return slowLinks(host, spec);
    case "flaky-links": {
      const stats = { ...sim.network.stats };
      sim.network.setDefaultLink(spec);
      const detail = `drop ${spec.dropRate} dup ${spec.duplicateRate} reorder ${spec.reorderRate}`;
      return {
        nodes: [],
        detail,
        undo: () => {
          sim.network.setDefaultLink(host.baseLink);
          return networkEffect(stats, sim.network.stats);
        },
      };
    }
    case "kill-restart": {
      const node = pick(host, spec.target, busy);
      if (node === undefined) return `no ${spec.target} node is up and free to kill`;
      sim.crash(node);
      return { nodes: [node], detail: `killed ${node}`, undo: () => restart(sim, node) };
    }
    case "pause": {
      const node = pick(host, spec.target, busy);
      if (node === undefined) return `no ${spec.target} node is up and free to pause`;
      sim.pause(node);
      return { nodes: [node], detail: `paused ${node}`, undo: () => resume(sim, node) };
    }
    case "clock-skew":
      return skew(host, spec, busy);
    case "failover":
      return failover(host, busy);
    case "epoch-advance": {
      const node = pick(host, "any", busy);
      if (node === undefined) return "no node is up to advance the epoch";
      host.advanceEpoch(node);
      return { nodes: [node], detail: `${node} advances the epoch` };
    }
  }
}

function restart(sim: Simulation, node: string): string {
  sim.restart(node);
  return `restarted ${node}`;
}

function resume(sim: Simulation, node: string): string {
  sim.resume(node);
  return `resumed ${node}`;
}

/** Protocol nodes that are up, unpaused and not under another node fault. */
function available(host: NemesisHost, busy: Map<string, number>): string[] {
  return host.nodes.filter((node) => {
    const state = host.simulation.node(node);
    return state.up && !state.paused && !busy.has(node);
  });
}

/**
 * A node playing `target` that is up and unpaused: one under no other node
 * fault when there is one, else one under another (a skewed node can still
 * be killed), so a fault whose only candidates are busy still acts.
 */
function pick(
  host: NemesisHost,
  target: NodeTarget,
  busy: Map<string, number>,
): string | undefined {
  const playing = available(host, new Map()).filter((node) => host.plays(node, target));
  const free = playing.filter((node) => !busy.has(node));
  const candidates = free.length > 0 ? free : playing;
  return candidates.length === 0 ? undefined : candidates[host.random.int(candidates.length)];
}

function shuffled(nodes: readonly string[], random: SeededRandom): string[] {
  const copy = [...nodes];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = random.int(index + 1);
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
}

/** The groups of a partition shape, and the bridge node for `bridge`. */
export function partitionGroups(
  shape: PartitionShape,
  nodes: readonly string[],
  random: SeededRandom,
): { groups: string[][]; bridge?: string } {
  const order = shuffled(nodes, random);
  switch (shape) {
    case "halves": {
      const half = Math.floor(order.length / 2);
      return { groups: [order.slice(0, half), order.slice(half)] };
    }
    case "majority-minority": {
      const majority = Math.floor(order.length / 2) + 1;
      return { groups: [order.slice(0, majority), order.slice(majority)] };
    }
    case "bridge": {
      const [bridge, ...rest] = order;
      const half = Math.floor(rest.length / 2);
      return { groups: [rest.slice(0, half), rest.slice(half), [bridge]], bridge };
    }
    case "isolate-one":
      return { groups: [order.slice(1), [order[0]]] };
  }
}

function partition(host: NemesisHost, shape: PartitionShape): Started | string {
  const sim = host.simulation;
  const { groups, bridge } = partitionGroups(shape, host.nodes, host.random);
  sim.partition(groups.map((group, index) => index === 0 ? [...group, ...host.extraNodes] : group));
  if (bridge !== undefined) {
    for (const other of sim.nodeIds) {
      if (other === bridge) continue;
      sim.network.block(bridge, other, false);
      sim.network.block(other, bridge, false);
    }
  }
  const sides = connectedSides(host);
  if (sides.length < 2 && bridge === undefined) return `partition ${shape} separated nobody`;
  const stats = { ...sim.network.stats };
  host.onPartition(sides);
  const detail = `${shape}: ${groups.map((group) => `[${group.join(",")}]`).join(" ")}` +
    (bridge === undefined ? "" : ` bridge ${bridge}`);
  return {
    nodes: host.nodes,
    detail,
    undo: () => {
      sim.heal();
      host.onHeal();
      return `healed; ${networkEffect(stats, sim.network.stats)}`;
    },
  };
}

/** The connected sides of the protocol nodes (two nodes connect when both directions work). */
export function connectedSides(host: Pick<NemesisHost, "simulation" | "nodes">): string[][] {
  const network = host.simulation.network;
  const sideOf = new Map<string, number>();
  const sides: string[][] = [];
  for (const node of host.nodes) {
    if (sideOf.has(node)) continue;
    const side: string[] = [];
    const queue = [node];
    sideOf.set(node, sides.length);
    while (queue.length > 0) {
      const current = queue.shift() as string;
      side.push(current);
      for (const other of host.nodes) {
        if (sideOf.has(other)) continue;
        if (network.reachable(current, other) && network.reachable(other, current)) {
          sideOf.set(other, sides.length);
          queue.push(other);
        }
      }
    }
    sides.push(side);
  }
  return sides;
}

function heal(host: NemesisHost): Started {
  const sim = host.simulation;
  sim.heal();
  sim.network.resetLinks();
  sim.network.setDefaultLink(host.baseLink);
  for (const node of sim.nodeIds) {
    sim.node(node).clock.offsetNs = 0n;
    sim.node(node).clock.driftPpm = 0;
  }
  host.onHeal();
  return { nodes: [], detail: "healed partitions, links and clocks" };
}

function slowLinks(
  host: NemesisHost,
  spec: Extract<NemesisSpec, { kind: "slow-links" }>,
): Started | string {
  const sim = host.simulation;
  const links: [string, string][] = [];
  for (const from of host.nodes) {
    for (const to of host.nodes) {
      if (from !== to && host.random.float() < spec.share) links.push([from, to]);
    }
  }
  if (links.length === 0) return "slow links picked no link";
  for (const [from, to] of links) {
    sim.network.setLink(from, to, {
      latencyMinMs: spec.latencyMinMs,
      latencyMaxMs: spec.latencyMaxMs,
    });
  }
  return {
    nodes: [],
    detail: `${links.length} links at ${spec.latencyMinMs}-${spec.latencyMaxMs} ms`,
    undo: () => {
      for (const [from, to] of links) sim.network.clearLink(from, to);
      return `${links.length} links back to normal`;
    },
  };
}

function skew(
  host: NemesisHost,
  spec: Extract<NemesisSpec, { kind: "clock-skew" }>,
  busy: Map<string, number>,
): Started | string {
  const node = pick(host, spec.target, busy);
  if (node === undefined) return `no ${spec.target} node is up and free to skew`;
  const clock = host.simulation.node(node).clock;
  const before = { offsetNs: clock.offsetNs, driftPpm: clock.driftPpm };
  const elapsed = host.simulation.scheduler.nowNs;
  // Drift counts from now: compensate what it would add for the time already elapsed.
  const compensation = (elapsed * BigInt(Math.round(spec.driftPpm * 1000))) / 1_000_000_000n;
  clock.offsetNs += msToNs(spec.offsetMs) - compensation;
  clock.driftPpm += spec.driftPpm;
  return {
    nodes: [node],
    detail: `${node} clock ${
      spec.offsetMs >= 0 ? "+" : ""
    }${spec.offsetMs} ms, drift ${spec.driftPpm} ppm`,
    undo: () => {
      clock.offsetNs = before.offsetNs;
      clock.driftPpm = before.driftPpm;
      return `${node} clock corrected`;
    },
  };
}

function failover(host: NemesisHost, busy: Map<string, number>): Started | string {
  const deciders = available(host, busy).filter((node) => host.plays(node, "decider"));
  const owners = deciders.filter((node) => host.bucketCount(node) > 0);
  if (deciders.length < 2 || owners.length === 0) {
    return "failover needs a decider with buckets and another decider, both up and free";
  }
  const from = owners[host.random.int(owners.length)];
  const others = deciders.filter((node) => node !== from);
  const to = others[host.random.int(others.length)];
  host.simulation.pause(from);
  host.failover(from, to);
  return {
    nodes: [from],
    detail: `paused decider ${from}; ${to} takes its buckets`,
    undo: () => resume(host.simulation, from) + " (a zombie with stale fences)",
  };
}

function networkEffect(before: NetworkStats, after: NetworkStats): string {
  const delta = (key: keyof NetworkStats) => after[key] - before[key];
  return `cut ${delta("droppedByPartition")}, lost ${delta("droppedByLoss")}, duplicated ${
    delta("duplicated")
  }, reordered ${delta("reordered")} frames`;
}

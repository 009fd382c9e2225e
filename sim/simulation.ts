/**
 * A whole simulated swarm: nodes with actor systems on one scheduler and one
 * simulated network, with crash, restart, pause, partition and clock skew,
 * and the trace hash that proves a seed replays exactly.
 *
 * @module
 */

import { msToNs } from "../runtime/env.ts";
import { SwarmError } from "../runtime/errors.ts";
import { type LogSink, silentLogSink } from "../runtime/log.ts";
import { MemoryStore } from "../runtime/store/memory_store.ts";
import { ActorSystem, type ActorSystemOptions } from "../runtime/system.ts";
import { type LinkOptions, SimNetwork, type SimTransport } from "./network.ts";
import { type EventOwner, type RunSummary, SimScheduler } from "./scheduler.ts";
import { SeededRandom } from "./seeded_random.ts";
import { SimClock, SimEnv, SimFaults } from "./sim_env.ts";

/** Starts a node's actors on a fresh system (at first start and after every restart). */
export type NodeBoot = (system: ActorSystem) => void | Promise<void>;

/** Options of {@linkcode Simulation}. */
export interface SimulationOptions {
  /** The seed: fixes every random choice, identity and fault of the run. */
  seed: number;
  /** The default link between nodes. */
  link?: Partial<LinkOptions>;
  /** Enables BUGGIFY fault points. Default false. */
  buggify?: boolean;
  /** Actor system options for every node (logs are silent by default). */
  system?: Omit<ActorSystemOptions, "log">;
  /** Where actor logs go. Default: nowhere. */
  log?: LogSink;
}

/** Raised for misuse of a simulation (unknown node, node already up or down). */
export class SimulationError extends SwarmError {}

/** One simulated node: survives crashes with its store, loses its memory. */
export class SimNode implements EventOwner {
  readonly id: string;
  /** The node's disk; its expiries run on the node's own clock, as a real store's do. */
  readonly store = new MemoryStore({ nowMs: () => Number(this.clock.nowNs() / 1_000_000n) });
  readonly clock: SimClock;
  readonly random: SeededRandom;
  incarnation = 0;
  paused = false;
  /** True from (re)start until a crash. */
  up = false;
  /** The current incarnation's actor system, once booted. */
  system: ActorSystem | undefined;
  /** The current incarnation's network endpoint. */
  transport: SimTransport | undefined;
  readonly #boot: NodeBoot;

  constructor(id: string, seed: number, scheduler: SimScheduler, boot: NodeBoot) {
    this.id = id;
    this.clock = new SimClock(scheduler);
    this.random = SeededRandom.derive(seed, `node:${id}`);
    this.#boot = boot;
  }

  /** Boots a fresh actor system for the current incarnation. */
  boot(system: ActorSystem): void | Promise<void> {
    this.system = system;
    return this.#boot(system);
  }
}

/** A seeded, reproducible run of a swarm on virtual time. */
export class Simulation {
  readonly seed: number;
  readonly scheduler = new SimScheduler();
  readonly network: SimNetwork;
  readonly faults: SimFaults;
  readonly #nodes = new Map<string, SimNode>();
  readonly #systemOptions: ActorSystemOptions;

  constructor(options: SimulationOptions) {
    if (!Number.isInteger(options.seed)) {
      throw new SimulationError("E_SIM_SEED", `Seed must be an integer, got ${options.seed}`);
    }
    this.seed = options.seed;
    this.network = new SimNetwork(
      this.scheduler,
      SeededRandom.derive(options.seed, "network"),
      options.link,
    );
    this.faults = new SimFaults(this.scheduler, options.seed, options.buggify ?? false);
    this.#systemOptions = { ...options.system, log: options.log ?? silentLogSink };
    this.scheduler.trace.note("seed", String(options.seed));
  }

  /** Node ids in the order they were added. */
  get nodeIds(): string[] {
    return [...this.#nodes.keys()];
  }

  /** The node `id`. */
  node(id: string): SimNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new SimulationError("E_SIM_NODE", `Unknown simulated node ${id}`);
    return node;
  }

  /** Adds a node that boots at the current virtual time. */
  addNode(id: string, boot: NodeBoot): SimNode {
    if (this.#nodes.has(id)) {
      throw new SimulationError("E_SIM_NODE", `Simulated node ${id} already exists`);
    }
    const node = new SimNode(id, this.seed, this.scheduler, boot);
    this.#nodes.set(id, node);
    this.#start(node);
    return node;
  }

  /** Schedules `action` at virtual time `timeMs` from the start of the run. */
  at(timeMs: number, label: string, action: () => void | Promise<void>): void {
    this.scheduler.at(msToNs(timeMs), label, action);
  }

  /** Kills a node: its actors and timers vanish, its store stays. */
  crash(id: string): void {
    const node = this.node(id);
    if (!node.up) throw new SimulationError("E_SIM_NODE_DOWN", `Cannot crash ${id}: it is down`);
    node.incarnation++;
    node.paused = false;
    node.up = false;
    node.transport?.close();
    node.transport = undefined;
    node.system = undefined;
    this.scheduler.trace.note("crash", id);
  }

  /** Boots a crashed node again from its store. */
  restart(id: string): void {
    const node = this.node(id);
    if (node.up) throw new SimulationError("E_SIM_NODE_UP", `Cannot restart ${id}: it is up`);
    this.scheduler.trace.note("restart", id);
    this.#start(node);
  }

  /** Freezes a node: its events wait until {@linkcode resume}. */
  pause(id: string): void {
    this.node(id).paused = true;
    this.scheduler.trace.note("pause", id);
  }

  /** Unfreezes a paused node. */
  resume(id: string): void {
    const node = this.node(id);
    node.paused = false;
    this.scheduler.resumeOwner(node);
    this.scheduler.trace.note("resume", id);
  }

  /** Partitions the nodes into groups (see {@linkcode SimNetwork.partition}). */
  partition(groups: readonly (readonly string[])[]): void {
    this.network.partition(groups, this.nodeIds);
  }

  /** Heals every partition. */
  heal(): void {
    this.network.heal();
  }

  /** Runs for `durationMs` of virtual time from now (or until the agenda drains). */
  run(durationMs: number, maxEvents?: number): Promise<RunSummary> {
    return this.scheduler.run({ untilNs: this.scheduler.nowNs + msToNs(durationMs), maxEvents });
  }

  /** The trace hash so far: hex SHA-256 of the canonical event trace. */
  get traceHash(): string {
    return this.scheduler.trace.digest();
  }

  #start(node: SimNode): void {
    node.up = true;
    const transport = this.network.connect(node.id);
    node.transport = transport;
    node.store.reopen();
    const env = new SimEnv({
      nodeId: node.id,
      scheduler: this.scheduler,
      owner: node,
      clock: node.clock,
      random: node.random,
      faults: this.faults.forNode(node.id),
      store: node.store,
      transport,
    });
    this.scheduler.at(
      this.scheduler.nowNs,
      "boot",
      () => node.boot(ActorSystem.create(env, this.#systemOptions)),
      node,
    );
  }
}

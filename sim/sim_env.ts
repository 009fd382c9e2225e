/**
 * The simulated environment of one node: its clock (virtual time plus this
 * node's skew and drift), timers and executor on the scheduler, a seeded
 * random stream, its simulated network endpoint and its simulated disk.
 *
 * @module
 */

import type {
  Clock,
  Env,
  Executor,
  Faults,
  Random,
  Runnable,
  Settled,
  TimerHandle,
  Timers,
} from "../runtime/env.ts";
import { msToNs } from "../runtime/env.ts";
import type { Store } from "../runtime/store/store.ts";
import type { Transport } from "../runtime/transport/transport.ts";
import type { EventOwner, SimScheduler } from "./scheduler.ts";
import { SeededRandom } from "./seeded_random.ts";

/** Node clocks in simulation start at 2026-01-01T00:00:00Z, so timestamps look like real ones. */
export const SIM_EPOCH_NS = 1_767_225_600_000_000_000n;

/** A node's view of virtual time: offset (skew) and rate error (drift, parts per million). */
export class SimClock implements Clock {
  readonly #scheduler: SimScheduler;
  offsetNs = 0n;
  driftPpm = 0;

  constructor(scheduler: SimScheduler) {
    this.#scheduler = scheduler;
  }

  nowNs(): bigint {
    const elapsed = this.#scheduler.nowNs;
    const drift = this.driftPpm === 0
      ? 0n
      : (elapsed * BigInt(Math.round(this.driftPpm * 1000))) / 1_000_000_000n;
    return SIM_EPOCH_NS + elapsed + this.offsetNs + drift;
  }
}

/** A fault point that fired: which, on which node, and the NEED it delays (if it said). */
export interface FaultFire {
  readonly name: string;
  readonly node: string | undefined;
  readonly subject: string | undefined;
}

/** Fault injection points (BUGGIFY), active only when enabled for the run. */
export class SimFaults implements Faults {
  readonly #random: Random;
  readonly #scheduler: SimScheduler;
  readonly #active = new Map<string, boolean>();
  readonly fired = new Map<string, number>();
  /** Whether fault points may fire in this run. */
  enabled: boolean;
  /** Share of fault points activated in a run where faults are enabled. */
  activationRate = 0.25;
  /** Chance that an active fault point fires each time it is reached. */
  fireRate = 0.05;
  /** Told of every fault point that fires (the swarm harness records them in its history). */
  onFire: ((fire: FaultFire) => void) | undefined;

  constructor(scheduler: SimScheduler, seed: number, enabled: boolean) {
    this.#scheduler = scheduler;
    this.#random = SeededRandom.derive(seed, "buggify");
    this.enabled = enabled;
  }

  /** The fault points as one node reaches them: each firing names that node. */
  forNode(node: string): Faults {
    return { buggify: (name, subject) => this.buggify(name, subject, node) };
  }

  buggify(name: string, subject?: string, node?: string): boolean {
    if (!this.enabled) return false;
    let active = this.#active.get(name);
    if (active === undefined) {
      active = this.#random.float() < this.activationRate;
      this.#active.set(name, active);
    }
    if (!active || this.#random.float() >= this.fireRate) return false;
    this.fired.set(name, (this.fired.get(name) ?? 0) + 1);
    this.#scheduler.trace.note("buggify", name);
    this.onFire?.({ name, node, subject });
    return true;
  }
}

/** Runs each actor turn as one scheduler event, owned by the node's incarnation. */
class SimExecutor implements Executor {
  constructor(readonly scheduler: SimScheduler, readonly owner: EventOwner) {}

  schedule(runnable: Runnable): void {
    this.scheduler.at(this.scheduler.nowNs, runnable.label, () => runnable.run(1), this.owner);
  }

  settleExternal<T>(promise: Promise<T>, deliver: (result: Settled<T>) => void): void {
    this.scheduler.trackExternal(promise, deliver);
  }
}

/** Timers as scheduler events owned by the node's incarnation. */
class SimTimers implements Timers {
  constructor(readonly scheduler: SimScheduler, readonly owner: EventOwner) {}

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.scheduler.at(this.scheduler.nowNs + msToNs(delayMs), "timer", callback, this.owner);
  }
}

/** Parts of a {@linkcode SimEnv} that outlive a node incarnation. */
export interface SimNodeParts {
  readonly nodeId: string;
  readonly scheduler: SimScheduler;
  readonly owner: EventOwner;
  readonly clock: SimClock;
  readonly random: Random;
  readonly faults: Faults;
  readonly store: Store;
  readonly transport: Transport;
}

/** The environment of one simulated node incarnation. */
export class SimEnv implements Env {
  readonly mode = "sim" as const;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly executor: Executor;
  readonly transport: Transport;
  readonly store: Store;
  readonly faults: Faults;
  readonly tracer;

  constructor(parts: SimNodeParts) {
    this.nodeId = parts.nodeId;
    this.clock = parts.clock;
    this.timers = new SimTimers(parts.scheduler, parts.owner);
    this.random = parts.random;
    this.executor = new SimExecutor(parts.scheduler, parts.owner);
    this.transport = parts.transport;
    this.store = parts.store;
    this.faults = parts.faults;
    this.tracer = parts.scheduler.trace;
  }
}

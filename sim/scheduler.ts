/**
 * The deterministic scheduler: virtual time in nanoseconds, one event at a
 * time to completion.
 *
 * Every timer, message run and network delivery is an event. The loop pops
 * the earliest event, advances the clock to it, runs it and awaits its
 * promise before taking the next, so asynchronous handlers cannot
 * interleave. Promises from outside (crypto, I/O) registered through
 * {@linkcode SimScheduler.trackExternal} are awaited after the event that
 * registered them and delivered in registration order. Events owned by a
 * crashed node incarnation are skipped. The same seed therefore gives the
 * same sequence of events, and the same trace hash.
 *
 * @module
 */

import type { Settled } from "../runtime/env.ts";
import { assert } from "../runtime/errors.ts";
import { EventQueue, type QueuedEvent } from "../runtime/time_queue.ts";
import { TraceRecorder } from "./trace.ts";

/** Something whose events die with it: a simulated node's incarnation. */
export interface EventOwner {
  readonly id: string;
  /** Increases at every crash; events of older incarnations are skipped. */
  readonly incarnation: number;
  /** While true, the owner's events wait (a paused process). */
  readonly paused: boolean;
}

interface SimEvent extends QueuedEvent {
  readonly owner: EventOwner | undefined;
  readonly incarnation: number;
  readonly label: string;
  readonly action: () => void | Promise<void>;
  cancelled: boolean;
}

/** A scheduled event that can be cancelled. */
export interface ScheduledEvent {
  cancel(): void;
}

/** Options of {@linkcode SimScheduler.run}. */
export interface RunOptions {
  /** Stop before the first event later than this virtual time. */
  untilNs?: bigint;
  /** Stop after this many events (a safety bound). Default 50,000,000. */
  maxEvents?: number;
  /** Checked after every event; the run ends when it returns true. */
  stopWhen?: () => boolean;
}

/** Summary of a run. */
export interface RunSummary {
  readonly events: number;
  readonly skipped: number;
  /** Virtual time when the run ended (the time limit, when one was given and reached or drained). */
  readonly endNs: bigint;
  /** Virtual time of the last event that ran. */
  readonly lastEventNs: bigint;
  readonly reason: "drained" | "time-limit" | "event-limit" | "stopped";
}

interface External {
  /** Settles as soon as the outside promise does; handled at once, so no rejection goes unhandled. */
  readonly settled: Promise<Settled<unknown>>;
  readonly deliver: (result: Settled<unknown>) => void;
}

/** Virtual time and the agenda of one simulation. */
export class SimScheduler {
  readonly trace: TraceRecorder;
  readonly #queue = new EventQueue<SimEvent>();
  readonly #externals: External[] = [];
  readonly #deferred: SimEvent[] = [];
  #nowNs = 0n;
  #sequence = 0;
  #running = false;

  constructor() {
    this.trace = new TraceRecorder(() => this.#nowNs);
  }

  /** Current virtual time, ns since the start of the run. */
  get nowNs(): bigint {
    return this.#nowNs;
  }

  /** Events waiting. */
  get pending(): number {
    return this.#queue.size + this.#deferred.length;
  }

  /**
   * Schedules `action` at virtual time `timeNs` (never in the past), owned by
   * `owner` when given.
   */
  at(
    timeNs: bigint,
    label: string,
    action: () => void | Promise<void>,
    owner?: EventOwner,
  ): ScheduledEvent {
    const event: SimEvent = {
      timeNs: timeNs < this.#nowNs ? this.#nowNs : timeNs,
      sequence: this.#sequence++,
      owner,
      incarnation: owner?.incarnation ?? 0,
      label,
      action,
      cancelled: false,
    };
    this.#queue.push(event);
    return { cancel: () => (event.cancelled = true) };
  }

  /** Registers an outside promise; see the module documentation. */
  trackExternal<T>(promise: Promise<T>, deliver: (result: Settled<T>) => void): void {
    const settled = promise.then(
      (value): Settled<unknown> => ({ ok: true, value }),
      (error): Settled<unknown> => ({ ok: false, error }),
    );
    this.#externals.push({ settled, deliver: deliver as (result: Settled<unknown>) => void });
  }

  /** Moves events of an owner that was paused back onto the agenda. */
  resumeOwner(owner: EventOwner): void {
    for (let index = this.#deferred.length - 1; index >= 0; index--) {
      const event = this.#deferred[index];
      if (event.owner !== owner) continue;
      this.#deferred.splice(index, 1);
      this.#queue.push({ ...event, timeNs: this.#nowNs, sequence: this.#sequence++ });
    }
  }

  /** Runs events until the agenda drains or a limit is reached. */
  async run(options: RunOptions = {}): Promise<RunSummary> {
    assert(!this.#running, "SimScheduler.run() called while already running");
    this.#running = true;
    const maxEvents = options.maxEvents ?? 50_000_000;
    let events = 0;
    let skipped = 0;
    let lastEventNs = this.#nowNs;
    let reason: RunSummary["reason"] = "drained";
    try {
      for (;;) {
        const next = this.#queue.peek();
        if (next === undefined) break;
        if (options.untilNs !== undefined && next.timeNs > options.untilNs) {
          reason = "time-limit";
          break;
        }
        if (events >= maxEvents) {
          reason = "event-limit";
          break;
        }
        this.#queue.pop();
        if (!this.#runnable(next)) {
          skipped++;
          continue;
        }
        this.#nowNs = next.timeNs;
        lastEventNs = next.timeNs;
        this.trace.line(next.owner === undefined ? next.label : `${next.owner.id} ${next.label}`);
        const result = next.action();
        if (result !== undefined) await result;
        if (this.#externals.length > 0) await this.#settleExternals();
        events++;
        if (options.stopWhen?.()) {
          reason = "stopped";
          break;
        }
      }
      // Time passes up to the limit even when nothing happens in between.
      const reachedLimit = reason === "time-limit" || reason === "drained";
      if (reachedLimit && options.untilNs !== undefined && this.#nowNs < options.untilNs) {
        this.#nowNs = options.untilNs;
      }
    } finally {
      this.#running = false;
    }
    return { events, skipped, endNs: this.#nowNs, lastEventNs, reason };
  }

  /** False for cancelled events and events of a dead incarnation; defers a paused owner's events. */
  #runnable(event: SimEvent): boolean {
    if (event.cancelled) return false;
    const owner = event.owner;
    if (owner === undefined) return true;
    if (owner.incarnation !== event.incarnation) return false;
    if (owner.paused) {
      this.#deferred.push(event);
      return false;
    }
    return true;
  }

  async #settleExternals(): Promise<void> {
    while (this.#externals.length > 0) {
      const batch = this.#externals.splice(0, this.#externals.length);
      for (const external of batch) external.deliver(await external.settled);
    }
  }
}

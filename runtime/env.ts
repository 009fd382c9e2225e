/**
 * The environment an actor system runs in: clock, timers, randomness,
 * execution, transport and store.
 *
 * Domain code never touches the host directly (DESIGN.md §2); it receives
 * these interfaces through the actor context. {@linkcode RealEnv} implements
 * them with the host, the simulator's `SimEnv` with virtual time, a seeded
 * PRNG and a simulated network, so the same actors run in both.
 *
 * @module
 */

import type { Store } from "./store/store.ts";
import type { Transport } from "./transport/transport.ts";

/** Source of time. Nanoseconds since the Unix epoch (real) or since the run began (sim). */
export interface Clock {
  /** Current time in nanoseconds. */
  nowNs(): bigint;
}

/** A scheduled callback that can be cancelled before it fires. */
export interface TimerHandle {
  /** Prevents the callback from running; a no-op once it has run. */
  cancel(): void;
  /**
   * Whether this timer alone keeps the process running (default true).
   * Only host timers honour it; simulated time has no process to keep.
   */
  keepAlive?(keep: boolean): void;
}

/** One-shot timers; periodic work re-arms itself so every firing is an explicit event. */
export interface Timers {
  /** Runs `callback` once after `delayMs` milliseconds (fractions allowed). */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

/** Randomness. Seeded and reproducible in simulation, cryptographic in production. */
export interface Random {
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** Something the executor can run: an actor cell with pending work. */
export interface Runnable {
  /**
   * Processes up to `budget` units of work. Returns a promise when the work
   * went asynchronous; the executor must not run this runnable again before
   * the promise settles (the runnable reschedules itself when needed).
   */
  run(budget: number): void | Promise<void>;
  /** Stable label for traces, e.g. the actor path. */
  readonly label: string;
}

/**
 * Decides when runnables run and how promises from the outside world are
 * folded back in. The real executor drains a run queue on microtasks; the
 * simulated one turns each run into an ordered event on virtual time.
 */
export interface Executor {
  /** Queues a runnable that has work to do. */
  schedule(runnable: Runnable): void;
  /**
   * Observes a promise produced outside the actor system (I/O, crypto) and
   * calls `deliver` once it settles. In simulation the settle is awaited
   * before the next event runs and delivered in registration order, so
   * host timing cannot leak into the trace.
   */
  settleExternal<T>(promise: Promise<T>, deliver: (result: Settled<T>) => void): void;
}

/** The outcome of a promise, as delivered by {@linkcode Executor.settleExternal}. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Fault injection points (FoundationDB's BUGGIFY); always false outside simulation. */
export interface Faults {
  /**
   * True when the rare path named `name` should be taken now. `subject`
   * names the work the fault delays (a NEED id), so the simulator's checkers
   * can tell which NEEDs a fault hit.
   */
  buggify(name: string, subject?: string): boolean;
}

/**
 * Records what the system does, for the simulator's trace hash. Absent in
 * production, so tracing costs nothing there.
 */
export interface Tracer {
  /** An actor is about to handle `message` (sent by `sender`, when known). */
  delivery(path: string, sender: string | undefined, message: unknown): void;
  /** Any other traced fact, e.g. a dead letter or a restart. */
  note(kind: string, detail: string): void;
}

/** Everything an actor system needs from its host. */
export interface Env {
  /** `"real"` on the host, `"sim"` under the deterministic scheduler. */
  readonly mode: "real" | "sim";
  /** Identifier of the node this environment belongs to. */
  readonly nodeId: string;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly executor: Executor;
  readonly transport: Transport;
  readonly store: Store;
  readonly faults: Faults;
  /** Present under simulation only. */
  readonly tracer?: Tracer;
}

/** Converts milliseconds (possibly fractional) to whole nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1_000_000));
}

/** Converts nanoseconds to milliseconds as a float. */
export function nsToMs(ns: bigint): number {
  return Number(ns) / 1_000_000;
}

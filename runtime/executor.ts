/**
 * The production executor: a run queue of actors drained on microtasks,
 * yielding to the host event loop after a bounded slice so timers and I/O
 * are never starved.
 *
 * @module
 */

import type { Executor, Runnable, Settled } from "./env.ts";
import { RingQueue } from "./ring_queue.ts";

/** Options of {@linkcode MicrotaskExecutor}. */
export interface MicrotaskExecutorOptions {
  /** Messages one actor may handle before the next actor gets a turn. Default 64. */
  throughput?: number;
  /** Actor turns per slice before yielding to the event loop. Default 1,024. */
  turnsPerSlice?: number;
}

/** Runs actors in FIFO turns on the microtask queue. */
export class MicrotaskExecutor implements Executor {
  readonly #queue = new RingQueue<Runnable>(64);
  readonly #throughput: number;
  readonly #turnsPerSlice: number;
  readonly #yieldChannel = new MessageChannel();
  #armed = false;

  constructor(options: MicrotaskExecutorOptions = {}) {
    this.#throughput = options.throughput ?? 64;
    this.#turnsPerSlice = options.turnsPerSlice ?? 1_024;
    this.#yieldChannel.port1.onmessage = () => this.#drain();
    // An idle port must not keep the process alive.
    (this.#yieldChannel.port1 as unknown as { unref?: () => void }).unref?.();
  }

  schedule(runnable: Runnable): void {
    this.#queue.push(runnable);
    if (!this.#armed) {
      this.#armed = true;
      queueMicrotask(() => this.#drain());
    }
  }

  settleExternal<T>(promise: Promise<T>, deliver: (result: Settled<T>) => void): void {
    promise.then((value) => deliver({ ok: true, value }), (error) => deliver({ ok: false, error }));
  }

  /** Closes the yield channel so the process can exit. */
  close(): void {
    this.#yieldChannel.port1.close();
  }

  #drain(): void {
    for (let turns = 0; turns < this.#turnsPerSlice; turns++) {
      const runnable = this.#queue.shift();
      if (runnable === undefined) {
        this.#armed = false;
        return;
      }
      // A runnable that goes async reschedules itself when it settles.
      runnable.run(this.#throughput);
    }
    // More work remains: let timers and I/O run, then continue (no 4 ms clamp, unlike setTimeout).
    this.#yieldChannel.port2.postMessage(null);
  }
}

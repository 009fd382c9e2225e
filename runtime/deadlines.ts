/**
 * Many one-shot deadlines on a single host timer.
 *
 * Asks need a timeout each, and a host timer per ask costs more than the
 * ask itself (arming and clearing a `setTimeout` is several microseconds).
 * This queue keeps deadlines in a heap and arms one timer for the earliest;
 * cancelled deadlines are dropped lazily and compacted when they dominate,
 * so memory stays bounded by the live deadlines.
 *
 * @module
 */

import { type Clock, msToNs, type TimerHandle, type Timers } from "./env.ts";
import { EventQueue } from "./time_queue.ts";

interface Deadline {
  readonly timeNs: bigint;
  readonly sequence: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** Deadlines sharing one timer of `timers`, measured on `clock`. */
export class DeadlineQueue {
  readonly #timers: Timers;
  readonly #clock: Clock;
  readonly #queue = new EventQueue<Deadline>();
  #sequence = 0;
  #cancelled = 0;
  #armed: { timeNs: bigint; handle: TimerHandle } | undefined;

  constructor(timers: Timers, clock: Clock) {
    this.#timers = timers;
    this.#clock = clock;
  }

  /** Live and not yet compacted deadlines. */
  get size(): number {
    return this.#queue.size;
  }

  /** Calls `callback` once after `delayMs`, unless cancelled first. */
  add(delayMs: number, callback: () => void): TimerHandle {
    const deadline: Deadline = {
      timeNs: this.#clock.nowNs() + msToNs(delayMs),
      sequence: this.#sequence++,
      callback,
      cancelled: false,
    };
    this.#queue.push(deadline);
    if (this.#armed === undefined || deadline.timeNs < this.#armed.timeNs) {
      this.#arm(deadline.timeNs);
    } else if (this.#queue.size === 1) this.#armed.handle.keepAlive?.(true);
    return { cancel: () => this.#cancel(deadline) };
  }

  #cancel(deadline: Deadline): void {
    if (deadline.cancelled) return;
    deadline.cancelled = true;
    this.#cancelled++;
    if (this.#cancelled === this.#queue.size) {
      // Nothing live is left: the armed timer stays (re-arming costs more than
      // a spare firing) but must not keep the process alive on its own.
      this.#armed?.handle.keepAlive?.(false);
      this.#queue.removeWhere(() => true);
      this.#cancelled = 0;
    } else if (this.#cancelled > 64 && this.#cancelled * 2 > this.#queue.size) {
      this.#queue.removeWhere((entry) => entry.cancelled);
      this.#cancelled = 0;
    }
  }

  #arm(timeNs: bigint): void {
    this.#armed?.handle.cancel();
    const delayMs = Math.max(0, Number(timeNs - this.#clock.nowNs()) / 1_000_000);
    this.#armed = { timeNs, handle: this.#timers.setTimer(delayMs, () => this.#fire(timeNs)) };
  }

  #fire(armedNs: bigint): void {
    this.#armed = undefined;
    const nowNs = this.#clock.nowNs();
    const limitNs = nowNs > armedNs ? nowNs : armedNs;
    for (;;) {
      const next = this.#queue.peek();
      if (next === undefined) return;
      if (next.cancelled) {
        this.#queue.pop();
        this.#cancelled--;
        continue;
      }
      if (next.timeNs > limitNs) return this.#arm(next.timeNs);
      this.#queue.pop();
      next.cancelled = true; // a late cancel() is now a no-op
      next.callback();
    }
  }
}

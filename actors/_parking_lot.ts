/**
 * Messages that arrived before what they refer to. Peers' messages are not
 * causally ordered on the wire (an ATTEST can overtake the COMMIT it judges),
 * so the core parks a message the lifecycle calls "not yet" and retries it
 * when its thread moves on or its window opens. Bounded in count and age:
 * overflow and expiry drop the oldest, and the caller counts the drop.
 *
 * @module
 */

import type { LifecycleMessage } from "../protocols/lifecycle/payloads.ts";

/** A parked message and why it waits. */
export interface Parked {
  readonly message: LifecycleMessage;
  /** The envelope as it travelled, archived once the message is accepted. */
  readonly bytes: Uint8Array;
  readonly code: string;
  readonly parkedAtMs: number;
  /** A DECIDE the decide log already confirmed. */
  readonly confirmed?: boolean;
}

/** Parked messages by thread, oldest first. */
export class ParkingLot {
  readonly #byThread = new Map<string, Parked[]>();
  readonly #capacity: number;
  #size = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Parked messages in all threads. */
  get size(): number {
    return this.#size;
  }

  /** Parks a message; returns the entries pushed out by the capacity bound. */
  park(entry: Parked): Parked[] {
    const list = this.#byThread.get(entry.message.thread) ?? [];
    list.push(entry);
    this.#byThread.set(entry.message.thread, list);
    this.#size++;
    const evicted: Parked[] = [];
    while (this.#size > this.#capacity) evicted.push(this.#evictOldest());
    return evicted;
  }

  /** Removes and returns every message parked on `thread`, oldest first. */
  take(thread: string): Parked[] {
    const list = this.#byThread.get(thread);
    if (list === undefined) return [];
    this.#byThread.delete(thread);
    this.#size -= list.length;
    return list;
  }

  /** Whether the message `id` of `thread` is parked. */
  holds(thread: string, id: string): boolean {
    return this.#byThread.get(thread)?.some((entry) => entry.message.id === id) ?? false;
  }

  /** The ids of the messages parked on `thread`. */
  ids(thread: string): string[] {
    return this.#byThread.get(thread)?.map((entry) => entry.message.id) ?? [];
  }

  /** Whether anything waits on `thread`. */
  has(thread: string): boolean {
    return this.#byThread.has(thread);
  }

  /**
   * Threads on which a message has waited since `cutoffMs` or earlier for
   * something other than its time window (at most `limit`, oldest maps
   * first): what the message waits for was probably lost on the way.
   */
  stalled(cutoffMs: number, limit: number): string[] {
    const threads: string[] = [];
    for (const [thread, list] of this.#byThread) {
      if (threads.length >= limit) break;
      const waiting = list.some((entry) =>
        entry.parkedAtMs <= cutoffMs && entry.code !== "E_WINDOW_OPEN"
      );
      if (waiting) threads.push(thread);
    }
    return threads;
  }

  /** Removes and returns entries parked at or before `cutoffMs`. */
  expire(cutoffMs: number): Parked[] {
    const expired: Parked[] = [];
    for (const [thread, list] of this.#byThread) {
      const kept = list.filter((entry) => entry.parkedAtMs > cutoffMs);
      expired.push(...list.filter((entry) => entry.parkedAtMs <= cutoffMs));
      if (kept.length === 0) this.#byThread.delete(thread);
      else this.#byThread.set(thread, kept);
    }
    this.#size -= expired.length;
    return expired;
  }

  #evictOldest(): Parked {
    let oldest: { thread: string; entry: Parked } | undefined;
    for (const [thread, list] of this.#byThread) {
      if (oldest === undefined || list[0].parkedAtMs < oldest.entry.parkedAtMs) {
        oldest = { thread, entry: list[0] };
      }
    }
    const { thread } = oldest as { thread: string; entry: Parked };
    const list = this.#byThread.get(thread) as Parked[];
    const entry = list.shift() as Parked;
    if (list.length === 0) this.#byThread.delete(thread);
    this.#size--;
    return entry;
  }
}

/**
 * Envelopes the node core signed but holds back (an emit with `hold`: a
 * worker's CLAIM, written into its lease before it is published), and the
 * envelopes of the same thread signed after them, which wait (private to
 * the core).
 *
 * A node's own envelopes must reach each thread's audit log in the order it
 * signed them (Lamport order; replay checks it). A held envelope is
 * published later than it was signed, so every later envelope of its thread
 * waits until it is published or dropped. Holds are named by their
 * requester's key, so a requester that gave up waiting for its envelope to
 * be signed can drop it before it is held. A hold that is never resolved
 * (its worker gone) is dropped after {@linkcode HELD_TTL_MS}, and at most
 * {@linkcode HELD_MAX} are kept (the oldest dropped first).
 *
 * @module
 */

import { EvictionCursor } from "../runtime/eviction_cursor.ts";

/** Envelopes held at once; the oldest is dropped past it. */
export const HELD_MAX = 4_096;
/** Longest an envelope stays held before it is dropped. */
export const HELD_TTL_MS = 30_000;

interface Held<V> {
  readonly thread: string;
  readonly lamport: number;
  readonly heldAtMs: number;
  readonly value: V;
}

/** Held envelopes (`H`) and the later ones of their threads waiting behind them (`W`). */
export class HeldEmits<H, W> {
  readonly #held = new Map<string, Held<H>>();
  readonly #oldest = new EvictionCursor(this.#held);
  /** Lamport values held, by thread. */
  readonly #byThread = new Map<string, Map<string, number>>();
  /** Envelopes waiting behind a hold, by thread, in Lamport order. */
  readonly #waiting = new Map<string, { readonly lamport: number; readonly value: W }[]>();
  /** Keys dropped before their envelope was held: it is discarded when it comes. */
  readonly #droppedEarly = new Set<string>();
  readonly #droppedEarlyOldest = new EvictionCursor(this.#droppedEarly);

  /**
   * Holds `value` (an envelope of `thread`) under `key`; returns whether it
   * is held (not when its key was dropped already) and the threads of holds
   * dropped to make room.
   */
  hold(
    key: string,
    thread: string,
    lamport: number,
    value: H,
    nowMs: number,
  ): { readonly held: boolean; readonly freed: string[] } {
    if (this.#droppedEarly.delete(key)) return { held: false, freed: [] };
    const freed: string[] = [];
    if (this.#held.size >= HELD_MAX) {
      const evicted = this.#oldest.evict();
      if (evicted !== undefined) freed.push(this.#forget(evicted[0], evicted[1]));
    }
    this.#held.set(key, { thread, lamport, heldAtMs: nowMs, value });
    let lamports = this.#byThread.get(thread);
    if (lamports === undefined) this.#byThread.set(thread, lamports = new Map());
    lamports.set(key, lamport);
    return { held: true, freed };
  }

  /** Takes the envelope held under `key` out, to publish it; undefined when none is. */
  take(key: string): { readonly thread: string; readonly value: H } | undefined {
    const held = this.#held.get(key);
    if (held === undefined) return undefined;
    this.#held.delete(key);
    this.#forget(key, held);
    return { thread: held.thread, value: held.value };
  }

  /**
   * Drops the envelope held under `key` and returns its thread, or, when
   * none is held yet, remembers the key so the envelope is discarded when
   * it comes.
   */
  drop(key: string): string | undefined {
    const taken = this.take(key);
    if (taken !== undefined) return taken.thread;
    if (this.#droppedEarly.size >= HELD_MAX) this.#droppedEarlyOldest.evict();
    this.#droppedEarly.add(key);
    return undefined;
  }

  /** Whether an envelope of `thread` signed at `lamport` must wait behind an earlier hold. */
  blocks(thread: string, lamport: number): boolean {
    for (const held of this.#byThread.get(thread)?.values() ?? []) {
      if (held < lamport) return true;
    }
    return false;
  }

  /** Queues an envelope of `thread` behind its holds, in Lamport order. */
  wait(thread: string, lamport: number, value: W): void {
    let queue = this.#waiting.get(thread);
    if (queue === undefined) this.#waiting.set(thread, queue = []);
    let index = queue.length;
    while (index > 0 && queue[index - 1].lamport > lamport) index--;
    queue.splice(index, 0, { lamport, value });
  }

  /** Takes the waiting envelopes of `thread` that no hold blocks any more, in order. */
  released(thread: string): W[] {
    const queue = this.#waiting.get(thread);
    if (queue === undefined) return [];
    const released: W[] = [];
    while (queue.length > 0 && !this.blocks(thread, queue[0].lamport)) {
      released.push((queue.shift() as { value: W }).value);
    }
    if (queue.length === 0) this.#waiting.delete(thread);
    return released;
  }

  /** Drops the holds older than {@linkcode HELD_TTL_MS}; returns their threads. */
  expire(nowMs: number): string[] {
    const threads: string[] = [];
    for (const [id, held] of this.#held) {
      if (nowMs - held.heldAtMs < HELD_TTL_MS) break; // insertion order is hold order
      this.#held.delete(id);
      threads.push(this.#forget(id, held));
    }
    return threads;
  }

  #forget(id: string, held: Held<H>): string {
    const lamports = this.#byThread.get(held.thread);
    lamports?.delete(id);
    if (lamports?.size === 0) this.#byThread.delete(held.thread);
    return held.thread;
  }
}

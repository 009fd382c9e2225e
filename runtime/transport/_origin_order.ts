/**
 * Per-sender order for topic frames on gossipsub. A publisher numbers its
 * frames per gossip topic (the frame's origin: node, incarnation,
 * sequence). Gossipsub delivers most frames straight from the publisher in
 * order, but a frame it missed comes later through gossip (IHAVE/IWANT),
 * possibly after frames published after it, and a receiver that applies a
 * worker's COMMIT before its CLAIM would refuse it. So a frame that skips
 * ahead of its origin's sequence is held until the gap fills, or until
 * `holdMs` passes (a frame that never comes must not stop the others).
 *
 * Publishers number each gossip topic from 0, so the first frame heard of a
 * publisher's topic waits for the ones before it too; a node that joins
 * late waits `holdMs` once per publisher and topic for frames it will
 * never see.
 *
 * Best effort and never lossy: late and unknown-origin frames are delivered
 * at once; bounds on origins tracked and frames held flush rather than drop.
 *
 * @module
 */

import { EvictionCursor } from "../eviction_cursor.ts";

/** Where a frame came from, as its publisher numbered it. */
export interface FrameOrigin {
  /** The origin's key: publisher, incarnation and gossip topic. */
  readonly key: string;
  readonly sequence: number;
}

/** Settings of an {@linkcode OriginOrder}. */
export interface OriginOrderOptions<T> {
  /** Longest a frame waits for the frames before it. */
  readonly holdMs: number;
  /** Most origins tracked (least recently seen forgotten first). */
  readonly originsMax: number;
  /** Most frames held per origin; beyond it the origin is flushed. */
  readonly heldMax: number;
  readonly deliver: (item: T) => void;
  /** Told of each frame delivered after waiting, and each gap given up on. */
  readonly count?: (what: "reordered" | "skipped") => void;
  readonly nowMs: () => number;
  /** Runs `action` after `delayMs`; returns a cancel function. */
  readonly later: (delayMs: number, action: () => void) => void;
}

interface OriginState<T> {
  next: number;
  readonly held: Map<number, T>;
  /** When the oldest held frame was held. */
  heldSinceMs: number;
}

/** Restores each origin's order of frames. */
export class OriginOrder<T> {
  readonly #options: OriginOrderOptions<T>;
  readonly #origins = new Map<string, OriginState<T>>();
  readonly #originsOldest = new EvictionCursor(this.#origins);
  #reordered = 0;
  #skipped = 0;

  constructor(options: OriginOrderOptions<T>) {
    this.#options = options;
  }

  /** Frames delivered after waiting for earlier ones; gaps given up on. */
  get counts(): { readonly reordered: number; readonly skipped: number } {
    return { reordered: this.#reordered, skipped: this.#skipped };
  }

  /** Takes a frame (`item`, or undefined for one that is not delivered but counts in order). */
  push(origin: FrameOrigin | undefined, item: T | undefined): void {
    if (origin === undefined) return this.#emit(item);
    let state = this.#origins.get(origin.key);
    if (state !== undefined) this.#origins.delete(origin.key);
    // Publishers number each topic from 0, so a first frame numbered later has
    // earlier ones in flight (or sent before this node joined: they never come).
    else state = { next: 0, held: new Map(), heldSinceMs: 0 };
    this.#origins.set(origin.key, state);
    this.#evict();
    if (origin.sequence < state.next) return this.#emit(item);
    if (origin.sequence > state.next) return this.#hold(origin.key, state, origin.sequence, item);
    this.#emit(item);
    state.next++;
    this.#drain(state);
  }

  #hold(key: string, state: OriginState<T>, sequence: number, item: T | undefined): void {
    if (state.held.size === 0) {
      state.heldSinceMs = this.#options.nowMs();
      this.#options.later(this.#options.holdMs, () => this.#expire(key, state));
    }
    state.held.set(sequence, item as T);
    if (state.held.size > this.#options.heldMax) this.#flush(state);
  }

  /** Delivers held frames that are next in line. */
  #drain(state: OriginState<T>): void {
    while (state.held.has(state.next)) {
      const item = state.held.get(state.next);
      state.held.delete(state.next);
      this.#reordered++;
      this.#options.count?.("reordered");
      this.#emit(item);
      state.next++;
    }
  }

  #expire(key: string, state: OriginState<T>): void {
    if (this.#origins.get(key) !== state || state.held.size === 0) return;
    const waitedMs = this.#options.nowMs() - state.heldSinceMs;
    if (waitedMs + 1 < this.#options.holdMs) {
      return this.#options.later(this.#options.holdMs - waitedMs, () => this.#expire(key, state));
    }
    this.#flush(state);
  }

  /** Gives up on the gap: delivers every held frame in sequence order. */
  #flush(state: OriginState<T>): void {
    const sequences = [...state.held.keys()].sort((left, right) => left - right);
    for (const sequence of sequences) {
      if (sequence > state.next) {
        this.#skipped++;
        this.#options.count?.("skipped");
      }
      this.#emit(state.held.get(sequence));
      state.held.delete(sequence);
      state.next = sequence + 1;
    }
  }

  #evict(): void {
    while (this.#origins.size > this.#options.originsMax) {
      const [, state] = this.#originsOldest.evict()!;
      this.#flush(state);
    }
  }

  #emit(item: T | undefined): void {
    if (item !== undefined) this.#options.deliver(item);
  }
}

/**
 * Recency: when each verifier was last seen voting, and the factor that
 * gives committee selection a preference for verifiers that are around — 1
 * within the recency window, fading as `window / age` to a floor after it,
 * and a fixed value for a verifier never seen.
 *
 * @module
 */

import type { EconomicsParams } from "./params.ts";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

/** Last-seen times by DID. Bounded: beyond the bound the longest-unseen is forgotten. */
export class RecencyBook {
  readonly #lastSeenMs = new Map<string, number>();
  readonly #lastSeenMsOldest = new EvictionCursor(this.#lastSeenMs);
  readonly #params: EconomicsParams;
  readonly #entriesMax: number;

  constructor(params: EconomicsParams, entriesMax = 100_000) {
    this.#params = params;
    this.#entriesMax = entriesMax;
  }

  /** Notes that `did` voted at `nowMs`. */
  seen(did: string, nowMs: number): void {
    this.#lastSeenMs.delete(did);
    if (this.#lastSeenMs.size >= this.#entriesMax) {
      this.#lastSeenMsOldest.evict();
    }
    this.#lastSeenMs.set(did, nowMs);
  }

  /**
   * The recency factor of `did` at `nowMs`, in (0, 1].
   *
   * @example
   * ```ts
   * book.seen("did:a", 0);
   * book.factor("did:a", 20 * 60_000); // 0.5 with a 10-minute window
   * ```
   */
  factor(did: string, nowMs: number): number {
    const seen = this.#lastSeenMs.get(did);
    if (seen === undefined) return this.#params.recencyUnseen;
    const age = nowMs - seen;
    if (age <= this.#params.recencyWindowMs) return 1;
    return Math.max(this.#params.recencyFloor, this.#params.recencyWindowMs / age);
  }
}

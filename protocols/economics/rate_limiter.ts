/**
 * A sliding-window rate limit per key (a challenger's DID): at most `max`
 * admissions per `windowMs` of node time. Bounded: beyond `keysMax` keys
 * the longest-idle one is forgotten.
 *
 * @module
 */

import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

/** Settings of a rate limiter. */
export interface RateLimitOptions {
  readonly max: number;
  readonly windowMs: number;
  /** Most keys remembered. Default 100,000. */
  readonly keysMax?: number;
}

/** Admissions per key in a sliding window. */
export class RateLimiter {
  readonly #options: RateLimitOptions;
  readonly #times = new Map<string, number[]>();
  readonly #timesOldest = new EvictionCursor(this.#times);

  constructor(options: RateLimitOptions) {
    this.#options = options;
  }

  /**
   * Whether `key` may act at `nowMs`; an allowed action is counted.
   *
   * @example
   * ```ts
   * if (!limiter.admit(challenger, ctx.nowMs())) refuse("E_CHALLENGE_RATE");
   * ```
   */
  admit(key: string, nowMs: number): boolean {
    const recent = this.#recent(key, nowMs);
    if (recent.length >= this.#options.max) return false;
    recent.push(nowMs);
    this.#times.delete(key);
    if (this.#times.size >= (this.#options.keysMax ?? 100_000)) {
      this.#timesOldest.evict();
    }
    this.#times.set(key, recent);
    return true;
  }

  /** Whether `key` could act at `nowMs`, without counting it. */
  allows(key: string, nowMs: number): boolean {
    return this.#recent(key, nowMs).length < this.#options.max;
  }

  #recent(key: string, nowMs: number): number[] {
    return (this.#times.get(key) ?? []).filter((atMs) => nowMs - atMs < this.#options.windowMs);
  }
}

/**
 * A token bucket: at most `burst` events at once, refilled at `perSecond`.
 * Bounds how fast one peer can push frames into a node.
 *
 * @module
 */

/** Admits events at a sustained rate with a burst allowance. */
export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #nowMs: () => number;
  #tokens: number;
  #lastMs: number;
  /** Events refused so far. */
  refused = 0;

  constructor(perSecond: number, burst: number, nowMs: () => number) {
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#nowMs = nowMs;
    this.#tokens = burst;
    this.#lastMs = nowMs();
  }

  /** Takes one token; false (and counted) when none is left. */
  take(): boolean {
    const now = this.#nowMs();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#lastMs) * this.#perMs);
    this.#lastMs = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.refused++;
    return false;
  }
}

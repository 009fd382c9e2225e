/**
 * At most `max` tasks at once; the rest wait their turn in order. What keeps
 * a node's requests to its peers within the streams each peer serves.
 *
 * @module
 */

/** Runs async tasks, at most `max` at a time, first come first served. */
export class ConcurrencyLimit {
  readonly #max: number;
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  /** @param max tasks that may run at once (at least 1) */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`A concurrency limit must be a whole number ≥ 1, got ${max}`);
    }
    this.#max = max;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` once a turn is free and settles as it does.
   *
   * @example
   * ```ts
   * const limit = new ConcurrencyLimit(64);
   * const reply = await limit.run(() => transport.request(node, "cas-get", cid));
   * ```
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#max) this.#running++;
    else await new Promise<void>((turn) => this.#waiting.push(turn));
    try {
      return await task();
    } finally {
      // The turn passes straight to the next in line, so nobody can slip in between.
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next();
    }
  }
}

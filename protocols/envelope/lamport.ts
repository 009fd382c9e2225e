/**
 * The node's Lamport clock: tick on send, `max(local, seen) + 1` on
 * receive, persisted through the node's {@linkcode Store} so a restart
 * never goes backwards.
 *
 * Writing the store on every tick would cap a node at the store's commit
 * rate (Deno KV: ~1,500/s), so the clock persists a *reservation*: before it
 * hands out a value above the persisted ceiling it durably raises the
 * ceiling by `reserveAhead`. After a crash the clock resumes from the
 * ceiling, which is ≥ every value it ever handed out; it may skip up to
 * `reserveAhead` values, which Lamport order allows. With `reserveAhead: 0`
 * every tick is written.
 *
 * @module
 */

import { assert } from "../../runtime/errors.ts";
import type { Store, StoreKey } from "../../runtime/store/store.ts";
import { ENVELOPE_ERROR_CODES, EnvelopeError } from "./errors.ts";

/** Default number of values reserved per store write. */
export const LAMPORT_RESERVE_AHEAD_DEFAULT = 1024;
/** Default store key of the clock's ceiling. */
export const LAMPORT_STORE_KEY: StoreKey = ["envelope", "lamport"];
/** Largest value a clock hands out; beyond it the clock refuses rather than lose precision. */
export const LAMPORT_MAX = Number.MAX_SAFE_INTEGER - 2 ** 32;

/** The next local value after a send: `local + 1`. */
export function lamportTick(local: number): number {
  return local + 1;
}

/** The next local value after receiving `seen`: `max(local, seen) + 1`. */
export function lamportObserve(local: number, seen: number): number {
  return Math.max(local, seen) + 1;
}

/** Options of {@linkcode LamportClock.open}. */
export interface LamportClockOptions {
  /** Where the ceiling lives; default {@linkcode LAMPORT_STORE_KEY}. */
  readonly key?: StoreKey;
  /** Values reserved per write; default {@linkcode LAMPORT_RESERVE_AHEAD_DEFAULT}. */
  readonly reserveAhead?: number;
}

/** A persisted Lamport clock. Safe to call concurrently; values are unique and increasing. */
export class LamportClock {
  readonly #store: Store;
  readonly #key: StoreKey;
  readonly #reserveAhead: number;
  #value: number;
  #ceiling: number;
  #reserving: Promise<void> | undefined;
  #writes = 0;

  private constructor(store: Store, key: StoreKey, reserveAhead: number, ceiling: number) {
    this.#store = store;
    this.#key = key;
    this.#reserveAhead = reserveAhead;
    this.#value = ceiling;
    this.#ceiling = ceiling;
  }

  /**
   * Opens the clock persisted in `store`, resuming above every value it
   * handed out before (0 for a new store).
   *
   * @example
   * ```ts
   * const clock = await LamportClock.open(ctx.store);
   * const lamport = await clock.tick();
   * ```
   */
  static async open(store: Store, options?: LamportClockOptions): Promise<LamportClock> {
    const reserveAhead = options?.reserveAhead ?? LAMPORT_RESERVE_AHEAD_DEFAULT;
    assert(
      Number.isSafeInteger(reserveAhead) && reserveAhead >= 0,
      `Lamport reserveAhead must be an integer >= 0, got ${reserveAhead}`,
    );
    const key = options?.key ?? LAMPORT_STORE_KEY;
    const entry = await store.get<number>(key);
    const ceiling = entry?.value ?? 0;
    assert(
      Number.isSafeInteger(ceiling) && ceiling >= 0,
      `Stored Lamport ceiling at ${JSON.stringify(key)} must be an integer >= 0, got ${ceiling}`,
    );
    return new LamportClock(store, key, reserveAhead, ceiling);
  }

  /** The last value handed out or observed. */
  get current(): number {
    return this.#value;
  }

  /** The durable ceiling: no value above it has been handed out. */
  get ceiling(): number {
    return this.#ceiling;
  }

  /** Store writes made so far (for benchmarks and tests). */
  get writes(): number {
    return this.#writes;
  }

  /** Ticks for a send and resolves with the new value, once it is durable. */
  tick(): Promise<number> {
    return this.#advance(lamportTick(this.#value));
  }

  /**
   * Observes a received envelope's `lamport` and resolves with the new local
   * value. A value beyond {@linkcode LAMPORT_MAX} is refused with
   * `E_LAMPORT_INVALID`, so no peer can exhaust the clock.
   */
  observe(seen: number): Promise<number> {
    if (!Number.isSafeInteger(seen) || seen <= 0 || seen > LAMPORT_MAX) {
      return Promise.reject(
        new EnvelopeError(
          ENVELOPE_ERROR_CODES.lamport,
          `Cannot observe lamport ${seen}: must be an integer in 1..${LAMPORT_MAX}`,
        ),
      );
    }
    return this.#advance(lamportObserve(this.#value, seen));
  }

  #advance(next: number): Promise<number> {
    if (next > LAMPORT_MAX) {
      return Promise.reject(
        new EnvelopeError(
          ENVELOPE_ERROR_CODES.lamport,
          `Lamport clock exhausted: ${next} exceeds ${LAMPORT_MAX}`,
        ),
      );
    }
    this.#value = next;
    if (next <= this.#ceiling) return Promise.resolve(next);
    return this.#reserveThrough(next).then(() => next);
  }

  async #reserveThrough(value: number): Promise<void> {
    while (this.#ceiling < value) {
      if (this.#reserving === undefined) {
        const target = Math.min(Math.max(value, this.#value) + this.#reserveAhead, LAMPORT_MAX);
        this.#reserving = this.#store.set(this.#key, target).then(
          () => {
            this.#writes++;
            this.#ceiling = Math.max(this.#ceiling, target);
            this.#reserving = undefined;
          },
          (error) => {
            this.#reserving = undefined;
            throw error;
          },
        );
      }
      await this.#reserving;
    }
  }
}

/**
 * The receiver's memory of recently seen nonces, per sender, so a captured
 * envelope cannot be delivered twice within the replay window.
 *
 * Bounded twice: entries expire after `windowMs` of receiver time, and at
 * most `capacity` are kept; when full, the oldest entry is evicted early and
 * counted (`evictedEarly`), which shortens the effective window under a
 * flood rather than growing without bound. Time comes from the caller
 * (`ctx.now()`), so the cache is deterministic under simulation.
 *
 * Expiry and eviction take the oldest entry from a queue of (key, expiry) in
 * arrival order, which is expiry order, not from the map: a fresh iterator
 * over a map whose front entries were deleted walks every such hole first,
 * and with 100,000 nonces in the window that cost 17–80 µs per envelope once
 * the first ones expired (now about 1 µs).
 *
 * @module
 */

import { assert } from "../../runtime/errors.ts";
import { toHex } from "./_signed.ts";
import { RingQueue } from "../../runtime/ring_queue.ts";

/** Default replay window: 10 minutes. */
export const REPLAY_WINDOW_MS_DEFAULT = 10 * 60 * 1000;
/** Default bound on remembered nonces. */
export const REPLAY_CAPACITY_DEFAULT = 200_000;

/** Options of {@linkcode ReplayCache}. */
export interface ReplayCacheOptions {
  /** How long a nonce is remembered, in ms of receiver time. */
  readonly windowMs?: number;
  /** Most nonces remembered at once. */
  readonly capacity?: number;
}

/** Remembers (sender, nonce) pairs for a window; see the module doc. */
export class ReplayCache {
  readonly #windowNs: bigint;
  readonly #capacity: number;
  /** key → expiry in ns. */
  readonly #entries = new Map<string, bigint>();
  /** The same entries in arrival order, which is expiry order. */
  readonly #arrivals = new RingQueue<{ readonly key: string; readonly expiresNs: bigint }>();
  #evictedEarly = 0;

  constructor(options?: ReplayCacheOptions) {
    const windowMs = options?.windowMs ?? REPLAY_WINDOW_MS_DEFAULT;
    const capacity = options?.capacity ?? REPLAY_CAPACITY_DEFAULT;
    assert(
      Number.isFinite(windowMs) && windowMs > 0,
      `Replay window must be > 0 ms, got ${windowMs}`,
    );
    assert(
      Number.isInteger(capacity) && capacity > 0,
      `Replay capacity must be a positive integer, got ${capacity}`,
    );
    this.#windowNs = BigInt(Math.round(windowMs * 1_000_000));
    this.#capacity = capacity;
  }

  /**
   * Records the pair and returns true when it is new within the window;
   * returns false (recording nothing) for a replay.
   *
   * @example
   * ```ts
   * if (!cache.checkAndRecord(envelope.sender, envelope.nonce, ctx.now())) reject();
   * ```
   */
  checkAndRecord(sender: string, nonce: Uint8Array, nowNs: bigint): boolean {
    this.#expire(nowNs);
    const key = `${sender} ${toHex(nonce)}`;
    if (this.#entries.has(key)) return false;
    if (this.#entries.size >= this.#capacity) {
      this.#dropOldest();
      this.#evictedEarly++;
    }
    const expiresNs = nowNs + this.#windowNs;
    this.#entries.set(key, expiresNs);
    this.#arrivals.push({ key, expiresNs });
    return true;
  }

  /** True when the pair is remembered at `nowNs` (does not record). */
  has(sender: string, nonce: Uint8Array, nowNs: bigint): boolean {
    this.#expire(nowNs);
    return this.#entries.has(`${sender} ${toHex(nonce)}`);
  }

  /** Nonces remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Entries evicted before their window ended because the cache was full. */
  get evictedEarly(): number {
    return this.#evictedEarly;
  }

  #expire(nowNs: bigint): void {
    while ((this.#arrivals.peek()?.expiresNs ?? nowNs + 1n) <= nowNs) this.#dropOldest();
  }

  #dropOldest(): void {
    const oldest = this.#arrivals.shift();
    if (oldest !== undefined) this.#entries.delete(oldest.key);
  }
}

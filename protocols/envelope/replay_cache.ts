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
 * @module
 */

import { assert } from "../../runtime/errors.ts";
import { toHex } from "./_signed.ts";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

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
  /** Insertion-ordered: key → expiry in ns. */
  readonly #entries = new Map<string, bigint>();
  readonly #entriesOldest = new EvictionCursor(this.#entries);
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
      this.#entriesOldest.evict();
      this.#evictedEarly++;
    }
    this.#entries.set(key, nowNs + this.#windowNs);
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
    for (const [key, expiresNs] of this.#entries) {
      if (expiresNs > nowNs) return;
      this.#entries.delete(key);
    }
  }
}

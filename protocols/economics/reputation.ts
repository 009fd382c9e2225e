/**
 * Reputation per DID: starts at 0.8, loses 0.3 per failed attestation, gains
 * 0.1 per upheld challenge, and fades back toward the start value by 5 % of
 * its distance per week (so old penalties and bonuses wear off), always
 * clamped to [0, 1]. It is one factor of committee selection weight.
 *
 * Reputation is a node's own reading of what it has accepted; it feeds only
 * selection, and selections are pinned in the messages that use them, so
 * two nodes with slightly different readings still agree on every committee.
 *
 * @module
 */

import type { EconomicsParams } from "./params.ts";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

interface Score {
  readonly value: number;
  readonly atMs: number;
}

/** Bound on remembered scores; beyond it the longest-untouched are forgotten (back to start). */
export const REPUTATION_ENTRIES_MAX = 1_000_000;

/** Reputation scores by DID. */
export class ReputationBook {
  readonly #scores = new Map<string, Score>();
  readonly #scoresOldest = new EvictionCursor(this.#scores);
  readonly #params: EconomicsParams;

  constructor(params: EconomicsParams) {
    this.#params = params;
  }

  /**
   * The score of `did` at `nowMs`, decayed toward the start value.
   *
   * @example
   * ```ts
   * book.get("did:key:z…", ctx.nowMs()); // 0.8 for a new identity
   * ```
   */
  get(did: string, nowMs: number): number {
    const score = this.#scores.get(did);
    if (score === undefined) return this.#params.reputationStart;
    const weeks = Math.max(0, nowMs - score.atMs) / WEEK_MS;
    const start = this.#params.reputationStart;
    const kept = (1 - this.#params.reputationDecayPerWeek) ** weeks;
    return clamp(start + (score.value - start) * kept);
  }

  /** Records a failed attestation. */
  failedAttestation(did: string, nowMs: number): number {
    return this.#adjust(did, -this.#params.reputationFailedAttestation, nowMs);
  }

  /** Records an upheld challenge. */
  upheldChallenge(did: string, nowMs: number): number {
    return this.#adjust(did, this.#params.reputationUpheldChallenge, nowMs);
  }

  /** Number of DIDs with a score other than the start. */
  get size(): number {
    return this.#scores.size;
  }

  #adjust(did: string, delta: number, nowMs: number): number {
    const value = clamp(this.get(did, nowMs) + delta);
    this.#scores.delete(did);
    if (this.#scores.size >= REPUTATION_ENTRIES_MAX) {
      this.#scoresOldest.evict();
    }
    this.#scores.set(did, { value, atMs: nowMs });
    return value;
  }
}

function clamp(value: number): number {
  return Math.min(1, Math.max(0, value));
}

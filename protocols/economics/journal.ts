/**
 * The durable ledger journal: applied operations, in this node's order,
 * under `["ledger", "journal", chunk, seq]` in the node's store (Deno KV on
 * real nodes, the simulator's disk in simulation). A restarted node folds
 * the journal back into its ledger; operations re-derived afterwards from
 * re-synced messages are no-ops because every operation is idempotent by id.
 *
 * Appends are group-committed: one store commit at a time carries every
 * entry queued meanwhile (up to a batch bound), so a busy node writes far
 * fewer commits than operations.
 *
 * @module
 */

import { errorMessage } from "../../runtime/errors.ts";
import type { Store } from "../../runtime/store/store.ts";
import type { LedgerEntry } from "./ledger_types.ts";

/** Entries per key chunk (a store list returns at most one chunk). */
export const JOURNAL_CHUNK = 512;
/** Entries per store commit. */
export const JOURNAL_BATCH_MAX = 128;

/** Counters of a journal. */
export interface JournalStats {
  /** Entries queued and not yet durable. */
  readonly pending: number;
  readonly written: number;
  readonly commitFailures: number;
  readonly lastError: string | undefined;
}

/** The ledger journal over a store. */
export class LedgerJournal {
  readonly #store: Store;
  readonly #pending: LedgerEntry[] = [];
  readonly #pendingMax: number;
  #flushing: Promise<void> | undefined;
  #written = 0;
  #failures = 0;
  #dropped = 0;
  #lastError: string | undefined;

  constructor(store: Store, options: { readonly pendingMax?: number } = {}) {
    this.#store = store;
    this.#pendingMax = options.pendingMax ?? 1_000_000;
  }

  /**
   * Every journalled entry, in order.
   *
   * @example
   * ```ts
   * for (const entry of await journal.load()) ledger.apply(entry.op);
   * ```
   */
  async load(): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    for (let chunk = 0;; chunk++) {
      const listed = await this.#store.list<LedgerEntry>(["ledger", "journal", chunk], {
        limit: JOURNAL_CHUNK,
      });
      if (listed.length === 0) break;
      for (const item of listed) entries.push(item.value);
    }
    entries.sort((left, right) => left.seq - right.seq);
    return entries;
  }

  /** Queues an entry and starts a group commit if none is running. */
  append(entry: LedgerEntry): void {
    if (this.#pending.length >= this.#pendingMax) {
      this.#dropped++;
      this.#lastError =
        `journal backlog over ${this.#pendingMax}; entry ${entry.seq} not persisted`;
      return;
    }
    this.#pending.push(entry);
    if (this.#flushing === undefined) this.#flushing = this.#drain();
  }

  /** Resolves once everything queued so far was written (or a commit failed). */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#pending.length > 0) {
      this.#flushing = this.#drain();
      await this.#flushing;
    }
  }

  /** Counters. */
  get stats(): JournalStats & { readonly dropped: number } {
    return {
      pending: this.#pending.length,
      written: this.#written,
      commitFailures: this.#failures,
      dropped: this.#dropped,
      lastError: this.#lastError,
    };
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.slice(0, JOURNAL_BATCH_MAX);
        const sets = batch.map((entry) => ({
          key: ["ledger", "journal", Math.floor(entry.seq / JOURNAL_CHUNK), entry.seq],
          value: entry,
        }));
        let result;
        try {
          result = await this.#store.commit({ sets });
        } catch (error) {
          this.#failures++;
          this.#lastError = errorMessage(error);
          return;
        }
        if (!result.ok) {
          this.#failures++;
          this.#lastError = "store commit refused";
          return;
        }
        this.#pending.splice(0, batch.length);
        this.#written += batch.length;
      }
    } finally {
      this.#flushing = undefined;
    }
  }
}

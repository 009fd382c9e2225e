/**
 * The durable ledger journal: applied operations, in this node's order,
 * in values of up to {@linkcode JOURNAL_VALUE_ENTRIES} consecutive entries
 * under `["ledger", "journal", chunk, first seq]` in the node's store (Deno
 * KV on real nodes, the simulator's disk in simulation). Journals written
 * with one entry per value load too. A restarted node folds
 * the journal back into its ledger; operations re-derived afterwards from
 * re-synced messages are no-ops because every operation is idempotent by id.
 *
 * Appends are group-committed: one store commit at a time carries every
 * entry queued meanwhile (up to a batch bound), so a busy node writes far
 * fewer commits than operations.
 *
 * Compaction keeps the journal bounded: once enough entries followed the
 * last checkpoint, the ledger's state is written as a new checkpoint and
 * the entries up to it are deleted, so what a restart reads, and what the
 * store holds, follow the ledger's remembered state rather than the node's
 * age. A restart loads the checkpoint, then the entries after it.
 *
 * @module
 */

import { errorMessage } from "../../runtime/errors.ts";
import { type Store, StoreError } from "../../runtime/store/store.ts";
import {
  CHECKPOINT_HEAD_KEY,
  type CheckpointHead,
  deleteCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from "./_journal_checkpoint.ts";
import type { LedgerCheckpoint } from "./ledger.ts";
import type { LedgerEntry } from "./ledger_types.ts";

/** Entries per key chunk (a store list returns at most one chunk). */
export const JOURNAL_CHUNK = 512;
/** Entries per store commit. */
export const JOURNAL_BATCH_MAX = 128;
/**
 * Entries per store value: one row for several entries (a busy node writes
 * two a NEED), and at most about 32 KB however many payouts an operation
 * lists (Deno KV takes values up to 64 KiB).
 */
export const JOURNAL_VALUE_ENTRIES = 16;
/**
 * Entries after the last checkpoint that make the next one due (or twice
 * the last checkpoint's size, when that is more, so rewriting it stays a
 * fraction of the journal's writes).
 */
export const COMPACT_AFTER_ENTRIES = 100_000;

/** Counters of a journal. */
export interface JournalStats {
  /** Entries queued and not yet durable. */
  readonly pending: number;
  readonly written: number;
  readonly commitFailures: number;
  readonly lastError: string | undefined;
  /** Compactions completed, and the journal position of the current checkpoint. */
  readonly compactions: number;
  readonly checkpointSeq: number;
}

/** What a journal holds: its checkpoint, if any, and the entries after it. */
export interface JournalContents {
  readonly checkpoint: LedgerCheckpoint | undefined;
  readonly entries: LedgerEntry[];
}

/** The ledger journal over a store. */
export class LedgerJournal {
  readonly #store: Store;
  readonly #pending: LedgerEntry[] = [];
  readonly #pendingMax: number;
  readonly #compactAfter: number;
  #flushing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
  #head: CheckpointHead | undefined;
  /** Entries appended (or loaded) after the current checkpoint. */
  #sinceCheckpoint = 0;
  /** Escrows and operations the current checkpoint holds. */
  #checkpointSize = 0;
  #written = 0;
  #failures = 0;
  #dropped = 0;
  #compactions = 0;
  #lastError: string | undefined;

  constructor(
    store: Store,
    options: { readonly pendingMax?: number; readonly compactAfter?: number } = {},
  ) {
    this.#store = store;
    this.#pendingMax = options.pendingMax ?? 1_000_000;
    this.#compactAfter = options.compactAfter ?? COMPACT_AFTER_ENTRIES;
  }

  /**
   * The checkpoint, if any, and every entry journalled after it, in order.
   *
   * @example
   * ```ts
   * const { checkpoint, entries } = await journal.load();
   * if (checkpoint !== undefined) ledger.restore(checkpoint);
   * for (const entry of entries) ledger.apply(entry.op, entry.scope);
   * ```
   */
  async load(): Promise<JournalContents> {
    this.#head = (await this.#store.get<CheckpointHead>(CHECKPOINT_HEAD_KEY))?.value;
    const checkpoint = this.#head === undefined
      ? undefined
      : await readCheckpoint(this.#store, this.#head);
    const after = this.#head?.seq ?? 0;
    const entries: LedgerEntry[] = [];
    for (let chunk = firstChunk(after);; chunk++) {
      const listed = await this.#store.list<StoredEntries>(["ledger", "journal", chunk], {
        limit: JOURNAL_CHUNK,
      });
      if (listed.length === 0 && chunk > Math.floor((after + 1) / JOURNAL_CHUNK)) break;
      for (const item of listed) {
        for (const entry of entriesOf(item.value)) if (entry.seq > after) entries.push(entry);
      }
    }
    entries.sort((left, right) => left.seq - right.seq);
    this.#sinceCheckpoint = entries.length;
    this.#checkpointSize = checkpoint === undefined
      ? 0
      : checkpoint.escrows.length + checkpoint.operations.length;
    return { checkpoint, entries };
  }

  /**
   * Starts a compaction when one is due (see {@linkcode COMPACT_AFTER_ENTRIES})
   * and none is running: `take` is called at once for the ledger's state,
   * which is then written as the new checkpoint, and the entries up to it and
   * the previous checkpoint are deleted. A failure is counted and leaves the
   * previous checkpoint current.
   */
  compactIfDue(take: () => LedgerCheckpoint): void {
    if (this.#compacting !== undefined) return;
    if (this.#sinceCheckpoint < Math.max(this.#compactAfter, 2 * this.#checkpointSize)) return;
    const checkpoint = take();
    this.#sinceCheckpoint = 0;
    this.#checkpointSize = checkpoint.escrows.length + checkpoint.operations.length;
    this.#compacting = this.#compact(checkpoint).catch((error) => {
      this.#failures++;
      this.#lastError = `compaction: ${errorMessage(error)}`;
    }).finally(() => this.#compacting = undefined);
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
    this.#sinceCheckpoint++;
    if (this.#flushing === undefined) this.#flushing = this.#drain();
  }

  /**
   * Resolves once everything queued so far was written (or a commit failed),
   * and a running compaction ended.
   */
  async flush(): Promise<void> {
    await this.#compacting;
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
      compactions: this.#compactions,
      checkpointSeq: this.#head?.seq ?? 0,
    };
  }

  async #compact(checkpoint: LedgerCheckpoint): Promise<void> {
    // Entries up to the checkpoint are written first, so none lands after the deletions below.
    while (this.#flushing !== undefined) await this.#flushing;
    const previous = this.#head;
    const head = await writeCheckpoint(this.#store, (previous?.generation ?? 0) + 1, checkpoint);
    this.#head = head;
    this.#compactions++;
    if (previous !== undefined) await deleteCheckpoint(this.#store, previous);
    for (let chunk = firstChunk(previous?.seq ?? 0); chunk <= lastChunk(head.seq); chunk++) {
      const listed = await this.#store.list<StoredEntries>(["ledger", "journal", chunk], {
        limit: JOURNAL_CHUNK,
      });
      // A value that also holds entries after the checkpoint stays (loading skips the rest).
      const deletes = listed.filter((item) => entriesOf(item.value).at(-1)!.seq <= head.seq)
        .map((item) => item.key);
      if (deletes.length > 0 && !(await this.#store.commit({ deletes })).ok) {
        throw new StoreError("E_STORE_WRITE", `Deleting journal chunk ${chunk} was refused`);
      }
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.slice(0, JOURNAL_BATCH_MAX);
        const sets = [];
        for (let from = 0; from < batch.length; from += JOURNAL_VALUE_ENTRIES) {
          const value = batch.slice(from, from + JOURNAL_VALUE_ENTRIES);
          const seq = value[0].seq;
          sets.push({ key: ["ledger", "journal", Math.floor(seq / JOURNAL_CHUNK), seq], value });
        }
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

/** A journal value: consecutive entries (or one entry, as older journals stored them). */
type StoredEntries = LedgerEntry | LedgerEntry[];

function entriesOf(value: StoredEntries): LedgerEntry[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * The first key chunk that can hold entries after `seq`: a value is keyed
 * by its first entry, so one holding `seq + 1` may start in the chunk before.
 */
function firstChunk(seq: number): number {
  return Math.max(0, Math.floor((seq + 1 - JOURNAL_VALUE_ENTRIES) / JOURNAL_CHUNK));
}

/** The last key chunk that can hold a value whose entries all come at or before `seq`. */
function lastChunk(seq: number): number {
  return Math.floor(seq / JOURNAL_CHUNK);
}

/**
 * Write-behind persistence of one thread document: a queue of durable
 * writes that appends the changes made since the last write as one record
 * and, every `compactEvery` records, replaces the log with a snapshot.
 *
 * Each job reads the document when it runs, not when it was queued, so
 * every change lands in exactly one record or snapshot, in order. A caller
 * awaits the job queued after its change: when it resolves, the change is
 * durable (acknowledged). A failed write is not acknowledged; the next job
 * writes the same changes again.
 *
 * @module
 */

import type { PlanLog } from "./persistence.ts";
import type { ThreadDoc } from "./thread_doc.ts";

/** Counters shared by the writers of one store. */
export interface WriterCounters {
  compactions: number;
  appendsPersisted: number;
}

/** The durable side of one thread. */
export class ThreadWriter {
  readonly #doc: ThreadDoc;
  readonly #log: PlanLog | undefined;
  readonly #compactEvery: number;
  readonly #counters: WriterCounters;
  #persistedHeads: string[];
  #increments: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    doc: ThreadDoc,
    log: PlanLog | undefined,
    options: { compactEvery: number; counters: WriterCounters },
  ) {
    this.#doc = doc;
    this.#log = log;
    this.#compactEvery = options.compactEvery;
    this.#counters = options.counters;
    this.#persistedHeads = doc.heads();
    this.#increments = 0;
  }

  /** Loads the records of the log into the document (recovery). */
  recover(): void {
    const records = this.#log?.records ?? [];
    for (const record of records) this.#doc.loadOwn(record);
    this.#persistedHeads = this.#doc.heads();
    this.#increments = Math.max(0, records.length - 1);
  }

  /** Queues a durable write of everything not yet persisted; resolves when done. */
  persist(): Promise<void> {
    const log = this.#log;
    if (log === undefined) return Promise.resolve();
    const job = this.#queue.then(async () => {
      const heads = this.#doc.heads();
      if (sameHeads(heads, this.#persistedHeads)) return;
      if (this.#increments >= this.#compactEvery) {
        await log.compact(this.#doc.save());
        this.#increments = 0;
        this.#counters.compactions++;
      } else {
        await log.append(this.#doc.saveSince(this.#persistedHeads));
        this.#increments++;
        this.#counters.appendsPersisted++;
      }
      this.#persistedHeads = heads;
    });
    this.#queue = job.catch(() => {});
    return job;
  }

  /** Resolves once every queued write has finished (successfully or not). */
  idle(): Promise<void> {
    return this.#queue;
  }
}

function sameHeads(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((head, index) => head === right[index]);
}

/**
 * Per-thread usage counters that feed the budget rules: how many envelopes
 * and retries a thread has had, how much cost its CLAIMs took, and its cost
 * budget once its NEED was seen. A node keeps one ledger, which its ingress
 * and preflight gates read, and counts in it every envelope its threads take.
 *
 * The ledger is bounded: past `threadsMax` threads, the least recently used
 * thread is forgotten (counted in `evictions`) and starts from zero if it
 * comes back. With the default bound that takes 65,536 newer threads.
 *
 * @module
 */

import { assert } from "../runtime/errors.ts";
import type { EnvelopeView, ThreadUsage } from "./envelope_view.ts";

/** Options of {@linkcode ThreadBudgetLedger}. */
export interface ThreadBudgetLedgerOptions {
  /** Most threads tracked at once. Default 65,536. */
  readonly threadsMax?: number;
}

interface MutableUsage {
  messages: number;
  retries: number;
  cost: number;
  costMax?: number;
}

const EMPTY: ThreadUsage = { messages: 0, retries: 0, cost: 0 };

/** Usage per thread, least recently used first. */
export class ThreadBudgetLedger {
  readonly #threads = new Map<string, MutableUsage>();
  readonly #threadsMax: number;
  #evictions = 0;

  constructor(options: ThreadBudgetLedgerOptions = {}) {
    this.#threadsMax = options.threadsMax ?? 65_536;
    assert(
      Number.isSafeInteger(this.#threadsMax) && this.#threadsMax > 0,
      `Ledger threadsMax must be a positive integer, got ${this.#threadsMax}`,
    );
  }

  /** What `thread` has used (a copy). */
  usage(thread: string): ThreadUsage {
    const usage = this.#threads.get(thread);
    return usage === undefined ? EMPTY : { ...usage };
  }

  /**
   * Counts an envelope its thread took: one message, a retry when
   * `attempt > 0`, the cost of a CLAIM, and the budget a NEED sets. Each
   * envelope is counted once, when the thread takes it: one refused, or
   * brought again by a sync, uses none of the budget.
   */
  record(view: Pick<EnvelopeView, "thread" | "kind" | "attempt" | "payload">): void {
    const usage = this.#touch(view.thread);
    usage.messages++;
    if ((view.attempt ?? 0) > 0) usage.retries++;
    if (view.kind === "CLAIM") usage.cost += view.payload?.cost ?? 0;
    if (view.kind === "NEED" && view.payload?.budget !== undefined) {
      usage.costMax = view.payload.budget;
    }
  }

  /** Threads tracked now. */
  get size(): number {
    return this.#threads.size;
  }

  /** Threads forgotten to stay within the bound. */
  get evictions(): number {
    return this.#evictions;
  }

  #touch(thread: string): MutableUsage {
    let usage = this.#threads.get(thread);
    if (usage !== undefined) {
      this.#threads.delete(thread);
    } else {
      usage = { messages: 0, retries: 0, cost: 0 };
      if (this.#threads.size >= this.#threadsMax) {
        const oldest = this.#threads.keys().next().value as string;
        this.#threads.delete(oldest);
        this.#evictions++;
      }
    }
    this.#threads.set(thread, usage);
    return usage;
  }
}

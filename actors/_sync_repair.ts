/**
 * When a node core asks its peers for a thread: once per interval for a
 * thread it has not heard of, for threads whose parked messages wait too
 * long for one that never came (a lost gossip message), and for open
 * threads that stopped moving (a lost last message), backing off per thread
 * while they stay idle. The core publishes the requests; this decides which.
 *
 * Idle repair looks only at the 64 longest-idle threads, those in their
 * back-off included: newer idle threads wait until older ones move on. That
 * is a budget, on purpose. In an overloaded swarm most threads are idle only
 * because everything is late, and asking for 64 more threads every second
 * adds load that loses more messages: in 5-process runs of 2,000 NEEDs,
 * asking past the threads in back-off left 60–70 NEEDs unfinished (two runs),
 * against none with the budget.
 *
 * @module
 */

import type { ThreadBook } from "./_thread_book.ts";

/** Least time between two requests for one thread. */
const SYNC_REQUEST_INTERVAL_MS = 2_000;
/** Most stalled (or idle) threads a node asks its peers for per sweep. */
const STALLED_REPAIRS_MAX = 64;
/** Longest gap between two requests for a thread that stays idle. */
const IDLE_REPAIR_GAP_MAX_MS = 60_000;

/** What the repair reads from the node's thread book. */
export type RepairSource = Pick<ThreadBook, "stalled" | "idle">;

/** Settings of {@linkcode SyncRepair}. */
export interface SyncRepairOptions {
  /** A parked message older than this makes the node ask for its thread. Default 2,000 ms. */
  readonly parkedRepairMs?: number;
  /** An open thread idle this long is asked for, then less often. Default 5,000 ms. */
  readonly idleRepairMs?: number;
}

/** Which threads a node core asks its peers for, and when. */
export class SyncRepair {
  readonly #options: SyncRepairOptions;
  readonly #requestedAtMs = new Map<string, number>();
  /** Idle threads asked for: since when idle, when asked, the gap to the next ask. */
  readonly #idleAsked = new Map<string, { sinceMs: number; atMs: number; gapMs: number }>();

  constructor(options: SyncRepairOptions = {}) {
    this.#options = options;
  }

  /** Whether to ask for `thread` now (at most once per interval); records the ask. */
  shouldRequest(thread: string, nowMs: number): boolean {
    const last = this.#requestedAtMs.get(thread);
    if (last !== undefined && nowMs - last < SYNC_REQUEST_INTERVAL_MS) return false;
    this.#requestedAtMs.set(thread, nowMs);
    return true;
  }

  /** The threads to ask for at a sweep: stalled by parked messages, then idle ones. */
  due(book: RepairSource, nowMs: number): string[] {
    for (const [thread, requestedMs] of this.#requestedAtMs) {
      if (nowMs - requestedMs >= SYNC_REQUEST_INTERVAL_MS) this.#requestedAtMs.delete(thread);
    }
    const cutoffMs = nowMs - (this.#options.parkedRepairMs ?? 2_000);
    const due = book.stalled(cutoffMs, STALLED_REPAIRS_MAX)
      .filter((thread) => this.shouldRequest(thread, nowMs));
    return due.concat(this.#idle(book, nowMs));
  }

  #idle(book: RepairSource, nowMs: number): string[] {
    const idleMs = this.#options.idleRepairMs ?? 5_000;
    for (const [thread, asked] of this.#idleAsked) {
      if (nowMs - asked.atMs > IDLE_REPAIR_GAP_MAX_MS * 2) this.#idleAsked.delete(thread);
    }
    const due: string[] = [];
    for (const { thread, sinceMs } of book.idle(nowMs - idleMs, STALLED_REPAIRS_MAX)) {
      const asked = this.#idleAsked.get(thread);
      const fresh = asked === undefined || asked.sinceMs !== sinceMs;
      if (!fresh && nowMs - asked.atMs < asked.gapMs) continue;
      const gapMs = fresh ? idleMs : Math.min(asked.gapMs * 2, IDLE_REPAIR_GAP_MAX_MS);
      this.#idleAsked.set(thread, { sinceMs, atMs: nowMs, gapMs });
      if (this.shouldRequest(thread, nowMs)) due.push(thread);
    }
    return due;
  }
}

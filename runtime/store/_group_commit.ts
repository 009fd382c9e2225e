/**
 * Group commit: concurrent atomic commits to one store go to the backend as
 * one atomic write.
 *
 * A Deno KV commit costs about 100 µs, most of it the SQLite transaction, and
 * a commit of ten independent writes costs about twice that, not ten times.
 * A node has many commits in flight at once (a DECIDE, a lease, a committee
 * record, a ledger entry for each of hundreds of NEEDs), so while one write is
 * at the backend the next ones queue, and the queue goes as one batch when it
 * returns. At low load nothing waits: a lone commit goes at once.
 *
 * The batch keeps each commit's meaning:
 * - no commit in a batch writes (sets or deletes) a key that another commit of
 *   the batch checks or writes, so no commit's checks can see another's
 *   writes; commits that only check the same key share a batch (every
 *   DECIDE and lease checks the epoch key). A commit that conflicts with one
 *   already in the batch closes the batch and starts the next one, which
 *   keeps the order in which conflicting commits were made;
 * - a batch whose checks fail (some commit lost its compare-and-set race), or
 *   that the backend refuses (too large), is retried commit by commit, so each
 *   gets its own outcome or error;
 * - every commit of a successful batch gets the batch's version, which is the
 *   version its keys now carry.
 *
 * @module
 */

import { type StoreCommit, type StoreCommitResult, storeKeyId } from "./store.ts";

/** Backend limits of one atomic write (Deno KV: 100 checks, 1,000 mutations). */
export interface GroupLimits {
  readonly checks: number;
  readonly mutations: number;
}

/** Writes one atomic batch (the union of several commits) to the backend. */
export type AtomicWrite = (commit: StoreCommit) => Promise<StoreCommitResult>;

interface Pending {
  readonly commit: StoreCommit;
  /** Keys the commit checks. */
  readonly reads: readonly string[];
  /** Keys the commit sets or deletes. */
  readonly writes: readonly string[];
  readonly resolve: (result: StoreCommitResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Coalesces concurrent commits into batches (see the module doc). */
export class GroupCommit {
  readonly #write: AtomicWrite;
  readonly #limits: GroupLimits;
  #queue: Pending[] = [];
  #draining = false;
  #batches = 0;
  #commits = 0;
  #idle: Promise<void> = Promise.resolve();
  #markIdle: () => void = () => {};

  constructor(write: AtomicWrite, limits: GroupLimits) {
    this.#write = write;
    this.#limits = limits;
  }

  /** Commits made and backend batches written so far (for benchmarks). */
  get stats(): { readonly commits: number; readonly batches: number } {
    return { commits: this.#commits, batches: this.#batches };
  }

  /** Queues one commit; resolves with its own outcome. */
  submit(commit: StoreCommit): Promise<StoreCommitResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ commit, ...keysOf(commit), resolve, reject });
      this.#commits++;
      if (!this.#draining) void this.#drain();
    });
  }

  /** Resolves when every queued commit has been written. */
  idle(): Promise<void> {
    return this.#idle;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    this.#idle = new Promise((resolve) => (this.#markIdle = resolve));
    // Let the commits made in the same turn join the first batch.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      this.#batches++;
      if (batch.length === 1) await settle(batch[0], this.#write);
      else await this.#writeBatch(batch);
    }
    this.#draining = false;
    this.#markIdle();
  }

  /** The longest prefix of the queue without conflicting commits, within the limits. */
  #takeBatch(): Pending[] {
    const read = new Set<string>();
    const written = new Set<string>();
    let checks = 0;
    let mutations = 0;
    let size = 0;
    for (const pending of this.#queue) {
      const ownChecks = pending.commit.checks?.length ?? 0;
      const ownMutations = (pending.commit.sets?.length ?? 0) +
        (pending.commit.deletes?.length ?? 0);
      const fits = checks + ownChecks <= this.#limits.checks &&
        mutations + ownMutations <= this.#limits.mutations;
      const conflicts = pending.writes.some((key) => read.has(key) || written.has(key)) ||
        pending.reads.some((key) => written.has(key));
      if (size > 0 && (!fits || conflicts)) break;
      for (const key of pending.reads) read.add(key);
      for (const key of pending.writes) written.add(key);
      checks += ownChecks;
      mutations += ownMutations;
      size++;
    }
    return this.#queue.splice(0, size);
  }

  async #writeBatch(batch: readonly Pending[]): Promise<void> {
    let result: StoreCommitResult | undefined;
    try {
      result = await this.#write({
        checks: batch.flatMap((pending) => pending.commit.checks ?? []),
        sets: batch.flatMap((pending) => pending.commit.sets ?? []),
        deletes: batch.flatMap((pending) => pending.commit.deletes ?? []),
      });
    } catch {
      result = undefined;
    }
    if (result?.ok === true) {
      for (const pending of batch) pending.resolve(result);
      return;
    }
    for (const pending of batch) await settle(pending, this.#write);
  }
}

async function settle(pending: Pending, write: AtomicWrite): Promise<void> {
  try {
    pending.resolve(await write(pending.commit));
  } catch (error) {
    pending.reject(error);
  }
}

/** The keys a commit checks and the keys it writes, as comparable strings. */
function keysOf(commit: StoreCommit): { reads: string[]; writes: string[] } {
  return {
    reads: (commit.checks ?? []).map((check) => storeKeyId(check.key)),
    writes: [...(commit.sets ?? []).map((set) => set.key), ...(commit.deletes ?? [])].map(
      storeKeyId,
    ),
  };
}

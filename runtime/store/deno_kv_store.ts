/**
 * The embedded default store: Deno KV (SQLite underneath), one database file
 * per node under its data directory. Keys written with an expiry are deleted
 * by Deno KV itself some time after it (within about a minute).
 *
 * @module
 */

import {
  checkStoreKey,
  checkStoreSet,
  listLimit,
  type Store,
  type StoreCommit,
  type StoreCommitResult,
  type StoreEntry,
  StoreError,
  type StoreKey,
  type StoreListOptions,
} from "./store.ts";
import { GroupCommit } from "./_group_commit.ts";
import { ReadCache } from "./_read_cache.ts";

/** Deno KV's limits on one atomic write. */
const KV_LIMITS = { checks: 100, mutations: 1000 };
/** Entries the read cache keeps. */
const READ_CACHE_ENTRIES = 16_384;

/**
 * A {@linkcode Store} over Deno KV with atomic check-and-set batches.
 * Writes made concurrently are group-committed (`_group_commit.ts`), and
 * reads are served from a bounded cache of what this process read and wrote
 * (`_read_cache.ts`): the database file belongs to one process.
 */
export class DenoKvStore implements Store {
  readonly #kv: Deno.Kv;
  readonly #writes: GroupCommit;
  readonly #cache = new ReadCache(READ_CACHE_ENTRIES);
  #closed = false;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
    this.#writes = new GroupCommit((batch) => this.#atomic(batch), KV_LIMITS);
  }

  /** Commits made, the atomic writes they took, and read-cache hits and misses. */
  get ioStats(): { commits: number; batches: number; hits: number; misses: number } {
    return { ...this.#writes.stats, ...this.#cache.stats };
  }

  /**
   * Opens (creating if needed) the database at `path`; `":memory:"` opens a
   * throwaway one. Only one process may hold a database file at a time.
   *
   * @example
   * ```ts
   * const store = await DenoKvStore.open("./data/node-1/store.kv");
   * ```
   */
  static async open(path: string): Promise<DenoKvStore> {
    return new DenoKvStore(await Deno.openKv(path));
  }

  async get<T>(key: StoreKey): Promise<StoreEntry<T> | undefined> {
    this.#checkOpen();
    checkStoreKey(key);
    return await this.#cache.get(key, async () => {
      const entry = await this.#kv.get<T>(key as Deno.KvKey);
      if (entry.versionstamp === null) return undefined;
      return { key, value: entry.value, version: entry.versionstamp };
    });
  }

  async set(key: StoreKey, value: unknown): Promise<string> {
    this.#checkOpen();
    const result = await this.#write({ sets: [{ key: checkStoreKey(key), value }] });
    if (!result.ok) throw new StoreError("E_STORE_WRITE", `Store write of ${String(key)} failed`);
    return result.version;
  }

  async delete(key: StoreKey): Promise<void> {
    this.#checkOpen();
    await this.#write({ deletes: [checkStoreKey(key)] });
  }

  async list<T>(prefix: StoreKey, options?: StoreListOptions): Promise<StoreEntry<T>[]> {
    this.#checkOpen();
    const limit = listLimit(options);
    const entries: StoreEntry<T>[] = [];
    const iterator = this.#kv.list<T>({ prefix: prefix as Deno.KvKey }, {
      limit,
      reverse: options?.reverse ?? false,
    });
    for await (const entry of iterator) {
      entries.push({ key: entry.key as StoreKey, value: entry.value, version: entry.versionstamp });
    }
    return entries;
  }

  async commit(batch: StoreCommit): Promise<StoreCommitResult> {
    this.#checkOpen();
    for (const { key } of batch.checks ?? []) checkStoreKey(key);
    for (const set of batch.sets ?? []) checkStoreSet(set);
    for (const key of batch.deletes ?? []) checkStoreKey(key);
    return await this.#write(batch);
  }

  /** Group-commits `batch` and keeps the read cache in step with its outcome. */
  async #write(batch: StoreCommit): Promise<StoreCommitResult> {
    let result: StoreCommitResult;
    try {
      result = await this.#writes.submit(batch);
    } catch (error) {
      this.#cache.unsure(batch);
      throw error;
    }
    this.#cache.committed(batch, result.ok ? result.version : undefined);
    return result;
  }

  async #atomic(batch: StoreCommit): Promise<StoreCommitResult> {
    const atomic = this.#kv.atomic();
    for (const check of batch.checks ?? []) {
      atomic.check({ key: check.key as Deno.KvKey, versionstamp: check.version });
    }
    for (const { key, value, expireAtMs } of batch.sets ?? []) {
      // Expiry is Deno KV's own (`expireIn`), on this host's clock: the key goes some time after.
      const expiry = expireAtMs === undefined
        ? undefined
        : { expireIn: Math.max(1, Math.ceil(expireAtMs - Date.now())) };
      atomic.set(key as Deno.KvKey, value, expiry);
    }
    for (const key of batch.deletes ?? []) atomic.delete(key as Deno.KvKey);
    const result = await atomic.commit();
    return result.ok ? { ok: true, version: result.versionstamp } : { ok: false };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.idle();
    this.#kv.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError("E_STORE_CLOSED", "Cannot use the store: it is closed");
  }
}

/**
 * The embedded default store: Deno KV (SQLite underneath), one database file
 * per node under its data directory.
 *
 * @module
 */

import {
  checkStoreKey,
  listLimit,
  type Store,
  type StoreCommit,
  type StoreCommitResult,
  type StoreEntry,
  StoreError,
  type StoreKey,
  type StoreListOptions,
} from "./store.ts";

/** A {@linkcode Store} over Deno KV with atomic check-and-set batches. */
export class DenoKvStore implements Store {
  readonly #kv: Deno.Kv;
  #closed = false;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
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
    const entry = await this.#kv.get<T>(checkStoreKey(key) as Deno.KvKey);
    if (entry.versionstamp === null) return undefined;
    return { key, value: entry.value, version: entry.versionstamp };
  }

  async set(key: StoreKey, value: unknown): Promise<string> {
    this.#checkOpen();
    const result = await this.#kv.set(checkStoreKey(key) as Deno.KvKey, value);
    return result.versionstamp;
  }

  async delete(key: StoreKey): Promise<void> {
    this.#checkOpen();
    await this.#kv.delete(checkStoreKey(key) as Deno.KvKey);
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
    const atomic = this.#kv.atomic();
    for (const check of batch.checks ?? []) {
      atomic.check({ key: checkStoreKey(check.key) as Deno.KvKey, versionstamp: check.version });
    }
    for (const { key, value } of batch.sets ?? []) {
      atomic.set(checkStoreKey(key) as Deno.KvKey, value);
    }
    for (const key of batch.deletes ?? []) atomic.delete(checkStoreKey(key) as Deno.KvKey);
    const result = await atomic.commit();
    return result.ok ? { ok: true, version: result.versionstamp } : { ok: false };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#kv.close();
    }
    return Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError("E_STORE_CLOSED", "Cannot use the store: it is closed");
  }
}

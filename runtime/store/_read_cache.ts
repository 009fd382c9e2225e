/**
 * A bounded read cache for a store that one process owns.
 *
 * Deno KV files are held by one process (the node), and every write goes
 * through that process's store object, so the store can remember what it
 * wrote and read, and answer a repeated read without the backend: a decider
 * reads back its fence, the DECIDE it wrote, the lease a worker took. The
 * cache is coherent because it sees every write:
 * - a successful commit records its sets (with the commit's version) and
 *   deletes (as absent);
 * - a failed commit forgets the keys it checked;
 * - a read that was in flight while the same key was written does not fill
 *   the cache with what it read (it may be older than the write).
 *
 * Entries are copied in and out, as a backend read would, so a caller that
 * mutates a value cannot change the cache (plain objects and arrays by a
 * quick walk, anything else by `structuredClone`). The least
 * recently used entries go first when it is full.
 *
 * @module
 */

import { type StoreCommit, type StoreEntry, type StoreKey, storeKeyId as keyId } from "./store.ts";
import { EvictionCursor } from "../eviction_cursor.ts";

/** A cached read: the entry, or null when the key is known to be absent. */
type Cached = StoreEntry<unknown> | null;

/** The read cache (see the module doc). */
export class ReadCache {
  readonly #capacity: number;
  readonly #entries = new Map<string, Cached>();
  readonly #entriesOldest = new EvictionCursor(this.#entries);
  /** Reads in flight per key, and the keys written while one was. */
  readonly #reading = new Map<string, number>();
  readonly #writtenDuringRead = new Set<string>();
  #hits = 0;
  #misses = 0;

  /** @param capacity entries kept at most */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Cache hits and misses so far. */
  get stats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Reads `key` from the cache, or through `read` (and caches the answer). */
  async get<T>(
    key: StoreKey,
    read: () => Promise<StoreEntry<T> | undefined>,
  ): Promise<StoreEntry<T> | undefined> {
    const id = keyId(key);
    const cached = this.#entries.get(id);
    if (cached !== undefined) {
      this.#hits++;
      this.#touch(id, cached);
      return cached === null ? undefined : { ...cached, value: copy(cached.value) as T };
    }
    this.#misses++;
    this.#reading.set(id, (this.#reading.get(id) ?? 0) + 1);
    try {
      const entry = await read();
      if (!this.#writtenDuringRead.has(id)) {
        this.#put(id, entry === undefined ? null : { ...entry, value: copy(entry.value) });
      }
      return entry;
    } finally {
      const left = (this.#reading.get(id) ?? 1) - 1;
      if (left > 0) this.#reading.set(id, left);
      else {
        this.#reading.delete(id);
        this.#writtenDuringRead.delete(id);
      }
    }
  }

  /** Records the outcome of a commit (`version` when it applied, undefined when it did not). */
  committed(commit: StoreCommit, version: string | undefined): void {
    if (version === undefined) {
      for (const check of commit.checks ?? []) this.#forget(keyId(check.key));
      return;
    }
    for (const { key, value } of commit.sets ?? []) {
      this.#wrote(keyId(key), { key, value: copy(value), version });
    }
    for (const key of commit.deletes ?? []) this.#wrote(keyId(key), null);
  }

  /** Forgets a write whose outcome is unknown (the backend threw). */
  unsure(commit: StoreCommit): void {
    for (const { key } of commit.sets ?? []) this.#forget(keyId(key));
    for (const key of commit.deletes ?? []) this.#forget(keyId(key));
  }

  #wrote(id: string, entry: Cached): void {
    if (this.#reading.has(id)) this.#writtenDuringRead.add(id);
    this.#put(id, entry);
  }

  #forget(id: string): void {
    this.#entries.delete(id);
    if (this.#reading.has(id)) this.#writtenDuringRead.add(id);
  }

  #touch(id: string, entry: Cached): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
  }

  #put(id: string, entry: Cached): void {
    this.#touch(id, entry);
    if (this.#entries.size > this.#capacity) {
      this.#entriesOldest.evict();
    }
  }
}

/** A deep copy of a stored value. */
function copy(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(copy);
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = copy((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * The node's durable key-value store: what survives a crash.
 *
 * Actors persist through this interface only; the embedded backend is Deno
 * KV ({@linkcode DenoKvStore}), the simulator backs it with a simulated disk
 * that outlives a simulated crash. Keys are ordered tuples, like Deno KV's.
 *
 * @module
 */

import { SwarmError } from "../errors.ts";

/** One part of a key. Parts of different types order by type, then by value. */
export type StoreKeyPart = string | number | bigint | boolean;

/** A key: an ordered tuple of parts, e.g. `["lamport", nodeId]`. */
export type StoreKey = readonly StoreKeyPart[];

/** A stored value with the version it was written at. */
export interface StoreEntry<T> {
  readonly key: StoreKey;
  readonly value: T;
  /** Opaque, monotonically increasing write version (Deno KV's versionstamp). */
  readonly version: string;
}

/** Options of {@linkcode Store.list}. */
export interface StoreListOptions {
  /** Maximum number of entries returned; lists are always bounded. Default 1000. */
  limit?: number;
  /** Return the highest keys first. */
  reverse?: boolean;
}

/** A precondition of {@linkcode Store.commit}: the key is at `version`, or absent when null. */
export interface StoreCheck {
  readonly key: StoreKey;
  readonly version: string | null;
}

/** One write of a {@linkcode StoreCommit}. */
export interface StoreSet {
  readonly key: StoreKey;
  readonly value: unknown;
  /**
   * The store may delete the key any time after this time (ms on the
   * clock the store was given; Deno KV's `expireIn`). It reads as present
   * until the store does. Absent: kept until deleted.
   */
  readonly expireAtMs?: number;
}

/** An atomic batch: every check holds, then every set and delete applies, or nothing does. */
export interface StoreCommit {
  readonly checks?: readonly StoreCheck[];
  readonly sets?: readonly StoreSet[];
  readonly deletes?: readonly StoreKey[];
}

/** The outcome of {@linkcode Store.commit}. */
export type StoreCommitResult = { ok: true; version: string } | { ok: false };

/** Default bound of a list call. */
export const STORE_LIST_LIMIT_DEFAULT = 1000;

/** Durable, ordered key-value storage with atomic compare-and-set batches. */
export interface Store {
  /** Reads one key. */
  get<T>(key: StoreKey): Promise<StoreEntry<T> | undefined>;
  /** Writes one key and returns the new version. */
  set(key: StoreKey, value: unknown): Promise<string>;
  /** Removes one key; removing an absent key is not an error. */
  delete(key: StoreKey): Promise<void>;
  /** Lists entries under a key prefix in key order, at most `limit` of them. */
  list<T>(prefix: StoreKey, options?: StoreListOptions): Promise<StoreEntry<T>[]>;
  /** Applies a batch atomically if all its checks hold. */
  commit(batch: StoreCommit): Promise<StoreCommitResult>;
  /** Releases the backend; further calls fail. */
  close(): Promise<void>;
}

/** Raised for unusable keys or values, and for calls on a closed store. */
export class StoreError extends SwarmError {}

/** Validates a key and returns it; throws {@linkcode StoreError} with code `E_STORE_KEY`. */
export function checkStoreKey(key: StoreKey): StoreKey {
  if (!Array.isArray(key) || key.length === 0) {
    throw new StoreError("E_STORE_KEY", `Store key must be a non-empty array, got ${String(key)}`);
  }
  for (const part of key) {
    const type = typeof part;
    if (type !== "string" && type !== "number" && type !== "bigint" && type !== "boolean") {
      throw new StoreError(
        "E_STORE_KEY",
        `Store key part must be a string, number, bigint or boolean, got ${type}`,
      );
    }
    if (type === "number" && !Number.isFinite(part)) {
      throw new StoreError("E_STORE_KEY", `Store key number must be finite, got ${String(part)}`);
    }
  }
  return key;
}

/** Validates a set of a commit and returns it; throws {@linkcode StoreError} `E_STORE_KEY` or `E_STORE_EXPIRY`. */
export function checkStoreSet(set: StoreSet): StoreSet {
  checkStoreKey(set.key);
  if (set.expireAtMs !== undefined && !Number.isFinite(set.expireAtMs)) {
    throw new StoreError(
      "E_STORE_EXPIRY",
      `Store expiry must be a finite time in ms, got ${String(set.expireAtMs)}`,
    );
  }
  return set;
}

/** A key as a string (for maps and sets of keys); two different keys never share one. */
export function storeKeyId(key: StoreKey): string {
  let id = "";
  for (const part of key) {
    const text = String(part);
    // Type tag and length first, so no part can pose as two or as another type.
    id += `${(typeof part)[0]}${text.length}:${text}`;
  }
  return id;
}

/** Resolves the list bound, rejecting nonsense. */
export function listLimit(options: StoreListOptions | undefined): number {
  const limit = options?.limit ?? STORE_LIST_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new StoreError(
      "E_STORE_LIMIT",
      `Store list limit must be a positive integer, got ${limit}`,
    );
  }
  return limit;
}

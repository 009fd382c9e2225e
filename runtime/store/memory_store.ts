/**
 * An in-memory {@linkcode Store} with Deno KV's ordering and versioning.
 *
 * This is the simulator's disk: a simulated node crash throws away the node's
 * actors but keeps this object, exactly like a process crash keeps its files.
 * Production nodes use {@linkcode DenoKvStore}; this class exists because a
 * real database cannot be paused, crashed and replayed on virtual time. Keys
 * written with an expiry read as absent from that time on the clock it is
 * given (the node's virtual clock in simulation); without one they never
 * expire.
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
  type StoreKeyPart,
  type StoreListOptions,
} from "./store.ts";

const TYPE_ORDER: Record<string, number> = { string: 0, bigint: 1, number: 2, boolean: 3 };

/**
 * Orders keys like Deno KV: part by part, by type first (string, bigint,
 * number, boolean), then by value; shorter prefixes first.
 */
export function compareStoreKeys(left: StoreKey, right: StoreKey): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const order = compareParts(left[index], right[index]);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

function compareParts(left: StoreKeyPart, right: StoreKeyPart): number {
  const typeOrder = TYPE_ORDER[typeof left] - TYPE_ORDER[typeof right];
  if (typeOrder !== 0) return typeOrder;
  if (typeof left === "string") return compareCodePoints(left, right as string);
  if (left === right) {
    // Deno KV keeps -0 and 0 apart, -0 first.
    return typeof left === "number"
      ? Number(Object.is(right, -0)) - Number(Object.is(left, -0))
      : 0;
  }
  return left < right ? -1 : 1;
}

/** Orders strings by Unicode code point, as Deno KV does (by UTF-8 bytes), not by UTF-16 unit. */
function compareCodePoints(left: string, right: string): number {
  if (left === right) return 0;
  const leftPoints = [...left];
  const rightPoints = [...right];
  const length = Math.min(leftPoints.length, rightPoints.length);
  for (let index = 0; index < length; index++) {
    const difference = (leftPoints[index].codePointAt(0) as number) -
      (rightPoints[index].codePointAt(0) as number);
    if (difference !== 0) return difference;
  }
  return leftPoints.length - rightPoints.length;
}

function keyId(key: StoreKey): string {
  return key.map((part) => `${typeof part}:${Object.is(part, -0) ? "-0" : String(part)}`).join(
    "\u0000",
  );
}

interface Slot {
  key: StoreKey;
  value: unknown;
  version: string;
  expireAtMs?: number;
}

/** Options of a {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock expiries are read on, ms; without it keys never expire. */
  readonly nowMs?: () => number;
}

/** A {@linkcode Store} kept in memory; values are cloned on write and read, as a disk would. */
export class MemoryStore implements Store {
  readonly #slots = new Map<string, Slot>();
  readonly #nowMs: (() => number) | undefined;
  #versionCounter = 0n;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#nowMs = options.nowMs;
  }

  get<T>(key: StoreKey): Promise<StoreEntry<T> | undefined> {
    this.#checkOpen();
    const slot = this.#live(keyId(checkStoreKey(key)));
    if (slot === undefined) return Promise.resolve(undefined);
    return Promise.resolve({
      key: slot.key,
      value: structuredClone(slot.value) as T,
      version: slot.version,
    });
  }

  set(key: StoreKey, value: unknown): Promise<string> {
    this.#checkOpen();
    return Promise.resolve(this.#write(checkStoreKey(key), value, this.#nextVersion()));
  }

  delete(key: StoreKey): Promise<void> {
    this.#checkOpen();
    this.#slots.delete(keyId(checkStoreKey(key)));
    return Promise.resolve();
  }

  list<T>(prefix: StoreKey, options?: StoreListOptions): Promise<StoreEntry<T>[]> {
    this.#checkOpen();
    const limit = listLimit(options);
    const matches = [...this.#slots.entries()]
      .filter(([id, slot]) =>
        slot.key.length > prefix.length && hasPrefix(slot.key, prefix) &&
        this.#live(id) !== undefined
      )
      .map(([, slot]) => slot)
      .sort((left, right) => compareStoreKeys(left.key, right.key));
    if (options?.reverse) matches.reverse();
    return Promise.resolve(
      matches.slice(0, limit).map((slot) => ({
        key: slot.key,
        value: structuredClone(slot.value) as T,
        version: slot.version,
      })),
    );
  }

  commit(batch: StoreCommit): Promise<StoreCommitResult> {
    this.#checkOpen();
    // Everything is checked before anything is written: a bad part fails the whole batch.
    const sets = (batch.sets ?? []).map(checkStoreSet);
    const deletes = (batch.deletes ?? []).map(checkStoreKey);
    for (const check of batch.checks ?? []) {
      const current = this.#live(keyId(checkStoreKey(check.key)))?.version ?? null;
      if (current !== check.version) return Promise.resolve({ ok: false });
    }
    const version = this.#nextVersion();
    for (const { key, value, expireAtMs } of sets) this.#write(key, value, version, expireAtMs);
    for (const key of deletes) this.#slots.delete(keyId(key));
    return Promise.resolve({ ok: true, version });
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Reopens after {@linkcode close}, as a restarted process reopens its files. */
  reopen(): void {
    this.#closed = false;
  }

  #write(key: StoreKey, value: unknown, version: string, expireAtMs?: number): string {
    const slot: Slot = { key: [...key], value: structuredClone(value), version };
    if (expireAtMs !== undefined) slot.expireAtMs = expireAtMs;
    this.#slots.set(keyId(key), slot);
    return version;
  }

  /** The slot at `id` unless it has expired (then it is deleted). */
  #live(id: string): Slot | undefined {
    const slot = this.#slots.get(id);
    if (
      slot?.expireAtMs === undefined || this.#nowMs === undefined ||
      this.#nowMs() < slot.expireAtMs
    ) {
      return slot;
    }
    this.#slots.delete(id);
    return undefined;
  }

  #nextVersion(): string {
    this.#versionCounter += 1n;
    return this.#versionCounter.toString(16).padStart(20, "0");
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError("E_STORE_CLOSED", "Cannot use the store: it is closed");
  }
}

function hasPrefix(key: StoreKey, prefix: StoreKey): boolean {
  for (let index = 0; index < prefix.length; index++) {
    if (key[index] !== prefix[index]) return false;
  }
  return true;
}

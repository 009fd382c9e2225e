/**
 * Records a store forgets once their time is up. A record kept with a
 * retention time gets a second, empty entry in an index: the index's prefix,
 * then the time, then the record's key. The index lists in time order, so
 * {@linkcode forgetDue} reads the records that are due from its front and
 * deletes each with its index entry in one atomic batch.
 *
 * The time is the caller's (the actor context's clock); nothing here reads a
 * clock, so the simulator's stores forget on virtual time.
 *
 * @module
 */

import type { Store, StoreKey } from "./store.ts";

/** The index entry of the record at `key`, due at `untilMs`. */
export function retentionKey(index: StoreKey, untilMs: number, key: StoreKey): StoreKey {
  return [...index, untilMs, ...key];
}

/** The sets that keep `value` at `key` until `untilMs`: the record, then its index entry. */
export function retainedSets(
  index: StoreKey,
  key: StoreKey,
  value: unknown,
  untilMs: number | undefined,
): { key: StoreKey; value: unknown }[] {
  return untilMs === undefined
    ? [{ key, value }]
    : [{ key, value }, { key: retentionKey(index, untilMs, key), value: true }];
}

/**
 * Deletes the records indexed under `index` whose time is at or before
 * `cutoffMs`, at most `limit` of them, oldest first, in one atomic batch;
 * resolves to how many. A record deleted by other means (a released lease)
 * leaves its index entry, which goes the same way; deleting twice is harmless.
 */
export async function forgetDue(
  store: Store,
  index: StoreKey,
  cutoffMs: number,
  limit: number,
): Promise<number> {
  const due: StoreKey[] = [];
  for (const entry of await store.list<true>(index, { limit })) {
    if (!((entry.key[index.length] as number) <= cutoffMs)) break;
    due.push(entry.key);
  }
  if (due.length === 0) return 0;
  const result = await store.commit({
    deletes: due.flatMap((key) => [key, key.slice(index.length + 1)]),
  });
  return result.ok ? due.length : 0;
}

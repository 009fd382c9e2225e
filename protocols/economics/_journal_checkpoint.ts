/**
 * A ledger checkpoint in the node's store (private to the journal): cut
 * into parts small enough for one store value each, under
 * `["ledger", "checkpoint", generation, bucket, part]`, and made current by
 * one write of its head, `["ledger", "checkpoint-head"]`. Parts written
 * before a crash and never named by a head are ignored, and overwritten by
 * the next checkpoint of that generation.
 *
 * @module
 */

import { StoreError } from "../../runtime/store/store.ts";
import type { Store, StoreKey } from "../../runtime/store/store.ts";
import type { LedgerCheckpoint } from "./ledger.ts";

/** The current checkpoint: its generation, journal position and number of parts. */
export interface CheckpointHead {
  readonly generation: number;
  readonly seq: number;
  readonly parts: number;
}

/** Key of the current checkpoint's head. */
export const CHECKPOINT_HEAD_KEY: StoreKey = ["ledger", "checkpoint-head"];
/** Parts per key bucket (a store list returns one bucket). */
const BUCKET = 512;
/** Characters of JSON per part: Deno KV takes values up to 64 KiB. */
const PART_CHARS_MAX = 24_000;
/** Parts per store commit. */
const PARTS_PER_COMMIT = 16;

type Meta = Pick<LedgerCheckpoint, "seq" | "supply" | "burned">;
type Item =
  | { readonly meta: Meta }
  | { readonly account: LedgerCheckpoint["accounts"][number] }
  | { readonly escrow: LedgerCheckpoint["escrows"][number] }
  | { readonly operation: LedgerCheckpoint["operations"][number] };

const partKey = (generation: number, part: number): StoreKey => [
  "ledger",
  "checkpoint",
  generation,
  Math.floor(part / BUCKET),
  part,
];

/** Writes `checkpoint` as `generation` and then its head; resolves to the head. */
export async function writeCheckpoint(
  store: Store,
  generation: number,
  checkpoint: LedgerCheckpoint,
): Promise<CheckpointHead> {
  // Parts are cut as they are written, so a large checkpoint never stalls the node at once.
  let parts = 0;
  let sets: { key: StoreKey; value: Item[] }[] = [];
  for (const value of pack(checkpoint)) {
    sets.push({ key: partKey(generation, parts++), value });
    if (sets.length < PARTS_PER_COMMIT) continue;
    await commitOrThrow(store, { sets });
    sets = [];
  }
  if (sets.length > 0) await commitOrThrow(store, { sets });
  const head: CheckpointHead = { generation, seq: checkpoint.seq, parts };
  await commitOrThrow(store, { sets: [{ key: CHECKPOINT_HEAD_KEY, value: head }] });
  return head;
}

/** Reads the checkpoint `head` names; throws `E_STORE_CHECKPOINT` when a part is missing. */
export async function readCheckpoint(
  store: Store,
  head: CheckpointHead,
): Promise<LedgerCheckpoint> {
  const items: Item[] = [];
  for (let bucket = 0; bucket * BUCKET < head.parts; bucket++) {
    const listed = await store.list<Item[]>(["ledger", "checkpoint", head.generation, bucket], {
      limit: BUCKET,
    });
    const expected = Math.min(BUCKET, head.parts - bucket * BUCKET);
    if (listed.length < expected) {
      throw new StoreError(
        "E_STORE_CHECKPOINT",
        `Ledger checkpoint ${head.generation} lacks parts in bucket ${bucket} (${listed.length} of ${expected})`,
      );
    }
    listed.sort((left, right) => Number(left.key[4]) - Number(right.key[4]));
    for (const part of listed.slice(0, expected)) items.push(...part.value);
  }
  return unpack(items, head);
}

/** Deletes the parts of a checkpoint no head names any more. */
export async function deleteCheckpoint(store: Store, head: CheckpointHead): Promise<void> {
  for (let bucket = 0; bucket * BUCKET < head.parts; bucket++) {
    const prefix = ["ledger", "checkpoint", head.generation, bucket];
    const listed = await store.list(prefix, { limit: BUCKET });
    if (listed.length > 0) await commitOrThrow(store, { deletes: listed.map((item) => item.key) });
  }
}

/** The checkpoint as items, cut into parts of at most {@linkcode PART_CHARS_MAX} characters of JSON. */
function* pack(checkpoint: LedgerCheckpoint): Generator<Item[]> {
  let part: Item[] = [];
  let chars = 0;
  for (const item of itemsOf(checkpoint)) {
    const size = JSON.stringify(item).length;
    if (part.length > 0 && chars + size > PART_CHARS_MAX) {
      yield part;
      part = [];
      chars = 0;
    }
    part.push(item);
    chars += size;
  }
  yield part;
}

function* itemsOf(checkpoint: LedgerCheckpoint): Generator<Item> {
  yield { meta: { seq: checkpoint.seq, supply: checkpoint.supply, burned: checkpoint.burned } };
  for (const account of checkpoint.accounts) yield { account };
  for (const escrow of checkpoint.escrows) yield { escrow };
  for (const operation of checkpoint.operations) yield { operation };
}

function unpack(items: readonly Item[], head: CheckpointHead): LedgerCheckpoint {
  const first = items[0];
  if (first === undefined || !("meta" in first) || first.meta.seq !== head.seq) {
    throw new StoreError(
      "E_STORE_CHECKPOINT",
      `Ledger checkpoint ${head.generation} does not start with its position ${head.seq}`,
    );
  }
  const accounts: LedgerCheckpoint["accounts"][number][] = [];
  const escrows: LedgerCheckpoint["escrows"][number][] = [];
  const operations: LedgerCheckpoint["operations"][number][] = [];
  for (const item of items.slice(1)) {
    if ("account" in item) accounts.push(item.account);
    else if ("escrow" in item) escrows.push(item.escrow);
    else if ("operation" in item) operations.push(item.operation);
  }
  return { ...first.meta, accounts, escrows, operations };
}

async function commitOrThrow(store: Store, batch: Parameters<Store["commit"]>[0]): Promise<void> {
  const result = await store.commit(batch);
  if (!result.ok) throw new StoreError("E_STORE_WRITE", "Ledger checkpoint write was refused");
}

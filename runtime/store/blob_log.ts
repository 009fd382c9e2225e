/**
 * Append-only logs of binary records over a {@linkcode Store}, chunked under
 * Deno KV's 64 KiB value cap, with crash-safe compaction.
 *
 * Layout under the namespace `ns`:
 *
 * ```
 * [ns, "names", name]                            = true       index of logs
 * [ns, "log", name, "head"]                      = { generation }
 * [ns, "log", name, "gen", g, seq, part]         = Uint8Array chunk (≤ 60 KiB)
 * [ns, "log", name, "gen", g, seq, "end"]        = number of parts
 * ```
 *
 * A record is visible only once its `end` marker is written, in the same
 * atomic commit as its last chunks, so a crash mid-append loses only the
 * record that was not yet acknowledged. Compaction writes the snapshot as a
 * new generation, then flips `head` in one atomic compare-and-set, then
 * deletes the old generation; a crash at any point leaves either the old
 * generation or the new one complete, and leftovers are swept at open.
 *
 * @module
 */

import { SwarmError } from "../errors.ts";
import type { Store, StoreEntry, StoreKey } from "./store.ts";

/** Largest chunk value written (Deno KV caps values at 64 KiB). */
export const BLOB_CHUNK_BYTES = 60 * 1024;
/** Chunks per atomic commit (Deno KV caps a commit's total size at 800 KiB). */
const COMMIT_CHUNKS_MAX = 8;
/** Deletes per atomic commit (Deno KV caps mutations per commit at 1,000). */
const COMMIT_DELETES_MAX = 500;
/** Bound of a list call; a log never holds this many keys between compactions. */
const LIST_LIMIT = 10_000_000;
/** Longest log name. */
const NAME_LENGTH_MAX = 256;

/** Raised for unusable names, torn records and concurrent writers. */
export class BlobLogError extends SwarmError {}

interface Head {
  readonly generation: number;
}

/** One append-only log of binary records. Single writer; calls must not overlap. */
export class BlobLog {
  readonly #store: Store;
  readonly #base: StoreKey;
  readonly #namesKey: StoreKey;
  #records: Uint8Array[];
  #generation: number;
  #headVersion: string | null;
  #nextSeq: number;

  private constructor(
    store: Store,
    base: StoreKey,
    namesKey: StoreKey,
    state: { records: Uint8Array[]; generation: number; headVersion: string | null },
  ) {
    this.#store = store;
    this.#base = base;
    this.#namesKey = namesKey;
    this.#records = state.records;
    this.#generation = state.generation;
    this.#headVersion = state.headVersion;
    this.#nextSeq = state.records.length;
  }

  /** Opens the log `name` under `namespace`, reading its records and sweeping leftovers. */
  static async open(store: Store, namespace: string, name: string): Promise<BlobLog> {
    checkName(name);
    const base: StoreKey = [namespace, "log", name];
    const head = await store.get<Head>([...base, "head"]);
    const generation = head?.value.generation ?? 0;
    const entries = await store.list<unknown>([...base, "gen"], { limit: LIST_LIMIT });
    const current = entries.filter((entry) => entry.key[base.length + 1] === generation);
    const { records, torn } = assemble(current, base.length + 2, name);
    const stale = entries.filter((entry) => entry.key[base.length + 1] !== generation);
    await deleteKeys(store, [...stale.map((entry) => entry.key), ...torn]);
    return new BlobLog(store, base, [namespace, "names", name], {
      records,
      generation,
      headVersion: head?.version ?? null,
    });
  }

  /** Records present at open plus those appended since (after the last compaction). */
  get records(): readonly Uint8Array[] {
    return this.#records;
  }

  /** Appends a record; resolves once it is durable. */
  async append(record: Uint8Array): Promise<void> {
    await this.#writeRecord(this.#generation, this.#nextSeq, record, true);
    this.#records.push(record);
    this.#nextSeq++;
  }

  /** Replaces every record by `snapshot` atomically; resolves once durable. */
  async compact(snapshot: Uint8Array): Promise<void> {
    const next = this.#generation + 1;
    await this.#writeRecord(next, 0, snapshot, false);
    const headKey = [...this.#base, "head"];
    const result = await this.#store.commit({
      checks: [{ key: headKey, version: this.#headVersion }],
      sets: [
        { key: headKey, value: { generation: next } satisfies Head },
        { key: this.#namesKey, value: true },
      ],
    });
    if (!result.ok) {
      throw new BlobLogError(
        "E_BLOB_LOG_CONFLICT",
        `Cannot compact log ${JSON.stringify(this.#base[2])}: another writer moved its head`,
      );
    }
    const old = await this.#store.list([...this.#base, "gen", this.#generation], {
      limit: LIST_LIMIT,
    });
    this.#generation = next;
    this.#headVersion = result.version;
    this.#records = [snapshot];
    this.#nextSeq = 1;
    await deleteKeys(this.#store, old.map((entry) => entry.key));
  }

  async #writeRecord(generation: number, seq: number, record: Uint8Array, index: boolean) {
    const prefix = [...this.#base, "gen", generation, seq];
    const parts = chunk(record);
    for (let start = 0; start < parts.length || start === 0; start += COMMIT_CHUNKS_MAX) {
      const slice = parts.slice(start, start + COMMIT_CHUNKS_MAX);
      const last = start + COMMIT_CHUNKS_MAX >= parts.length;
      const sets: { key: StoreKey; value: unknown }[] = slice.map((part, offset) => ({
        key: [...prefix, start + offset],
        value: part,
      }));
      if (last) {
        sets.push({ key: [...prefix, "end"], value: parts.length });
        if (index) sets.push({ key: this.#namesKey, value: true });
      }
      const result = await this.#store.commit({ sets });
      if (!result.ok) {
        throw new BlobLogError("E_BLOB_LOG_WRITE", `Cannot write record ${seq} of the log`);
      }
      if (last) break;
    }
  }
}

/** A family of logs under one namespace of a store. */
export class BlobLogs {
  readonly #store: Store;
  readonly #namespace: string;

  constructor(store: Store, namespace: string) {
    this.#store = store;
    this.#namespace = namespace;
  }

  /** Names of every log that has been written to. */
  async names(): Promise<string[]> {
    const entries = await this.#store.list([this.#namespace, "names"], { limit: LIST_LIMIT });
    return entries.map((entry) => String(entry.key[2]));
  }

  /** Opens a log (creating it on first append). */
  open(name: string): Promise<BlobLog> {
    return BlobLog.open(this.#store, this.#namespace, name);
  }
}

function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.length > NAME_LENGTH_MAX) {
    throw new BlobLogError(
      "E_BLOB_LOG_NAME",
      `Log name must be a string of 1 to ${NAME_LENGTH_MAX} characters, got ${
        JSON.stringify(name)?.slice(0, 60)
      }`,
    );
  }
}

function chunk(record: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < record.length; offset += BLOB_CHUNK_BYTES) {
    parts.push(record.slice(offset, offset + BLOB_CHUNK_BYTES));
  }
  return parts;
}

/** Joins chunks into records by seq; records without an end marker are torn writes. */
function assemble(
  entries: readonly StoreEntry<unknown>[],
  seqIndex: number,
  name: string,
): { records: Uint8Array[]; torn: StoreKey[] } {
  const bySeq = new Map<
    number,
    { parts: Map<number, Uint8Array>; end?: number; keys: StoreKey[] }
  >();
  for (const entry of entries) {
    const seq = entry.key[seqIndex] as number;
    let slot = bySeq.get(seq);
    if (slot === undefined) bySeq.set(seq, slot = { parts: new Map(), keys: [] });
    slot.keys.push(entry.key);
    const part = entry.key[seqIndex + 1];
    if (part === "end") slot.end = entry.value as number;
    else slot.parts.set(part as number, entry.value as Uint8Array);
  }
  const records: Uint8Array[] = [];
  const torn: StoreKey[] = [];
  const seqs = [...bySeq.keys()].sort((left, right) => left - right);
  for (const seq of seqs) {
    const slot = bySeq.get(seq)!;
    if (slot.end === undefined || seq !== records.length) {
      torn.push(...slot.keys);
      continue;
    }
    records.push(join(slot.parts, slot.end, name, seq));
  }
  return { records, torn };
}

function join(parts: Map<number, Uint8Array>, count: number, name: string, seq: number) {
  let length = 0;
  for (let index = 0; index < count; index++) {
    const part = parts.get(index);
    if (part === undefined) {
      throw new BlobLogError(
        "E_BLOB_LOG_CORRUPT",
        `Log ${JSON.stringify(name)} record ${seq} is missing chunk ${index} of ${count}`,
      );
    }
    length += part.length;
  }
  const record = new Uint8Array(length);
  let offset = 0;
  for (let index = 0; index < count; index++) {
    record.set(parts.get(index)!, offset);
    offset += parts.get(index)!.length;
  }
  return record;
}

async function deleteKeys(store: Store, keys: readonly StoreKey[]): Promise<void> {
  for (let start = 0; start < keys.length; start += COMMIT_DELETES_MAX) {
    await store.commit({ deletes: keys.slice(start, start + COMMIT_DELETES_MAX) });
  }
}

/**
 * The Automerge document of one thread: the op-log as a grow-only map from
 * op id to the op's canonical JSON.
 *
 * Layout: `{ v: 1, thread, ops: { "00": {…}, …, "3f": {…} } }`. Three
 * choices make it converge and stay fast:
 *
 * - **A shared genesis.** Every replica creates the root and the 64 bucket
 *   maps in one byte-identical change (fixed actor, time 0), so all replicas
 *   share the same objects. Two replicas creating `ops` on their own would
 *   make two maps, and Automerge's last-writer-wins on the root key would
 *   hide one of them.
 * - **Buckets.** Automerge's JS document copies a map on every change to
 *   it, so one flat map of n ops costs O(n) per append; 64 buckets keyed by
 *   a hash of the op id cut that by 64.
 * - **Ops as immutable strings.** A plain string becomes collaborative Text
 *   (a character sequence, ~6× the bytes); an op is an immutable fact, so it
 *   is stored as one scalar.
 *
 * Everything a peer sends (sync messages, saved documents) passes
 * {@linkcode checkChange} before it touches the document: only new keys in
 * the bucket maps, each holding a valid op whose id is its key.
 *
 * @module
 */

import * as Automerge from "@automerge/automerge";
import { PlanSyncInvalidError } from "./errors.ts";
import { decodePlanOp, encodePlanOp, type PlanOp, planOpId } from "./op.ts";

/** Number of bucket maps under `ops`. */
export const BUCKET_COUNT = 64;

/** Most queued (not yet visible) checked ops remembered; beyond it they are found by a rescan. */
const PENDING_OPS_MAX = 1_000_000;

/** Actor of the genesis change, the same on every replica. */
const GENESIS_ACTOR = "00000000000000000000000000000001";

/** Shape of a thread document. */
export interface PlanDocShape {
  v: number;
  thread: Automerge.ImmutableString;
  ops: Record<string, Record<string, Automerge.ImmutableString>>;
}

/** An Automerge document of a thread. */
export type PlanDoc = Automerge.Doc<PlanDocShape>;

/** Sync state with one peer about one thread (opaque). */
export type PlanSyncState = Automerge.SyncState;

/** The bucket of an op id: FNV-1a of the id, as two hex digits. */
export function bucketOf(opId: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < opId.length; index++) {
    hash = Math.imul(hash ^ opId.charCodeAt(index), 0x01000193) >>> 0;
  }
  return (hash % BUCKET_COUNT).toString(16).padStart(2, "0");
}

const BUCKET_KEYS = Array.from(
  { length: BUCKET_COUNT },
  (_, index) => index.toString(16).padStart(2, "0"),
);

function genesis(thread: string): PlanDoc {
  const empty = Automerge.init<PlanDocShape>({ actor: GENESIS_ACTOR });
  return Automerge.change(empty, { time: 0 }, (doc) => {
    doc.v = 1;
    doc.thread = new Automerge.ImmutableString(thread);
    doc.ops = {};
    for (const key of BUCKET_KEYS) doc.ops[key] = {};
  });
}

/** Validates Automerge actor ids: 2–64 hex digits, even length. */
export function isActorId(actorId: string): boolean {
  return /^(?:[0-9a-f]{2}){1,32}$/.test(actorId);
}

/** One thread's document plus what is needed to check foreign changes against it. */
export class ThreadDoc {
  readonly thread: string;
  #doc: PlanDoc;
  readonly #genesisHash: string;
  readonly #bucketByObject: Map<string, string>;
  /** Checked ops whose changes Automerge queued for missing dependencies. */
  readonly #pending = new Map<string, PlanOp>();

  private constructor(thread: string, doc: PlanDoc) {
    this.thread = thread;
    this.#doc = doc;
    this.#genesisHash = Automerge.getHeads(doc)[0];
    this.#bucketByObject = new Map(
      BUCKET_KEYS.map((key) => [Automerge.getObjectId(doc.ops[key])!, key]),
    );
  }

  /** A fresh document for `thread`, written by `actorId` from now on. */
  static create(thread: string, actorId: string): ThreadDoc {
    return new ThreadDoc(thread, Automerge.clone(genesis(thread), { actor: actorId }));
  }

  /** The document (read-only use). */
  get doc(): PlanDoc {
    return this.#doc;
  }

  /** Hash of the genesis change; identical on every replica of the thread. */
  get genesisHash(): string {
    return this.#genesisHash;
  }

  /** Current heads. */
  heads(): string[] {
    return Automerge.getHeads(this.#doc);
  }

  /** The canonical JSON of an op, if the document holds it. */
  read(opId: string): string | undefined {
    return this.#doc.ops[bucketOf(opId)][opId]?.val;
  }

  /** Every op id in the document (unordered). */
  opIds(): string[] {
    const ids: string[] = [];
    for (const key of BUCKET_KEYS) ids.push(...Object.keys(this.#doc.ops[key]));
    return ids;
  }

  /** Writes new ops in one Automerge change (the caller checked they are new and valid). */
  write(ops: readonly PlanOp[]): void {
    const byBucket = new Map<string, [string, string][]>();
    for (const op of ops) {
      const id = planOpId(op);
      const bucket = bucketOf(id);
      const entries = byBucket.get(bucket);
      if (entries === undefined) byBucket.set(bucket, [[id, encodePlanOp(op)]]);
      else entries.push([id, encodePlanOp(op)]);
    }
    this.#doc = Automerge.change(this.#doc, { time: 0 }, (doc) => {
      for (const [bucket, entries] of byBucket) {
        const map = doc.ops[bucket];
        for (const [id, text] of entries) map[id] = new Automerge.ImmutableString(text);
      }
    });
  }

  /**
   * Applies changes from a peer after checking every one of them; returns
   * the ops that became visible (including queued ones whose dependencies
   * arrived). Nothing is applied if any change is bad.
   */
  applyForeign(changes: readonly Uint8Array[]): PlanOp[] {
    const candidates = new Map<string, PlanOp>();
    for (const change of changes) this.checkChange(change, candidates);
    this.#doc = Automerge.applyChanges(this.#doc, [...changes])[0];
    return this.#newlyVisible(candidates);
  }

  /** Loads this replica's own saved bytes (snapshot or increment) without re-checking. */
  loadOwn(bytes: Uint8Array): void {
    this.#doc = Automerge.loadIncremental(this.#doc, bytes);
  }

  /** The whole document, compressed. */
  save(): Uint8Array {
    return Automerge.save(this.#doc);
  }

  /** Changes since `heads`, compressed; empty when there are none. */
  saveSince(heads: readonly string[]): Uint8Array {
    return Automerge.saveSince(this.#doc, [...heads]);
  }

  /** Every change of the document. */
  changes(): Uint8Array[] {
    return Automerge.getAllChanges(this.#doc);
  }

  /** The next sync message for a peer, or null when there is nothing to say. */
  generateSync(state: PlanSyncState): [PlanSyncState, Uint8Array | null] {
    return Automerge.generateSyncMessage(this.#doc, state);
  }

  /**
   * Applies a peer's sync message after decoding it and checking each
   * change it carries. Returns the new sync state and the ids of ops that
   * became visible. Throws {@linkcode PlanSyncInvalidError} and leaves the
   * document untouched when the message is bad.
   */
  receiveSync(state: PlanSyncState, message: Uint8Array): [PlanSyncState, PlanOp[]] {
    let decoded: ReturnType<typeof Automerge.decodeSyncMessage>;
    try {
      decoded = Automerge.decodeSyncMessage(message);
    } catch (error) {
      throw new PlanSyncInvalidError(
        `Cannot decode sync message for thread ${JSON.stringify(this.thread)}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    const candidates = new Map<string, PlanOp>();
    for (const change of decoded.changes) this.checkChange(change, candidates);
    let next: [PlanDoc, PlanSyncState, null];
    try {
      next = Automerge.receiveSyncMessage(this.#doc, state, message);
    } catch (error) {
      throw new PlanSyncInvalidError(
        `Cannot apply sync message for thread ${JSON.stringify(this.thread)}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    this.#doc = next[0];
    return [next[1], this.#newlyVisible(candidates)];
  }

  /**
   * Ops of checked changes that are now in the document and were not
   * before. Ops of changes Automerge queued (missing dependencies) wait in
   * `#pending` until a later apply makes them visible. This replaces patch
   * callbacks, which cost more than the apply itself.
   */
  #newlyVisible(candidates: Map<string, PlanOp>): PlanOp[] {
    const visible: PlanOp[] = [];
    for (const [id, op] of new Map([...this.#pending, ...candidates])) {
      if (this.read(id) !== undefined) {
        this.#pending.delete(id);
        visible.push(op);
      } else if (this.#pending.size < PENDING_OPS_MAX) this.#pending.set(id, op);
    }
    return visible;
  }

  /** True when the peer behind `state` is known to hold all our changes. */
  peerHasOurChanges(state: PlanSyncState): boolean {
    return Automerge.hasOurChanges(this.#doc, state);
  }

  /**
   * Checks one foreign chunk: a change (the shared genesis, or only new
   * keys in the bucket maps holding valid ops of this thread under their
   * own id), or a whole compressed document (the sync protocol sends one to
   * a peer that has nothing yet), every change of which must pass.
   */
  checkChange(bytes: Uint8Array, into: Map<string, PlanOp> = new Map()): void {
    for (const chunk of splitChunks(bytes, this.thread)) {
      if (chunk.type === CHUNK_DOCUMENT) {
        this.#checkDocumentChunk(chunk.bytes, into);
        continue;
      }
      let change: ReturnType<typeof Automerge.decodeChange>;
      try {
        change = Automerge.decodeChange(chunk.bytes);
      } catch (error) {
        throw new PlanSyncInvalidError(
          `Cannot decode change for thread ${JSON.stringify(this.thread)}: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
      if (change.hash === this.#genesisHash) continue;
      for (const op of change.ops) this.#checkChangeOp(op, change.hash, into);
    }
  }

  #checkDocumentChunk(bytes: Uint8Array, into: Map<string, PlanOp>): void {
    let changes: Uint8Array[];
    try {
      changes = Automerge.getAllChanges(Automerge.load(bytes, { actor: GENESIS_ACTOR }));
    } catch (error) {
      throw new PlanSyncInvalidError(
        `Cannot decode document for thread ${JSON.stringify(this.thread)}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    for (const change of changes) {
      const decoded = Automerge.decodeChange(change);
      if (decoded.hash === this.#genesisHash) continue;
      for (const op of decoded.ops) this.#checkChangeOp(op, decoded.hash, into);
    }
  }

  #checkChangeOp(
    op: Automerge.DecodedChange["ops"][number],
    hash: string,
    into: Map<string, PlanOp>,
  ): void {
    const where = `Change ${hash.slice(0, 12)} for thread ${JSON.stringify(this.thread)}`;
    const bucket = this.#bucketByObject.get(op.obj);
    if (op.action !== "set" || bucket === undefined || op.pred.length > 0) {
      throw new PlanSyncInvalidError(
        `${where} does more than add an op: ${op.action} on ${op.obj} (plan documents only grow)`,
      );
    }
    if (
      typeof op.key !== "string" || typeof op.value !== "string" ||
      (op.datatype !== undefined && op.datatype !== "str")
    ) {
      throw new PlanSyncInvalidError(`${where} writes a non-string op under ${String(op.key)}`);
    }
    let planOp: PlanOp;
    try {
      planOp = decodePlanOp(op.value);
    } catch (error) {
      throw new PlanSyncInvalidError(`${where} holds a bad op: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const id = planOpId(planOp);
    if (id !== op.key || bucketOf(id) !== bucket || planOp.thread !== this.thread) {
      throw new PlanSyncInvalidError(
        `${where} files op ${id} of thread ${
          JSON.stringify(planOp.thread)
        } under key ${op.key} in bucket ${bucket}`,
      );
    }
    if (this.read(id) === undefined) into.set(id, planOp);
  }
}

/** Automerge chunk types (binary format: magic, checksum, type, LEB128 length, body). */
const CHUNK_DOCUMENT = 0;
const CHUNK_MAGIC = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_HEADER_BYTES = 9;

/**
 * Splits bytes that may hold several concatenated Automerge chunks (the
 * sync protocol and `saveIncremental` both concatenate) into chunks.
 */
function splitChunks(bytes: Uint8Array, thread: string): { type: number; bytes: Uint8Array }[] {
  const chunks: { type: number; bytes: Uint8Array }[] = [];
  let offset = 0;
  const bad = (why: string) =>
    new PlanSyncInvalidError(
      `Cannot decode change for thread ${JSON.stringify(thread)}: ${why} at byte ${offset}`,
    );
  while (offset < bytes.length) {
    if (bytes.length - offset < CHUNK_HEADER_BYTES + 1) throw bad("truncated chunk header");
    if (CHUNK_MAGIC.some((byte, index) => bytes[offset + index] !== byte)) {
      throw bad("no chunk magic");
    }
    const type = bytes[offset + 8];
    let length = 0;
    let cursor = offset + CHUNK_HEADER_BYTES;
    for (let shift = 0;; shift += 7) {
      if (cursor >= bytes.length || shift > 28) throw bad("bad chunk length");
      const byte = bytes[cursor++];
      length += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    const end = cursor + length;
    if (end > bytes.length) throw bad("chunk longer than the data");
    chunks.push({ type, bytes: bytes.subarray(offset, end) });
    offset = end;
  }
  return chunks;
}

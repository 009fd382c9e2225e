/**
 * The plan store of one node: one Automerge document per thread (the
 * op-log), the derived {@linkcode TaskView} and {@linkcode GraphView} over
 * all threads, durable persistence through an injected {@linkcode PlanPersistence},
 * and the entry points peers use to merge and sync.
 *
 * Why a document per thread: a thread is the unit of the protocol (a NEED
 * and everything decided for it), so a peer syncs only the threads it takes
 * part in, a sync round's Bloom filter and change set stay the size of one
 * thread's history, compaction rewrites one thread at a time, and an export
 * is one document. Cross-thread LINKs are allowed; the views span threads.
 *
 * Local authors go through {@linkcode PlanStore.appendOps}, which enforces
 * the rules (known tasks, forward-only states, legal reopens, no cycles);
 * facts from peers and imports go through the order-independent folds of
 * the views, so every replica with the same ops has the same views.
 *
 * @module
 */

import * as Automerge from "@automerge/automerge";
import { AuthoringBatch, checkAuthoring } from "./authoring.ts";
import { PlanError, PlanOpConflictError, PlanSyncInvalidError, PlanThreadError } from "./errors.ts";
import {
  compareOps,
  decodePlanOp,
  encodePlanOp,
  parsePlanOp,
  PLAN_OP_LIMITS,
  type PlanOp,
  planOpId,
} from "./op.ts";
import type { PlanPersistence } from "./persistence.ts";
import { PlanViews, type PlanViewSnapshot } from "./plan_views.ts";
import type { TaskSnapshot } from "./task_view.ts";
import { isActorId, type PlanSyncState, ThreadDoc } from "./thread_doc.ts";
import { ThreadWriter, type WriterCounters } from "./thread_writer.ts";

/** Options of {@linkcode PlanStore.open}. */
export interface PlanStoreOptions {
  /** Automerge actor id of this replica: hex, fresh per process incarnation. */
  readonly actorId: string;
  /** Durable logs; none keeps the store in memory only. */
  readonly persistence?: PlanPersistence;
  /** Increments appended before the next write compacts a thread into a snapshot. Default 256. */
  readonly compactEvery?: number;
  /** Most threads this store will hold; more are refused with `E_PLAN_THREAD`. Default 10,000. */
  readonly threadsMax?: number;
}

/** The outcome of appending one op. */
export interface AppendResult {
  /** The op id. */
  readonly id: string;
  /** True when the store already held this exact op (nothing was written). */
  readonly duplicate: boolean;
}

/** Counters of what the store did. */
export interface PlanStoreStats {
  threads: number;
  ops: number;
  tasks: number;
  edges: number;
  rejectedLinks: number;
  graphRebuilds: number;
  compactions: number;
  appendsPersisted: number;
}

interface ThreadState {
  readonly doc: ThreadDoc;
  readonly writer: ThreadWriter;
}

/** Actor of throwaway documents used to read foreign bytes; never writes, keeps runs deterministic. */
const SCRATCH_ACTOR = "00000000000000000000000000000002";

/** Default compaction threshold. */
export const COMPACT_EVERY_DEFAULT = 256;
/** Default bound on threads. */
export const THREADS_MAX_DEFAULT = 10_000;

/** Validates a thread id before it names a document or a log. */
export function checkThreadId(thread: unknown): string {
  if (
    typeof thread !== "string" || thread.length === 0 ||
    thread.length > PLAN_OP_LIMITS.idLengthMax
  ) {
    throw new PlanThreadError(
      `Thread id must be a string of 1 to ${PLAN_OP_LIMITS.idLengthMax} characters, got ${
        JSON.stringify(thread)?.slice(0, 60)
      }`,
    );
  }
  return thread;
}

/** One node's replica of the plan. */
export class PlanStore {
  readonly #actorId: string;
  readonly #persistence: PlanPersistence | undefined;
  readonly #compactEvery: number;
  readonly #threadsMax: number;
  readonly #threads = new Map<string, ThreadState>();
  readonly #views = new PlanViews();
  #ops = 0;
  #lamport = 0;
  readonly #counters: WriterCounters = { compactions: 0, appendsPersisted: 0 };

  private constructor(options: PlanStoreOptions) {
    if (!isActorId(options.actorId)) {
      throw new PlanError(
        "E_PLAN_ACTOR_ID",
        `Plan store actor id must be 2-64 lowercase hex digits, got ${
          JSON.stringify(options.actorId)
        }`,
      );
    }
    this.#actorId = options.actorId;
    this.#persistence = options.persistence;
    this.#compactEvery = positive(options.compactEvery ?? COMPACT_EVERY_DEFAULT, "compactEvery");
    this.#threadsMax = positive(options.threadsMax ?? THREADS_MAX_DEFAULT, "threadsMax");
  }

  /**
   * Opens a store, recovering every thread from `persistence` (every op
   * whose append was acknowledged is there).
   *
   * @example
   * ```ts
   * const store = await PlanStore.open({ actorId: "a1b2c3d4", persistence });
   * await store.appendOp({ kind: "ADD_TASK", thread: "t", actor: "did:key:z…", lamport: 1, task: "x", title: "X" });
   * ```
   */
  static async open(options: PlanStoreOptions): Promise<PlanStore> {
    const store = new PlanStore(options);
    const persistence = options.persistence;
    if (persistence === undefined) return store;
    const recovered: PlanOp[] = [];
    for (const thread of (await persistence.names()).sort()) {
      const state = await store.#openThread(checkThreadId(thread));
      state.writer.recover();
      for (const id of state.doc.opIds()) recovered.push(store.#decodeOwn(state.doc, id));
    }
    // Sorted replay: the greedy link rule then never needs a rebuild.
    for (const op of recovered.sort(compareOps)) store.#applyToViews(op);
    return store;
  }

  /** The task graph. */
  get graph(): PlanViews["graph"] {
    return this.#views.graph;
  }

  /** The task index. */
  get tasks(): PlanViews["tasks"] {
    return this.#views.tasks;
  }

  /** The highest Lamport time of any op held; a local author should tick past it. */
  get lamport(): number {
    return this.#lamport;
  }

  /** Thread ids held, sorted. */
  threads(): string[] {
    return [...this.#threads.keys()].sort();
  }

  /** True when the store holds a document for `thread`. */
  hasThread(thread: string): boolean {
    return this.#threads.has(thread);
  }

  /** Counters. */
  stats(): PlanStoreStats {
    return {
      threads: this.#threads.size,
      ops: this.#ops,
      tasks: this.tasks.count,
      edges: this.graph.edgeCount,
      rejectedLinks: this.graph.rejectedLinks().length,
      graphRebuilds: this.graph.rebuilds,
      ...this.#counters,
    };
  }

  /** One task, or undefined. */
  getTask(task: string): TaskSnapshot | undefined {
    return this.tasks.get(task);
  }

  /** Every op of a thread in replay order (lamport, actor, index). */
  getOpsForThread(thread: string): PlanOp[] {
    const state = this.#threads.get(thread);
    if (state === undefined) return [];
    return state.doc.opIds().map((id) => this.#decodeOwn(state.doc, id)).sort(compareOps);
  }

  /** Both views as comparable plain data. */
  snapshot(): PlanViewSnapshot {
    return this.#views.snapshot();
  }

  /** Heads of a thread's document (empty when unknown). */
  heads(thread: string): string[] {
    return this.#threads.get(thread)?.doc.heads() ?? [];
  }

  /** Appends one op authored here; see {@linkcode PlanStore.appendOps}. */
  async appendOp(input: unknown): Promise<AppendResult> {
    return (await this.appendOps([input]))[0];
  }

  /**
   * Appends ops authored here (say, a PROPOSE patch) after checking them
   * against the plan as this replica knows it; all or nothing. Resolves
   * once the ops are durable: an acknowledged op survives a crash.
   */
  async appendOps(inputs: readonly unknown[]): Promise<AppendResult[]> {
    const ops = inputs.map(parsePlanOp);
    const results: AppendResult[] = [];
    const fresh: PlanOp[] = [];
    const seen = new Map<string, string>();
    const batch = new AuthoringBatch();
    for (const op of ops) {
      const duplicate = this.#isDuplicate(op, seen);
      results.push({ id: planOpId(op), duplicate });
      if (duplicate) continue;
      checkAuthoring(op, this.#views, batch);
      batch.add(op);
      fresh.push(op);
    }
    await this.#writeAndPersist(fresh);
    return results;
  }

  /**
   * Adds ops as facts, without authoring rules (an import replaying a log,
   * or ops recovered from elsewhere): they go through the same
   * order-independent folds as ops from peers. Resolves once durable.
   */
  async importOps(inputs: readonly unknown[]): Promise<AppendResult[]> {
    const ops = inputs.map(parsePlanOp);
    const fresh: PlanOp[] = [];
    const seen = new Map<string, string>();
    const results = ops.map((op) => {
      const duplicate = this.#isDuplicate(op, seen);
      if (!duplicate) fresh.push(op);
      return { id: planOpId(op), duplicate };
    });
    await this.#writeAndPersist(fresh);
    return results;
  }

  /** The whole document of a thread, compressed (Automerge `save`). */
  save(thread: string): Uint8Array {
    return this.#thread(thread).doc.save();
  }

  /** The changes of a thread since `heads`, compressed (Automerge `saveSince`). */
  saveIncremental(thread: string, heads: readonly string[] = []): Uint8Array {
    return this.#thread(thread).doc.saveSince(heads);
  }

  /**
   * Loads a saved document or increment of `thread` (from {@linkcode save}
   * or {@linkcode saveIncremental}, possibly another replica's), checking
   * every change; returns the ops that became visible.
   */
  async load(thread: string, bytes: Uint8Array): Promise<PlanOp[]> {
    const state = await this.#ensureThread(checkThreadId(thread));
    state.doc.checkChange(bytes);
    let changes: Uint8Array[];
    try {
      const scratch = Automerge.loadIncremental(
        Automerge.clone(state.doc.doc, { actor: SCRATCH_ACTOR }),
        bytes,
      );
      changes = Automerge.getChanges(state.doc.doc, scratch);
    } catch (error) {
      throw new PlanSyncInvalidError(
        `Cannot load saved plan of thread ${JSON.stringify(thread)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return await this.#applyForeign(state, changes);
  }

  /** Merges every thread (or the given ones) of another replica into this one. */
  async mergeWithPeer(
    peer: PlanStore,
    threads: readonly string[] = peer.threads(),
  ): Promise<PlanOp[]> {
    const added: PlanOp[] = [];
    for (const thread of threads) {
      const source = peer.#threads.get(thread);
      if (source === undefined) continue;
      const state = await this.#ensureThread(thread);
      added.push(...await this.#applyForeign(state, source.doc.changes()));
    }
    return added;
  }

  /** The next sync message for the peer behind `state`, or null when in sync. */
  generateSyncMessage(
    thread: string,
    state: PlanSyncState,
  ): [PlanSyncState, Uint8Array | null] {
    return this.#thread(thread).doc.generateSync(state);
  }

  /**
   * Applies a sync message from a peer (creating the thread if new);
   * returns the new sync state and the ops that became visible. A bad
   * message throws a typed error and changes nothing.
   */
  async receiveSyncMessage(
    thread: string,
    state: PlanSyncState,
    message: Uint8Array,
  ): Promise<[PlanSyncState, PlanOp[]]> {
    const threadState = await this.#ensureThread(checkThreadId(thread));
    const [next, ops] = threadState.doc.receiveSync(state, message);
    const added = this.#foldNew(ops);
    if (added.length > 0) await threadState.writer.persist();
    return [next, added];
  }

  /** True when the peer behind `state` holds every change of `thread` we have. */
  peerHasOurChanges(thread: string, state: PlanSyncState): boolean {
    return this.#thread(thread).doc.peerHasOurChanges(state);
  }

  /** Waits until everything written so far is durable. */
  async flush(): Promise<void> {
    for (const state of this.#threads.values()) await state.writer.idle();
  }

  /** Makes sure a thread document exists (and is persisted once it has ops). */
  async ensureThread(thread: string): Promise<void> {
    await this.#ensureThread(checkThreadId(thread));
  }

  #thread(thread: string): ThreadState {
    const state = this.#threads.get(thread);
    if (state === undefined) {
      throw new PlanThreadError(`Unknown thread ${JSON.stringify(thread)}`);
    }
    return state;
  }

  async #ensureThread(thread: string): Promise<ThreadState> {
    return this.#threads.get(thread) ?? await this.#openThread(thread);
  }

  async #openThread(thread: string): Promise<ThreadState> {
    if (this.#threads.size >= this.#threadsMax) {
      throw new PlanThreadError(
        `Cannot open thread ${
          JSON.stringify(thread)
        }: the store holds its maximum of ${this.#threadsMax} threads`,
      );
    }
    const log = await this.#persistence?.open(thread);
    const existing = this.#threads.get(thread);
    if (existing !== undefined) return existing;
    const doc = ThreadDoc.create(thread, this.#actorId);
    const writer = new ThreadWriter(doc, log, {
      compactEvery: this.#compactEvery,
      counters: this.#counters,
    });
    const state: ThreadState = { doc, writer };
    this.#threads.set(thread, state);
    return state;
  }

  #decodeOwn(doc: ThreadDoc, id: string): PlanOp {
    return decodePlanOp(doc.read(id)!);
  }

  #isDuplicate(op: PlanOp, pending: Map<string, string>): boolean {
    const id = planOpId(op);
    const encoded = encodePlanOp(op);
    const key = `${op.thread}\u0000${id}`;
    const stored = this.#threads.get(op.thread)?.doc.read(id) ?? pending.get(key);
    if (stored === undefined) {
      pending.set(key, encoded);
      return false;
    }
    if (stored !== encoded) throw new PlanOpConflictError(id);
    return true;
  }

  async #writeAndPersist(ops: readonly PlanOp[]): Promise<void> {
    const byThread = new Map<string, PlanOp[]>();
    for (const op of ops) {
      const list = byThread.get(op.thread);
      if (list === undefined) byThread.set(op.thread, [op]);
      else list.push(op);
    }
    const touched: ThreadState[] = [];
    for (const [thread, list] of byThread) {
      const state = await this.#ensureThread(checkThreadId(thread));
      state.doc.write(list);
      for (const op of list) this.#applyToViews(op);
      touched.push(state);
    }
    await Promise.all(touched.map((state) => state.writer.persist()));
  }

  async #applyForeign(state: ThreadState, changes: readonly Uint8Array[]): Promise<PlanOp[]> {
    const added = this.#foldNew(state.doc.applyForeign(changes));
    if (added.length > 0) await state.writer.persist();
    return added;
  }

  /** Folds ops that just became visible, in op order (keeps link rebuilds rare). */
  #foldNew(visible: readonly PlanOp[]): PlanOp[] {
    const ops = [...visible].sort(compareOps);
    for (const op of ops) this.#applyToViews(op);
    return ops;
  }

  #applyToViews(op: PlanOp): void {
    this.#views.apply(op);
    this.#ops++;
    if (op.lamport > this.#lamport) this.#lamport = op.lamport;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new PlanError(
      "E_PLAN_OPTIONS",
      `Plan store ${name} must be a positive integer, got ${value}`,
    );
  }
  return value;
}

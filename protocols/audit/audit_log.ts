/**
 * The node's audit log: every envelope it publishes or delivers, appended
 * to a per-thread, hash-chained, node-signed log (see `record.ts`), so a
 * thread can be replayed and checked later (`deno task replay`).
 *
 * Storage is any {@linkcode FrameLogDirectory}: files in the node's data
 * directory in production, memory in simulation. Appends to one thread are
 * applied in call order (each record chains to the previous one); threads
 * are independent. Bounds: at most `pendingMax` appends wait per thread
 * (beyond it `append` fails with `E_AUDIT_BACKLOG`), and at most
 * `openThreadsMax` logs stay open (the least recently used idle one is
 * closed; a busy log is never closed, so the bound is soft under load).
 * Retention ({@linkcode SignedAuditLog.prune}) removes thread logs nobody
 * has written for a while, never an open one.
 *
 * @module
 */

import { sha256 } from "multiformats/hashes/sha2";
import type { FrameLog, FrameLogDirectory, FrameScanStop } from "../../runtime/store/frame_log.ts";
import type { SignedEnvelope } from "../envelope/types.ts";
import { envelopeId, toHex } from "../envelope/mod.ts";
import type { Identity, SignatureVerifier } from "../identity/identity.ts";
import { AUDIT_ERROR_CODES, AuditError } from "./errors.ts";
import {
  AUDIT_GENESIS_PREV,
  AUDIT_RECORD_VERSION,
  type AuditDirection,
  type AuditRecord,
  decodeAuditRecord,
  signAuditRecord,
} from "./record.ts";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";
import type { Prunable, PruneResult } from "../../runtime/store/stale_files.ts";
import { Removals } from "../../runtime/store/removals.ts";

/** What ingress and egress paths call: one method per logged envelope. */
export interface AuditLog {
  /** Appends `envelope` to its thread's log; resolves once the record is written. */
  append(envelope: SignedEnvelope, direction: AuditDirection): Promise<AuditRecord>;
  /**
   * Appends `envelope` unless its thread's log already holds it in this
   * direction (a node restarted and had it delivered again); resolves with
   * the new record, or undefined when there was nothing to add.
   */
  appendOnce?(
    envelope: SignedEnvelope,
    direction: AuditDirection,
  ): Promise<AuditRecord | undefined>;
  /**
   * The envelopes logged for `thread` (each once, in log order), after the
   * appends already asked for: what a restarted node rebuilds a thread from.
   * Like an append, it opens (creating) the thread's log.
   */
  envelopes?(thread: string): Promise<Uint8Array[]>;
  /** Makes every record written so far durable. */
  sync(): Promise<void>;
  /** Waits for pending appends and closes every log. */
  close(): Promise<void>;
}

/** Default bound of appends waiting on one thread. */
export const AUDIT_PENDING_MAX_DEFAULT = 10_000;
/** Default bound of open thread logs. */
export const AUDIT_OPEN_THREADS_MAX_DEFAULT = 128;
/**
 * Default bound of closed thread logs whose position (sequence, last hash,
 * ids logged, size) is remembered, so reopening one does not read it again.
 */
export const AUDIT_RESTING_THREADS_MAX_DEFAULT = 4_096;

/** Options of {@linkcode SignedAuditLog}. */
export interface SignedAuditLogOptions {
  readonly pendingMax?: number;
  readonly openThreadsMax?: number;
  readonly restingThreadsMax?: number;
  /** Verifies the last record of a log reopened after a restart. */
  readonly verifier?: SignatureVerifier;
  /** Told when opening a thread's log truncated a torn tail (count it, log it). */
  readonly onRecovered?: (thread: string, stop: FrameScanStop) => void;
}

/** Counters of a {@linkcode SignedAuditLog}. */
export interface AuditLogStats {
  readonly appended: number;
  readonly recoveredTails: number;
  readonly openThreads: number;
  /** Logs reopened from their remembered position, without reading them. */
  readonly warmReopens: number;
}

interface ThreadLog {
  readonly thread: string;
  readonly log: FrameLog;
  seq: number;
  prev: Uint8Array;
  tail: Promise<unknown>;
  pending: number;
  closed: boolean;
  /** `dir:envelope id` of every record in the log, built when it opens. */
  readonly logged: Set<string>;
}

/** Where a cleanly closed thread log stands, to reopen it without reading it. */
interface RestingLog {
  readonly seq: number;
  readonly prev: Uint8Array;
  readonly logged: Set<string>;
  readonly size: number;
}

const SAFE_THREAD = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

/**
 * The log name of `thread`: the thread id itself when it is a safe file
 * name, otherwise `~` and the hex sha2-256 of it (`~` never starts a literal
 * name, so the two forms cannot collide).
 */
export function auditLogName(thread: string): string {
  if (SAFE_THREAD.test(thread)) return thread;
  const digest = (sha256.digest(new TextEncoder().encode(thread)) as { digest: Uint8Array }).digest;
  return `~${toHex(digest).slice(0, 48)}`;
}

/** The audit log of one node over a frame log directory. */
export class SignedAuditLog implements AuditLog, Prunable {
  readonly #directory: FrameLogDirectory;
  readonly #identity: Identity;
  readonly #options: SignedAuditLogOptions;
  readonly #threads = new Map<string, Promise<ThreadLog>>();
  /** Log names of `#threads`: retention never removes these. */
  readonly #heldNames = new Set<string>();
  /** Retention's removals by log name: opening a log waits for its removal. */
  readonly #removals = new Removals();
  /** The logs of `#threads` that have opened, by their promise: read without awaiting. */
  readonly #opened = new WeakMap<Promise<ThreadLog>, ThreadLog>();
  #closingIdle = false;
  readonly #resting = new Map<string, RestingLog>();
  readonly #restingOldest = new EvictionCursor(this.#resting);
  #appended = 0;
  #warmReopens = 0;
  #recoveredTails = 0;
  #closed = false;

  /**
   * @example
   * ```ts
   * const audit = new SignedAuditLog(await FileFrameLogDirectory.open(`${dataDir}/audit`), identity);
   * await audit.append(envelope, "in");
   * ```
   */
  constructor(directory: FrameLogDirectory, identity: Identity, options?: SignedAuditLogOptions) {
    this.#directory = directory;
    this.#identity = identity;
    this.#options = options ?? {};
  }

  async append(envelope: SignedEnvelope, direction: AuditDirection): Promise<AuditRecord> {
    return await this.#append(envelope, direction, false) as AuditRecord;
  }

  async appendOnce(
    envelope: SignedEnvelope,
    direction: AuditDirection,
  ): Promise<AuditRecord | undefined> {
    return await this.#append(envelope, direction, true);
  }

  async #append(
    envelope: SignedEnvelope,
    direction: AuditDirection,
    once: boolean,
  ): Promise<AuditRecord | undefined> {
    if (this.#closed) throw new AuditError(AUDIT_ERROR_CODES.corrupt, "Audit log is closed");
    let state = await this.#thread(envelope.thread);
    // An idle log may have been closed while this call waited for it.
    while (state.closed) state = await this.#thread(envelope.thread);
    const pendingMax = this.#options.pendingMax ?? AUDIT_PENDING_MAX_DEFAULT;
    if (state.pending >= pendingMax) {
      throw new AuditError(
        AUDIT_ERROR_CODES.backlog,
        `Cannot audit envelope ${envelope.id}: ${state.pending} appends already wait on thread ${envelope.thread}`,
      );
    }
    state.pending++;
    const run = state.tail.then(() =>
      once && state.logged.has(`${direction}:${envelope.id}`)
        ? undefined
        : this.#write(state, envelope, direction)
    );
    state.tail = run.catch(() => {});
    try {
      return await run;
    } finally {
      state.pending--;
      // A burst can leave more logs open than the bound: an idle one is closed now.
      if (state.pending === 0) void this.#closeIdle();
    }
  }

  async envelopes(thread: string): Promise<Uint8Array[]> {
    if (this.#closed) throw new AuditError(AUDIT_ERROR_CODES.corrupt, "Audit log is closed");
    let state = await this.#thread(thread);
    while (state.closed) state = await this.#thread(thread);
    // Read in turn with the appends, so no frame is half-written while the log is read.
    const read = state.tail.then(async () => {
      const opened = await this.#directory.open(auditLogName(thread));
      await opened.log.close();
      return opened.frames;
    });
    state.tail = read.catch(() => {});
    const seen = new Set<string>();
    const envelopes: Uint8Array[] = [];
    for (const frame of await read) {
      let bytes;
      try {
        bytes = decodeAuditRecord(frame).env;
      } catch {
        continue; // a damaged record: replay reports it; the envelopes around it still count
      }
      const id = envelopeId(bytes);
      if (seen.has(id)) continue;
      seen.add(id);
      envelopes.push(bytes);
    }
    return envelopes;
  }

  async sync(): Promise<void> {
    for (const state of await Promise.all(this.#threads.values())) {
      await state.tail;
      await state.log.sync();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#resting.clear();
    const states = await Promise.allSettled(this.#threads.values());
    this.#threads.clear();
    this.#heldNames.clear();
    for (const result of states) {
      if (result.status !== "fulfilled") continue;
      await result.value.tail;
      result.value.closed = true;
      await result.value.log.close();
    }
  }

  /**
   * Retention: looks at up to `budget` more thread logs (a walk that resumes
   * where the last call stopped) and removes those last written before
   * `beforeMs`, except the logs open now. A thread that speaks again later
   * starts a new log. Removes nothing where the directory keeps no write
   * times (memory).
   */
  async prune(beforeMs: number, budget: number): Promise<PruneResult> {
    const directory = this.#directory;
    if (this.#closed || directory.staleNames === undefined || directory.remove === undefined) {
      return { examined: 0, removed: 0, passDone: true };
    }
    const { staleNames, remove } = directory;
    // An append makes its log held until it is dropped, and dropping it touches it: a log
    // written while the step runs is never removed, whatever the walk saw of it.
    return await this.#removals.step(
      () => staleNames.call(directory, beforeMs, budget),
      (name) => this.#closed || this.#heldNames.has(name),
      (name) => remove.call(directory, name),
    );
  }

  /** Counters for metrics. */
  get stats(): AuditLogStats {
    return {
      appended: this.#appended,
      recoveredTails: this.#recoveredTails,
      openThreads: this.#threads.size,
      warmReopens: this.#warmReopens,
    };
  }

  async #write(
    state: ThreadLog,
    envelope: SignedEnvelope,
    dir: AuditDirection,
  ): Promise<AuditRecord> {
    const record = await signAuditRecord({
      v: AUDIT_RECORD_VERSION,
      seq: state.seq,
      thread: state.thread,
      dir,
      env: envelope.bytes,
      prev: state.prev,
      node: this.#identity.did,
    }, this.#identity);
    try {
      await state.log.append([record.bytes]);
    } catch (error) {
      // The file may hold part of this frame: forget the handle so the next
      // append reopens the log, which truncates the torn tail.
      if (this.#threads.get(state.thread) !== undefined) this.#drop(state.thread);
      state.closed = true;
      await state.log.close().catch(() => {});
      throw error;
    }
    state.seq++;
    state.prev = record.hash;
    state.logged.add(`${dir}:${envelope.id}`);
    this.#appended++;
    return record;
  }

  #thread(thread: string): Promise<ThreadLog> {
    const existing = this.#threads.get(thread);
    if (existing !== undefined) {
      this.#threads.delete(thread);
      this.#threads.set(thread, existing);
      return existing;
    }
    const opening = this.#open(thread);
    this.#threads.set(thread, opening);
    this.#heldNames.add(auditLogName(thread));
    opening.then(
      (state) => this.#opened.set(opening, state),
      () => this.#drop(thread),
    );
    void this.#closeIdle();
    return opening;
  }

  /** Forgets an open log; a retention step under way leaves it (it may have written it). */
  #drop(thread: string): void {
    const name = auditLogName(thread);
    this.#threads.delete(thread);
    this.#heldNames.delete(name);
    this.#removals.touch(name);
  }

  async #open(thread: string): Promise<ThreadLog> {
    // Retention may be removing this log (it was idle for long): open it after that.
    await this.#removals.of(auditLogName(thread));
    const resting = this.#resting.get(thread);
    if (resting !== undefined) {
      this.#resting.delete(thread);
      // Unchanged since this log closed it: carry on from where it stood.
      const log = await this.#directory.reopen(auditLogName(thread), resting.size);
      if (log !== undefined) {
        this.#warmReopens++;
        const { seq, prev, logged } = resting;
        return {
          thread,
          log,
          seq,
          prev,
          logged,
          tail: Promise.resolve(),
          pending: 0,
          closed: false,
        };
      }
    }
    const opened = await this.#directory.open(auditLogName(thread));
    if (opened.recovered !== undefined) {
      this.#recoveredTails++;
      this.#options.onRecovered?.(thread, opened.recovered);
    }
    const state: ThreadLog = {
      thread,
      log: opened.log,
      seq: 0,
      prev: AUDIT_GENESIS_PREV,
      tail: Promise.resolve(),
      pending: 0,
      closed: false,
      logged: loggedIds(opened.frames),
    };
    const last = opened.frames.at(-1);
    if (last !== undefined) {
      try {
        const record = await this.#checkTail(thread, last, opened.frames.length);
        state.seq = record.seq + 1;
        state.prev = record.hash;
      } catch (error) {
        await opened.log.close();
        throw error;
      }
    }
    return state;
  }

  /** The last record of a reopened log must be ours, of this thread, in place and signed. */
  async #checkTail(thread: string, bytes: Uint8Array, count: number): Promise<AuditRecord> {
    const record = decodeAuditRecord(bytes);
    const problem = record.node !== this.#identity.did
      ? `it was written by ${record.node}, not ${this.#identity.did}`
      : record.thread !== thread
      ? `it belongs to thread ${record.thread}`
      : record.seq !== count - 1
      ? `its seq is ${record.seq} but it is record ${count - 1}`
      : undefined;
    if (problem !== undefined) {
      throw new AuditError(
        AUDIT_ERROR_CODES.corrupt,
        `Cannot append to the audit log of thread ${thread}: its last record is wrong (${problem})`,
      );
    }
    const verifier = this.#options.verifier;
    if (
      verifier !== undefined &&
      !(await verifier.verify(record.node, record.sig, record.signingBytes))
    ) {
      throw new AuditError(
        AUDIT_ERROR_CODES.signature,
        `Cannot append to the audit log of thread ${thread}: its last record's signature does not verify`,
      );
    }
    return record;
  }

  /**
   * Closes the least recently used idle logs while more than `openThreadsMax`
   * are open. One walk at a time: a walk goes on through logs opened while
   * it runs, so a second one would only visit the same busy logs again (with
   * thousands of threads busy, walks started at every open cost a tenth of
   * the audit log's time). Logs still opening or with appends waiting stay.
   */
  async #closeIdle(): Promise<void> {
    const limit = this.#options.openThreadsMax ?? AUDIT_OPEN_THREADS_MAX_DEFAULT;
    if (this.#closingIdle || this.#threads.size <= limit) return;
    this.#closingIdle = true;
    try {
      for (const [thread, opening] of this.#threads) {
        if (this.#threads.size <= limit) return;
        const state = this.#opened.get(opening);
        if (state === undefined || state.pending > 0) continue;
        this.#drop(thread);
        state.closed = true;
        await state.log.close();
        this.#rest(state);
      }
    } finally {
      this.#closingIdle = false;
    }
  }

  /** Remembers where a cleanly closed log stands (bounded, oldest first out). */
  #rest(state: ThreadLog): void {
    const limit = this.#options.restingThreadsMax ?? AUDIT_RESTING_THREADS_MAX_DEFAULT;
    this.#resting.delete(state.thread);
    if (this.#resting.size >= limit) {
      this.#restingOldest.evict();
    }
    const { seq, prev, logged } = state;
    this.#resting.set(state.thread, { seq, prev, logged, size: state.log.size });
  }
}

/** `dir:envelope id` of the records in `frames`; frames that do not decode are left to replay. */
function loggedIds(frames: readonly Uint8Array[]): Set<string> {
  const logged = new Set<string>();
  for (const frame of frames) {
    try {
      const record = decodeAuditRecord(frame);
      logged.add(`${record.dir}:${envelopeId(record.env)}`);
    } catch {
      // A damaged record: replay reports it; it cannot match a new envelope anyway.
    }
  }
  return logged;
}

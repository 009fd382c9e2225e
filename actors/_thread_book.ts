/**
 * The node's book of threads: the lifecycle state of every NEED it knows,
 * the view the reducer runs under (epoch, bootstrap, committees, fences),
 * messages parked because they came too early, and the archive of accepted
 * envelopes peers may ask for; with an economy, every message also passes
 * the economy's checks and moves its ledger. No actor context: the core
 * feeds it messages and the time, and acts on what it returns.
 *
 * @module
 */

import { bucketOf } from "../runtime/store/decide_log.ts";
import { committeeFor } from "../protocols/committee.ts";
import type { Economy } from "../protocols/economics/mod.ts";
import { isParkable, ProtocolError } from "../protocols/lifecycle/errors.ts";
import type {
  LeaseDrop,
  LifecycleMessage,
  LifecycleVerb,
} from "../protocols/lifecycle/payloads.ts";
import { dropLease } from "../protocols/lifecycle/lease_drop.ts";
import { expireIfDue, reduce, type ReduceView } from "../protocols/lifecycle/reducer.ts";
import type { ProtocolMutations } from "../protocols/lifecycle/mutations.ts";
import { type Effect, resultCommitteeOf, type ThreadState } from "../protocols/lifecycle/state.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { type Parked, ParkingLot } from "./_parking_lot.ts";
import { ThreadArchive } from "./_thread_archive.ts";
import { EvictionCursor } from "../runtime/eviction_cursor.ts";

/** What happened to one message. */
export type Outcome =
  | {
    readonly status: "accepted";
    readonly message: LifecycleMessage;
    readonly thread: ThreadState;
    readonly effects: readonly Effect[];
  }
  | {
    readonly status: "parked";
    readonly message: LifecycleMessage;
    readonly error: ProtocolError;
    readonly dropped: readonly Parked[];
  }
  | { readonly status: "rejected"; readonly message: LifecycleMessage; readonly code: string };

/** Settings of a thread book. */
export interface ThreadBookConfig {
  readonly params: SwarmParams;
  readonly verifiers: readonly string[];
  readonly bootstrap: boolean;
  readonly parkingCapacity: number;
  readonly parkedTtlMs: number;
  readonly finishedRetentionMs: number;
  /** The node's economy, when it runs one (ledger, stamping, funding checks). */
  readonly economy?: Economy;
  /** `cp` (default): a NEED's decision is final; `ap`: a higher decision supersedes a lower one. */
  readonly decideMode?: "cp" | "ap";
  /** Deliberately broken protocol rules, for mutation tests only. */
  readonly mutations?: ProtocolMutations;
}

/**
 * Ids of settled envelopes remembered (accepted, or refused for good), so
 * sync replies that repeat them can be skipped before verifying.
 */
const SETTLED_IDS_MAX = 65_536;
/** Finished threads remembered after they are forgotten (their ids only), oldest dropped first. */
const FORGOTTEN_THREADS_MAX = 65_536;
/**
 * Refusals that can never turn into acceptance: a message after its window
 * closed (a task FINAL, a commit invalidated, a NEED decided). Sync replies
 * from nodes that accepted such a message in time would otherwise bring it
 * back, to be verified and refused again, on every repair of its thread.
 */
const FINAL_REFUSALS: ReadonlySet<string> = new Set(["E_OUT_OF_WINDOW"]);

/**
 * Whether a message refused as late may still be taken when a peer replays
 * it: a live PROPOSE this node took after its own bid window (it was busy)
 * may be the proposal the swarm decided, and a replay is judged by when it
 * was made. Late votes and results never count again, so they stay settled.
 */
function mayStillFit(message: LifecycleMessage): boolean {
  return message.kind === "PROPOSE" && message.replayedMadeAtMs === undefined;
}

/** A window that never opens. */
const CLOSED = { opensMs: 0, closesMs: 0 } as const;
/** The end of time, as the policy counts it (2^48 − 1). */
const WINDOW_END = 2 ** 48 - 1;

/** Most committees cached; the cache is cleared when full. */
const COMMITTEE_CACHE_MAX = 100_000;

/** Thread states, parking and archive of one node. */
export class ThreadBook {
  readonly #config: ThreadBookConfig;
  readonly #threads = new Map<string, ThreadState>();
  readonly #finishedAtMs = new Map<string, number>();
  readonly #highestFence = new Map<number, number>();
  readonly #committees = new Map<string, ReadonlySet<string>>();
  readonly #verifiers: ReadonlySet<string>;
  readonly #parking: ParkingLot;
  /** When each open thread last accepted a message, oldest first. */
  readonly #progressAtMs = new Map<string, number>();
  readonly #archive = new ThreadArchive();
  /** Per thread: the one sender of every envelope accepted on it, or null once a second spoke. */
  readonly #soleSender = new Map<string, string | null>();
  /** Ids of settled envelopes (insertion order: oldest first), bounded. */
  readonly #settledIds = new Set<string>();
  readonly #settledIdsOldest = new EvictionCursor(this.#settledIds);
  /**
   * Finished threads forgotten after the retention (their audit logs still
   * hold them), by id, with the time their NEED ends everywhere: its
   * deadline plus the expiry grace.
   */
  readonly #forgotten = new Map<string, number>();
  readonly #forgottenOldest = new EvictionCursor(this.#forgotten);
  #bootstrap: boolean;
  #archiveOverflows = 0;
  #version = 0;
  epoch = 0;

  constructor(config: ThreadBookConfig) {
    this.#config = config;
    this.#verifiers = new Set(config.verifiers);
    this.#bootstrap = config.bootstrap;
    this.#parking = new ParkingLot(config.parkingCapacity);
  }

  /** Whether the swarm is in bootstrap mode (K = 1). */
  get bootstrap(): boolean {
    return this.#bootstrap;
  }

  set bootstrap(bootstrap: boolean) {
    if (bootstrap !== this.#bootstrap) this.#committees.clear();
    this.#bootstrap = bootstrap;
  }

  /** Messages waiting for what they refer to. */
  get parked(): number {
    return this.#parking.size;
  }

  /** Accepted envelopes not archived because their thread's archive was full. */
  get archiveOverflows(): number {
    return this.#archiveOverflows;
  }

  /** Threads in memory. */
  get size(): number {
    return this.#threads.size;
  }

  /** A thread's state. */
  thread(needId: string): ThreadState | undefined {
    return this.#threads.get(needId);
  }

  /** Whether `did` sits on the plan committee of a NEED or the result committee of a task. */
  onCommittee(kind: "plan" | "result", subject: string, did: string): boolean {
    return this.#committee(kind, subject).has(did);
  }

  /** Whether the envelope `id` was accepted, or refused for good, lately (any thread; bounded memory). */
  settledLately(id: string): boolean {
    return this.#settledIds.has(id);
  }

  /**
   * For the ingress policy: whether `did` may attest task `taskId` of NEED
   * `needId` — its pinned committee, else the drawn one. While the task is
   * unknown the answer is yes: the reducer checks membership again when it
   * applies the ATTEST (parking it until the task is known).
   */
  mayAttest(needId: string, taskId: string, did: string): boolean {
    const thread = this.#threads.get(needId);
    const task = thread?.tasks.get(taskId);
    if (thread === undefined || task === undefined) return true;
    const pinned = resultCommitteeOf(thread, task);
    return pinned !== undefined ? pinned.includes(did) : this.#committee("result", taskId).has(did);
  }

  /**
   * For the policy: the window in which a CHALLENGE of `commitId` may come.
   * `strict` (this node's own challenge): the commit's T_challenge as this
   * node sees it. Otherwise (a peer's): until the NEED's deadline, because
   * the decider rules on T_challenge for everyone, so that every node holds
   * the same bonds; an unknown thread is left to the reducer.
   */
  challengeWindow(
    needId: string,
    taskId: string,
    commitId: string,
    strict: boolean,
  ): { readonly opensMs: number; readonly closesMs: number } {
    const thread = this.#threads.get(needId);
    if (thread === undefined) return strict ? CLOSED : { opensMs: 0, closesMs: WINDOW_END };
    if (!strict) return { opensMs: 0, closesMs: Math.ceil(thread.need.deadlineMs) };
    const task = thread.tasks.get(taskId);
    if (task?.status !== "VERIFIED" || task.verifiedCommit !== commitId) return CLOSED;
    const finalizeAfterMs = task.finalizeAfterMs ?? 0;
    // Whole milliseconds for the policy, rounded outward so the window never shrinks.
    return {
      opensMs: Math.max(0, Math.floor(finalizeAfterMs - this.#config.params.challengeWindowMs)),
      closesMs: Math.ceil(finalizeAfterMs),
    };
  }

  /** Fills the fields of an outgoing payload that come from the node's economy. */
  stamp(kind: LifecycleVerb, thread: string, payload: unknown, nowMs: number): unknown {
    const economy = this.#config.economy;
    if (economy === undefined) return payload;
    return economy.stamp(kind, this.#threads.get(thread), payload, this.#view(thread, nowMs));
  }

  /** Whether the envelope `id` of `thread` was accepted or is parked. */
  knows(thread: string, id: string): boolean {
    return this.#archive.has(thread, id) || this.#parking.holds(thread, id);
  }

  /** Increases whenever a message is applied; unchanged means a dry run still holds. */
  get version(): number {
    return this.#version;
  }

  /**
   * Throws the refusal a message would get now; "too early for the window" is
   * not a refusal. `confirmed`: a DECIDE the decide log holds.
   */
  dryRun(message: LifecycleMessage, nowMs: number, confirmed = false): void {
    const before = this.#threads.get(message.thread);
    const view = this.#view(message.thread, nowMs, confirmed, "local");
    try {
      this.#config.economy?.admit(message, before, reduce(before, message, view), view);
    } catch (error) {
      if (!(error instanceof ProtocolError && error.code === "E_WINDOW_OPEN")) throw error;
    }
  }

  /**
   * Applies a message; on success also retries what was parked on its
   * thread. Returns every outcome in order (the message's first).
   * `confirmed`: a DECIDE the decide log holds (its epoch and fence were
   * checked when it was written).
   */
  apply(message: LifecycleMessage, bytes: Uint8Array, nowMs: number, confirmed = false): Outcome[] {
    const outcomes: Outcome[] = [];
    this.#applyOne(message, bytes, nowMs, outcomes, confirmed);
    return outcomes;
  }

  /**
   * Sets aside the work of a lease an AP merge dropped (RECONCILE, confirmed
   * against the decide log), then retries what was parked on its thread (the
   * kept lease's CLAIM waits there, refused as busy). Nothing happens to a
   * thread or task this node does not hold. Throws `E_LEASE_CONFLICT` when
   * the work cannot be set aside (`lease_drop.ts`).
   *
   * The RECONCILE (`source`) joins the thread's archive, so a peer that
   * rebuilds the thread from this node (a restart) replays the drop after
   * the dropped lease's envelopes; its id counts as settled here.
   */
  dropLease(drop: LeaseDrop, nowMs: number, source: { id: string; bytes: Uint8Array }): {
    readonly thread?: ThreadState;
    readonly effects: readonly Effect[];
    readonly outcomes: readonly Outcome[];
  } {
    const before = this.#threads.get(drop.needId);
    if (before === undefined || !before.tasks.has(drop.taskId)) {
      return { effects: [], outcomes: [] };
    }
    const transition = dropLease(before, drop);
    this.#settled(source.id);
    if (transition.thread === before) return { thread: before, effects: [], outcomes: [] };
    this.#threads.set(drop.needId, transition.thread);
    this.#progressAtMs.delete(drop.needId);
    this.#progressAtMs.set(drop.needId, nowMs);
    this.#version++;
    if (!this.#archive.has(drop.needId, source.id)) {
      if (!this.#archive.add(drop.needId, source.id, source.bytes)) this.#archiveOverflows++;
    }
    const outcomes = this.retry(drop.needId, nowMs);
    return { thread: transition.thread, effects: transition.effects, outcomes };
  }

  /** Retries everything parked on a thread (its window may have opened). */
  retry(thread: string, nowMs: number): Outcome[] {
    const outcomes: Outcome[] = [];
    for (const parked of this.#parking.take(thread)) {
      this.#applyOne(parked.message, parked.bytes, nowMs, outcomes, parked.confirmed === true);
    }
    return outcomes;
  }

  /** Threads with a message parked since `cutoffMs` for a message that has not come (at most `limit`). */
  stalled(cutoffMs: number, limit: number): string[] {
    return this.#parking.stalled(cutoffMs, limit);
  }

  /**
   * Open threads that accepted no message since `cutoffMs`, longest idle
   * first (at most `limit`): a message may have been lost on the way.
   */
  idle(cutoffMs: number, limit: number): { readonly thread: string; readonly sinceMs: number }[] {
    const idle: { thread: string; sinceMs: number }[] = [];
    for (const [thread, sinceMs] of this.#progressAtMs) {
      if (sinceMs > cutoffMs || idle.length >= limit) break;
      const phase = this.#threads.get(thread)?.phase;
      if (phase === "OPEN" || phase === "DECIDED") idle.push({ thread, sinceMs });
    }
    return idle;
  }

  /** Threads still open (not final, not expired), for peers catching up. */
  openThreads(): string[] {
    return this.openThreadStates().map((thread) => thread.needId);
  }

  /** The states of the threads still open. */
  openThreadStates(): ThreadState[] {
    const open: ThreadState[] = [];
    for (const thread of this.#threads.values()) {
      if (thread.phase === "OPEN" || thread.phase === "DECIDED") open.push(thread);
    }
    return open;
  }

  /** Every thread held (finished ones until their retention ends). */
  threadIds(): string[] {
    return [...this.#threads.keys()];
  }

  /**
   * Whether `needId` is a thread this node saw end and has forgotten since
   * (the newest 65,536 of them), and which another node may still hold open
   * at `nowMs` (before its deadline plus the expiry grace): its envelopes are
   * in the audit log only.
   */
  forgotten(needId: string, nowMs: number): boolean {
    const endsMs = this.#forgotten.get(needId);
    return endsMs !== undefined && nowMs < endsMs && !this.#threads.has(needId);
  }

  /**
   * Archived envelopes of `threads` in chunks, leaving out the ids in `skip`
   * (those the asking peer holds already).
   */
  archived(
    threads: readonly string[],
    chunkSize: number,
    skip?: ReadonlySet<string>,
  ): Uint8Array[][] {
    return this.#archive.chunks(threads, chunkSize, skip);
  }

  /**
   * The ids of the envelopes of `thread` this node holds, archived or
   * parked (at most `limit`): what a sync request tells peers not to send.
   */
  held(thread: string, limit: number): string[] {
    const archived = this.#archive.ids(thread, limit);
    return archived.concat(this.#parking.ids(thread).slice(0, limit - archived.length));
  }

  /**
   * The one sender of every envelope this node accepted on `thread`, if
   * only one spoke: for this node's own thread, no peer has answered it yet
   * (maybe none ever heard of it).
   */
  soleSender(thread: string): string | undefined {
    return this.#soleSender.get(thread) ?? undefined;
  }

  /** Notes that a NEED ended, so its thread is forgotten after the retention. */
  finished(needId: string, nowMs: number): void {
    this.#finishedAtMs.set(needId, nowMs);
    this.#progressAtMs.delete(needId);
  }

  /**
   * Housekeeping: drops parked messages past their time, expires NEEDs past
   * their deadline (and grace: the decider normally expires them for
   * everyone with INVALIDATE), forgets finished threads past the retention.
   */
  sweep(nowMs: number): { readonly expiredParked: Parked[]; readonly expiredNeeds: ThreadState[] } {
    const expiredParked = this.#parking.expire(nowMs - this.#config.parkedTtlMs);
    const expiredNeeds: ThreadState[] = [];
    const economy = this.#config.economy;
    economy?.sweep(nowMs, (needId) => this.#threads.has(needId));
    const expiryMs = nowMs - this.#config.params.needExpiryGraceMs;
    for (const [needId, thread] of this.#threads) {
      const expired = expireIfDue(thread, expiryMs);
      if (expired === undefined) continue;
      this.#threads.set(needId, expired);
      this.#version++;
      economy?.expiredLocally(needId, nowMs);
      expiredNeeds.push(expired);
    }
    for (const [needId, finishedMs] of this.#finishedAtMs) {
      if (nowMs - finishedMs < this.#config.finishedRetentionMs) continue;
      this.#finishedAtMs.delete(needId);
      const thread = this.#threads.get(needId);
      this.#threads.delete(needId);
      const endsMs = (thread?.need.deadlineMs ?? 0) + this.#config.params.needExpiryGraceMs;
      this.#forgotten.set(needId, endsMs);
      if (this.#forgotten.size > FORGOTTEN_THREADS_MAX) this.#forgottenOldest.evict();
      this.#progressAtMs.delete(needId);
      this.#archive.forget(needId);
      this.#soleSender.delete(needId);
    }
    return { expiredParked, expiredNeeds };
  }

  #settled(id: string): void {
    this.#settledIds.add(id);
    if (this.#settledIds.size > SETTLED_IDS_MAX) {
      this.#settledIdsOldest.evict();
    }
  }

  #applyOne(
    message: LifecycleMessage,
    bytes: Uint8Array,
    nowMs: number,
    outcomes: Outcome[],
    confirmed = false,
  ): void {
    let transition;
    const before = this.#threads.get(message.thread);
    const view = this.#view(message.thread, nowMs, confirmed);
    try {
      transition = reduce(before, message, view);
      this.#config.economy?.admit(message, before, transition, view);
    } catch (error) {
      if (isParkable(error)) {
        const entry = { message, bytes, code: error.code, parkedAtMs: nowMs, confirmed };
        const dropped = this.#parking.park(entry);
        outcomes.push({ status: "parked", message, error, dropped });
      } else {
        const code = error instanceof ProtocolError ? error.code : "E_UNKNOWN";
        if (FINAL_REFUSALS.has(code) && !mayStillFit(message)) this.#settled(message.id);
        outcomes.push({ status: "rejected", message, code });
      }
      return;
    }
    this.#threads.set(message.thread, transition.thread);
    // Delete first so the map stays ordered by last progress, oldest first.
    this.#progressAtMs.delete(message.thread);
    this.#progressAtMs.set(message.thread, nowMs);
    this.#config.economy?.apply(message, before, transition, view);
    this.#version++;
    if (!this.#archive.add(message.thread, message.id, bytes)) this.#archiveOverflows++;
    const sole = this.#soleSender.get(message.thread);
    if (sole === undefined) this.#soleSender.set(message.thread, message.sender);
    else if (sole !== null && sole !== message.sender) this.#soleSender.set(message.thread, null);
    this.#settled(message.id);
    if (message.kind === "DECIDE") this.#noteFence(message as LifecycleMessage<"DECIDE">);
    outcomes.push({
      status: "accepted",
      message,
      thread: transition.thread,
      effects: transition.effects,
    });
    for (const parked of this.#parking.take(message.thread)) {
      this.#applyOne(parked.message, parked.bytes, nowMs, outcomes, parked.confirmed === true);
    }
  }

  /** What the reducer sees of this node, built once per message (it is on every message's path). */
  #view(
    thread: string,
    nowMs: number,
    decisionConfirmed?: boolean,
    origin?: ReduceView["origin"],
  ): ReduceView {
    return {
      nowMs,
      params: this.#config.params,
      epoch: this.epoch,
      bootstrap: this.#bootstrap,
      activeVerifiers: this.#verifiers,
      highestFence: this.#highestFence.get(bucketOf(thread)),
      isPlanCommitteeMember: this.#isPlanMember,
      isResultCommitteeMember: this.#isResultMember,
      decideMode: this.#config.decideMode,
      mutations: this.#config.mutations,
      decisionConfirmed,
      origin,
    };
  }

  readonly #isPlanMember = (needId: string, did: string): boolean =>
    this.#committee("plan", needId).has(did);

  readonly #isResultMember = (taskId: string, did: string): boolean =>
    this.#committee("result", taskId).has(did);

  #committee(kind: "plan" | "result", subject: string): ReadonlySet<string> {
    const key = `${kind}:${subject}`;
    const cached = this.#committees.get(key);
    if (cached !== undefined) return cached;
    const members = new Set(
      committeeFor(kind, subject, this.#verifiers, this.#config.params, this.#bootstrap),
    );
    if (this.#committees.size >= COMMITTEE_CACHE_MAX) this.#committees.clear();
    this.#committees.set(key, members);
    return members;
  }

  #noteFence(message: LifecycleMessage<"DECIDE">): void {
    const bucket = bucketOf(message.thread);
    if ((this.#highestFence.get(bucket) ?? 0) < message.payload.fence) {
      this.#highestFence.set(bucket, message.payload.fence);
    }
  }
}

/**
 * One replica of the AP decide service: a decide log (the same contract as
 * every other backend, and the same conformance suite) that can fork when a
 * partition splits the swarm and merge when it heals.
 *
 * During a partition each side writes its own fork, so each side keeps
 * deciding. On heal the forks merge: for each NEED the decision with the
 * highest (epoch, lamport, decider) wins (`mergeOnHeal`) and the others are
 * orphaned; the epoch and every bucket's fence token take their highest
 * value; of two leases granted on one task on different sides, the later
 * grant survives (a conflict the merge reports), and of one lease renewed on
 * both sides, the later expiry.
 *
 * The simulator keeps replicas in memory and merges whole sides
 * ({@linkcode ApReplica.fork}, {@linkcode ApReplica.merge}). A `run node
 * --consensus ap` process keeps one replica of its own, persisted in a
 * {@linkcode Store} (Deno KV in its data directory, {@linkcode ApReplica.open}),
 * and merges what its peers hold into it ({@linkcode ApReplica.absorb}) with
 * the same rules. The state lives in memory (reads are synchronous, as the
 * simulator's histories need); each write goes through to the store, in
 * call order, before the call resolves.
 *
 * Given a clock, a replica forgets decisions and leases once their retention
 * time has passed (checked at most once a minute, as calls come), persists
 * them to expire then too, and takes no such record back from a peer.
 *
 * @module
 */

import {
  bucketOf,
  checkBucket,
  checkDecideRecord,
  checkLeaseRecord,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
  type LeaseOutcome,
  type LeaseRecord,
  releasable,
  type ReleaseOptions,
  renewed,
  StaleEpochError,
  StaleFenceError,
  withCommit,
  withFinal,
} from "../../runtime/store/decide_log.ts";
import { leaseOutcome, settledOutcome } from "../../runtime/store/store_decide_log.ts";
import type { Store, StoreKey } from "../../runtime/store/store.ts";
import { mergeOnHeal, type MergeResult } from "./merge.ts";

/** The outcome of merging replicas. */
export interface ReplicaMerge {
  readonly replica: ApReplica;
  readonly decisions: MergeResult;
  /** Tasks that held different leases on different sides. */
  readonly leaseConflicts: readonly LeaseConflict[];
}

/** Two leases on one task, granted on different sides. */
export interface LeaseConflict {
  readonly kept: LeaseRecord;
  readonly dropped: LeaseRecord;
}

/** Everything a replica holds, as a peer receives it. */
export interface ReplicaSnapshot {
  readonly epoch: number;
  readonly fences: readonly FenceToken[];
  readonly decisions: readonly DecideRecord[];
  readonly leases: readonly LeaseRecord[];
}

/** What {@linkcode ApReplica.absorb} changed. */
export interface ReplicaAbsorb {
  /** The merge of this replica's decisions with the snapshot's (conflicts, orphans). */
  readonly decisions: MergeResult;
  readonly leaseConflicts: readonly LeaseConflict[];
  /** Decisions this replica took from the snapshot (new NEEDs, or winners over its own). */
  readonly adopted: number;
  /** Buckets whose fence token rose. */
  readonly fencesRaised: readonly number[];
  /** Whether the epoch rose. */
  readonly epochRaised: boolean;
}

/** Key prefix of a replica's entries in its store. */
const PREFIX = "ap";
/** Bound of the list calls that load a replica (one per kind). */
const LOAD_LIMIT = 10_000_000;
/** Entries per store commit (Deno KV bounds the mutations of one atomic batch). */
const COMMIT_ENTRIES_MAX = 500;
/** Most time between two purges of records past their retention. */
const PURGE_EVERY_MS = 60_000;

/** A decide log that forks and merges, in memory or over a store. */
export class ApReplica implements DecideLog {
  /** Name of the replica (for histories). */
  readonly name: string;
  #epoch = 0;
  readonly #fences = new Map<number, FenceToken>();
  readonly #decisions = new Map<string, DecideRecord>();
  readonly #leases = new Map<string, LeaseRecord>();
  readonly #store: Store | undefined;
  readonly #nowMs: (() => number) | undefined;
  #nextPurgeMs = -Infinity;
  #writes: Promise<void> = Promise.resolve();

  /**
   * A replica in memory, or over `store` (use {@linkcode ApReplica.open} to
   * load one); with `nowMs`, records are forgotten after their retention time.
   */
  constructor(name: string, store?: Store, nowMs?: () => number) {
    this.name = name;
    this.#store = store;
    this.#nowMs = nowMs;
  }

  /** Opens the replica persisted in `store` (empty when the store is). */
  static async open(name: string, store: Store, nowMs?: () => number): Promise<ApReplica> {
    const replica = new ApReplica(name, store, nowMs);
    const list = <T>(kind: string) => store.list<T>([PREFIX, kind], { limit: LOAD_LIMIT });
    replica.#epoch = (await store.get<number>([PREFIX, "epoch"]))?.value ?? 0;
    for (const entry of await list<FenceToken>("fence")) {
      replica.#fences.set(entry.value.bucket, entry.value);
    }
    for (const entry of await list<DecideRecord>("decide")) {
      replica.#decisions.set(entry.value.needId, entry.value);
    }
    for (const entry of await list<LeaseRecord>("lease")) {
      replica.#leases.set(entry.value.taskId, entry.value);
    }
    return replica;
  }

  /** The current epoch, synchronously (for histories). */
  get epochNow(): number {
    return this.#epoch;
  }

  /** The current fence token of a bucket, synchronously (0 before any). */
  fenceNow(bucket: number): number {
    return this.#fences.get(bucket)?.token ?? 0;
  }

  /** The current fence of a bucket with its holder, synchronously. */
  fenceOf(bucket: number): FenceToken | undefined {
    return this.#fences.get(bucket);
  }

  /** Every decision this replica holds, synchronously. */
  decisionsNow(): DecideRecord[] {
    this.#purge();
    return [...this.#decisions.values()].filter((record) => !this.#expired(record));
  }

  /** How many leases this replica holds, synchronously. */
  get leaseCount(): number {
    this.#purge();
    return [...this.#leases.values()].filter((lease) => !this.#expired(lease)).length;
  }

  async tryDecide(record: DecideRecord): Promise<DecideOutcome> {
    checkDecideRecord(record);
    this.#purge();
    const existing = this.#live(this.#decisions, record.needId);
    if (existing !== undefined) return settledOutcome(record, existing);
    if (record.epoch !== this.#epoch) throw new StaleEpochError(record.epoch, this.#epoch);
    const bucket = bucketOf(record.needId);
    const fence = this.fenceNow(bucket);
    if (record.fence !== fence) throw new StaleFenceError(bucket, record.fence, fence);
    this.#decisions.set(record.needId, { ...record });
    const written = this.#persist([[["decide", record.needId], { ...record }]]);
    if (written !== undefined) await written;
    return { status: "decided", record };
  }

  getDecide(needId: string): Promise<DecideRecord | undefined> {
    return Promise.resolve(this.#live(this.#decisions, needId));
  }

  currentEpoch(): Promise<number> {
    return Promise.resolve(this.#epoch);
  }

  async advanceEpoch(from: number): Promise<number> {
    if (from !== this.#epoch) throw new StaleEpochError(from, this.#epoch);
    this.#epoch = from + 1;
    const written = this.#persist([[["epoch"], this.#epoch]]);
    if (written !== undefined) await written;
    return this.#epoch;
  }

  async acquireFence(bucket: number, holder: string): Promise<FenceToken> {
    checkBucket(bucket);
    const token = { bucket, token: this.fenceNow(bucket) + 1, holder };
    this.#fences.set(bucket, token);
    const written = this.#persist([[["fence", bucket], token]]);
    if (written !== undefined) await written;
    return token;
  }

  currentFence(bucket: number): Promise<number> {
    try {
      return Promise.resolve(this.fenceNow(checkBucket(bucket)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  fenceHolder(bucket: number): Promise<FenceToken | undefined> {
    try {
      const token = this.fenceOf(checkBucket(bucket));
      return Promise.resolve(token === undefined ? undefined : { ...token });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    checkLeaseRecord(lease);
    this.#purge();
    const existing = this.#live(this.#leases, lease.taskId);
    if (existing !== undefined) return leaseOutcome(lease, existing);
    if (lease.epoch !== this.#epoch) throw new StaleEpochError(lease.epoch, this.#epoch);
    this.#leases.set(lease.taskId, { ...lease });
    const written = this.#persist([[["lease", lease.taskId], { ...lease }]]);
    if (written !== undefined) await written;
    return { status: "granted", lease };
  }

  getLease(taskId: string): Promise<LeaseRecord | undefined> {
    return Promise.resolve(this.#live(this.#leases, taskId));
  }

  renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    return this.#rewriteLease(taskId, (lease) => renewed(lease, leaseId, expiresAtMs));
  }

  markCommitted(taskId: string, leaseId: string, commit: string): Promise<boolean> {
    return this.#rewriteLease(taskId, (lease) => withCommit(lease, leaseId, commit));
  }

  markFinal(taskId: string, leaseId: string): Promise<boolean> {
    return this.#rewriteLease(taskId, (lease) => withFinal(lease, leaseId));
  }

  async releaseLease(taskId: string, leaseId: string, options?: ReleaseOptions): Promise<boolean> {
    if (!releasable(this.#live(this.#leases, taskId), leaseId, options)) return false;
    this.#leases.delete(taskId);
    const written = this.#persist([[["lease", taskId], undefined]]);
    if (written !== undefined) await written;
    return true;
  }

  /**
   * Sets the task's lease to what `change` makes of it: true once written,
   * or when `change` returns the lease as it is; false when it returns
   * undefined.
   */
  async #rewriteLease(
    taskId: string,
    change: (lease: LeaseRecord | undefined) => LeaseRecord | undefined,
  ): Promise<boolean> {
    const lease = this.#live(this.#leases, taskId);
    const next = change(lease);
    if (next === undefined) return false;
    if (next === lease) return true;
    this.#leases.set(taskId, next);
    const written = this.#persist([[["lease", taskId], next]]);
    if (written !== undefined) await written;
    return true;
  }

  /** Waits for pending writes; the store itself belongs to the caller. */
  async close(): Promise<void> {
    await this.#writes;
  }

  /** Everything this replica holds (what a peer absorbs). */
  snapshot(): ReplicaSnapshot {
    this.#purge();
    const current = (record: DecideRecord | LeaseRecord) => !this.#expired(record);
    return {
      epoch: this.#epoch,
      fences: [...this.#fences.values()],
      decisions: [...this.#decisions.values()].filter(current),
      leases: [...this.#leases.values()].filter(current),
    };
  }

  /**
   * Merges a peer's snapshot into this replica, by the rules of
   * {@linkcode ApReplica.merge}, and persists what changed. Absorbing the
   * same snapshot twice changes nothing the second time; absorbing in any
   * order ends in the same state.
   */
  async absorb(snapshot: ReplicaSnapshot): Promise<ReplicaAbsorb> {
    this.#purge();
    const current = (record: DecideRecord | LeaseRecord) => !this.#expired(record);
    const decisions = mergeOnHeal([
      [...this.#decisions.values()].filter(current),
      snapshot.decisions.filter(current),
    ]);
    const writes: [StoreKey, unknown][] = [];
    let adopted = 0;
    for (const [needId, winner] of decisions.winners) {
      if (this.#decisions.get(needId) === winner) continue;
      this.#decisions.set(needId, winner);
      writes.push([["decide", needId], winner]);
      adopted++;
    }
    const epochRaised = snapshot.epoch > this.#epoch;
    if (epochRaised) {
      this.#epoch = snapshot.epoch;
      writes.push([["epoch"], this.#epoch]);
    }
    const fencesRaised: number[] = [];
    for (const token of snapshot.fences) {
      if (!higherFence(token, this.#fences.get(token.bucket))) continue;
      this.#fences.set(token.bucket, token);
      writes.push([["fence", token.bucket], token]);
      fencesRaised.push(token.bucket);
    }
    const leaseConflicts: LeaseConflict[] = [];
    for (const lease of snapshot.leases.filter(current)) {
      const known = this.#live(this.#leases, lease.taskId);
      const kept = known === undefined ? lease : keptLease(known, lease);
      if (known !== undefined && known.leaseId !== lease.leaseId) {
        leaseConflicts.push({ kept, dropped: kept === known ? lease : known });
      }
      if (kept === known) continue;
      this.#leases.set(lease.taskId, kept);
      writes.push([["lease", lease.taskId], kept]);
    }
    const written = this.#persist(writes);
    if (written !== undefined) await written;
    return { decisions, leaseConflicts, adopted, fencesRaised, epochRaised };
  }

  /** A copy in memory that evolves independently from now on (one side of a partition). */
  fork(name: string): ApReplica {
    const copy = new ApReplica(name, undefined, this.#nowMs);
    copy.#epoch = this.#epoch;
    for (const [bucket, token] of this.#fences) copy.#fences.set(bucket, token);
    for (const [needId, record] of this.#decisions) copy.#decisions.set(needId, record);
    for (const [taskId, lease] of this.#leases) copy.#leases.set(taskId, lease);
    return copy;
  }

  /** Merges replicas into a new one in memory named `name` (see the module documentation). */
  static merge(name: string, replicas: readonly ApReplica[]): ReplicaMerge {
    const merged = new ApReplica(
      name,
      undefined,
      replicas.length > 0 ? replicas[0].#nowMs : undefined,
    );
    const decisions = mergeOnHeal(replicas.map((replica) => replica.decisionsNow()));
    for (const [needId, record] of decisions.winners) merged.#decisions.set(needId, record);
    const leaseConflicts: LeaseConflict[] = [];
    for (const replica of replicas) {
      merged.#epoch = Math.max(merged.#epoch, replica.#epoch);
      for (const [bucket, token] of replica.#fences) {
        if (higherFence(token, merged.#fences.get(bucket))) merged.#fences.set(bucket, token);
      }
      for (const [taskId, lease] of replica.#leases) {
        if (replica.#expired(lease)) continue;
        const known = merged.#leases.get(taskId);
        const kept = known === undefined ? lease : keptLease(known, lease);
        merged.#leases.set(taskId, kept);
        if (known !== undefined && known.leaseId !== lease.leaseId) {
          leaseConflicts.push({ kept, dropped: kept === known ? lease : known });
        }
      }
    }
    return { replica: merged, decisions, leaseConflicts };
  }

  /** Whether `record`'s retention time has passed (never without a clock). */
  #expired(record: { readonly retainUntilMs?: number }): boolean {
    return this.#nowMs !== undefined && record.retainUntilMs !== undefined &&
      record.retainUntilMs <= this.#nowMs();
  }

  /** The record at `key` of `records`, unless its retention time has passed (then it goes). */
  #live<T extends { readonly retainUntilMs?: number }>(
    records: Map<string, T>,
    key: string,
  ): T | undefined {
    const record = records.get(key);
    if (record === undefined || !this.#expired(record)) return record;
    records.delete(key);
    return undefined;
  }

  /**
   * Forgets every decision and lease whose retention time has passed, at
   * most once a minute of the clock (reads skip them in the meantime). The
   * store forgets its copies by itself.
   */
  #purge(): void {
    if (this.#nowMs === undefined) return;
    const nowMs = this.#nowMs();
    if (nowMs < this.#nextPurgeMs) return;
    this.#nextPurgeMs = nowMs + PURGE_EVERY_MS;
    for (const [needId, record] of this.#decisions) {
      if (this.#expired(record)) this.#decisions.delete(needId);
    }
    for (const [taskId, lease] of this.#leases) {
      if (this.#expired(lease)) this.#leases.delete(taskId);
    }
  }

  /** Writes entries (undefined deletes) to the store, after the writes before them. */
  #persist(entries: readonly [StoreKey, unknown][]): Promise<void> | undefined {
    const store = this.#store;
    // In memory nothing is awaited: the simulator's schedule stays what it was.
    if (store === undefined || entries.length === 0) return undefined;
    const write = this.#writes.then(async () => {
      for (let first = 0; first < entries.length; first += COMMIT_ENTRIES_MAX) {
        const batch = entries.slice(first, first + COMMIT_ENTRIES_MAX);
        const sets = batch.filter(([, value]) => value !== undefined)
          .map(([key, value]) => ({
            key: [PREFIX, ...key],
            value,
            expireAtMs: (value as { retainUntilMs?: number }).retainUntilMs,
          }));
        const deletes = batch.filter(([, value]) => value === undefined)
          .map(([key]) => [PREFIX, ...key]);
        const result = await store.commit({ sets, deletes });
        if (!result.ok) throw new Error("An unchecked store commit was refused");
      }
    });
    // A failed write fails its own call; the chain goes on for the next ones.
    this.#writes = write.catch(() => {});
    return write;
  }
}

/**
 * Whether `token` beats `known`: a higher token, or the same token issued to
 * a higher holder (two sides of a partition can issue the same number; every
 * replica must keep the same one).
 */
function higherFence(token: FenceToken, known: FenceToken | undefined): boolean {
  if (known === undefined || token.token !== known.token) return token.token > (known?.token ?? 0);
  return token.holder > known.holder;
}

/**
 * Of two leases on one task: the final one (its result was paid out on its
 * side), else the later grant; of one lease the later renewal, carrying the
 * COMMIT and the final mark either side wrote into it.
 */
function keptLease(left: LeaseRecord, right: LeaseRecord): LeaseRecord {
  if (left.leaseId === right.leaseId) {
    const later = left.expiresAtMs >= right.expiresAtMs ? left : right;
    const commit = later.commit ?? left.commit ?? right.commit;
    const final = left.final ?? right.final;
    if (later.commit === commit && later.final === final) return later;
    return {
      ...later,
      ...(commit === undefined ? {} : { commit }),
      ...(final === undefined ? {} : { final }),
    };
  }
  if ((left.final === true) !== (right.final === true)) return left.final === true ? left : right;
  if (left.grantedAtMs !== right.grantedAtMs) {
    return left.grantedAtMs > right.grantedAtMs ? left : right;
  }
  return left.leaseId > right.leaseId ? left : right;
}

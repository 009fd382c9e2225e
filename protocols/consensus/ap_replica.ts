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
 * grant survives (a conflict the merge reports).
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
 * @module
 */

import {
  bucketOf,
  checkBucket,
  checkDecideRecord,
  checkForget,
  checkLeaseRecord,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
  type LeaseOutcome,
  type LeaseRecord,
  StaleEpochError,
  StaleFenceError,
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

/** A decide log that forks and merges, in memory or over a store. */
export class ApReplica implements DecideLog {
  /** Name of the replica (for histories). */
  readonly name: string;
  #epoch = 0;
  readonly #fences = new Map<number, FenceToken>();
  readonly #decisions = new Map<string, DecideRecord>();
  readonly #leases = new Map<string, LeaseRecord>();
  /**
   * Per bucket, the latest cutoff this replica forgot up to: a record due by
   * then that a peer still holds is not taken back from its snapshot.
   */
  readonly #forgotUntil = new Map<number, number>();
  readonly #store: Store | undefined;
  #writes: Promise<void> = Promise.resolve();

  /** A replica in memory, or over `store` (use {@linkcode ApReplica.open} to load one). */
  constructor(name: string, store?: Store) {
    this.name = name;
    this.#store = store;
  }

  /** Opens the replica persisted in `store` (empty when the store is). */
  static async open(name: string, store: Store): Promise<ApReplica> {
    const replica = new ApReplica(name, store);
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
    return [...this.#decisions.values()];
  }

  async tryDecide(record: DecideRecord): Promise<DecideOutcome> {
    checkDecideRecord(record);
    const existing = this.#decisions.get(record.needId);
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
    return Promise.resolve(this.#decisions.get(needId));
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

  async tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    checkLeaseRecord(lease);
    const existing = this.#leases.get(lease.taskId);
    if (existing !== undefined) return leaseOutcome(lease, existing);
    if (lease.epoch !== this.#epoch) throw new StaleEpochError(lease.epoch, this.#epoch);
    this.#leases.set(lease.taskId, { ...lease });
    const written = this.#persist([[["lease", lease.taskId], { ...lease }]]);
    if (written !== undefined) await written;
    return { status: "granted", lease };
  }

  getLease(taskId: string): Promise<LeaseRecord | undefined> {
    return Promise.resolve(this.#leases.get(taskId));
  }

  async renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    const lease = this.#leases.get(taskId);
    if (lease === undefined || lease.leaseId !== leaseId) return false;
    const renewed = { ...lease, expiresAtMs };
    this.#leases.set(taskId, renewed);
    const written = this.#persist([[["lease", taskId], renewed]]);
    if (written !== undefined) await written;
    return true;
  }

  async releaseLease(taskId: string, leaseId: string): Promise<boolean> {
    if (this.#leases.get(taskId)?.leaseId !== leaseId) return false;
    this.#leases.delete(taskId);
    const written = this.#persist([[["lease", taskId], undefined]]);
    if (written !== undefined) await written;
    return true;
  }

  /**
   * Forgets the due decisions and leases of `bucket` (the contract of
   * {@linkcode DecideLog.forget}). It walks every record the replica holds:
   * a replica is the memory of one node, and a sweep runs once a minute.
   */
  async forget(bucket: number, cutoffMs: number, limit?: number): Promise<number> {
    const bound = checkForget(bucket, cutoffMs, limit);
    const due = (record: { retainUntilMs?: number }) =>
      record.retainUntilMs !== undefined && record.retainUntilMs <= cutoffMs;
    const writes: [StoreKey, unknown][] = [];
    for (const [needId, record] of this.#decisions) {
      if (writes.length >= bound) break;
      if (!due(record) || bucketOf(needId) !== bucket) continue;
      this.#decisions.delete(needId);
      writes.push([["decide", needId], undefined]);
    }
    for (const [taskId, lease] of this.#leases) {
      if (writes.length >= bound) break;
      if (!due(lease) || bucketOf(taskId) !== bucket) continue;
      this.#leases.delete(taskId);
      writes.push([["lease", taskId], undefined]);
    }
    if (writes.length < bound) {
      this.#forgotUntil.set(bucket, Math.max(this.#forgotUntil.get(bucket) ?? cutoffMs, cutoffMs));
    }
    const written = this.#persist(writes);
    if (written !== undefined) await written;
    return writes.length;
  }

  /** Whether this replica forgot `record`'s time already (a peer's copy is not taken back). */
  #forgotten(bucket: number, record: { retainUntilMs?: number }): boolean {
    const until = this.#forgotUntil.get(bucket);
    return until !== undefined && record.retainUntilMs !== undefined &&
      record.retainUntilMs <= until;
  }

  /** Waits for pending writes; the store itself belongs to the caller. */
  async close(): Promise<void> {
    await this.#writes;
  }

  /** Everything this replica holds (what a peer absorbs). */
  snapshot(): ReplicaSnapshot {
    return {
      epoch: this.#epoch,
      fences: [...this.#fences.values()],
      decisions: [...this.#decisions.values()],
      leases: [...this.#leases.values()],
    };
  }

  /**
   * Merges a peer's snapshot into this replica, by the rules of
   * {@linkcode ApReplica.merge}, and persists what changed. Absorbing the
   * same snapshot twice changes nothing the second time; absorbing in any
   * order ends in the same state.
   */
  async absorb(snapshot: ReplicaSnapshot): Promise<ReplicaAbsorb> {
    const decisions = mergeOnHeal([
      [...this.#decisions.values()],
      snapshot.decisions.filter((record) => !this.#forgotten(bucketOf(record.needId), record)),
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
    for (const lease of snapshot.leases) {
      if (this.#forgotten(bucketOf(lease.taskId), lease)) continue;
      const known = this.#leases.get(lease.taskId);
      const kept = known === undefined ? lease : laterGrant(known, lease);
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
    const copy = new ApReplica(name);
    copy.#epoch = this.#epoch;
    for (const [bucket, token] of this.#fences) copy.#fences.set(bucket, token);
    for (const [needId, record] of this.#decisions) copy.#decisions.set(needId, record);
    for (const [taskId, lease] of this.#leases) copy.#leases.set(taskId, lease);
    for (const [bucket, until] of this.#forgotUntil) copy.#forgotUntil.set(bucket, until);
    return copy;
  }

  /** Merges replicas into a new one in memory named `name` (see the module documentation). */
  static merge(name: string, replicas: readonly ApReplica[]): ReplicaMerge {
    const merged = new ApReplica(name);
    for (const replica of replicas) {
      for (const [bucket, until] of replica.#forgotUntil) {
        merged.#forgotUntil.set(bucket, Math.max(merged.#forgotUntil.get(bucket) ?? until, until));
      }
    }
    const decisions = mergeOnHeal(
      replicas.map((replica) =>
        [...replica.#decisions.values()].filter((record) =>
          !merged.#forgotten(bucketOf(record.needId), record)
        )
      ),
    );
    for (const [needId, record] of decisions.winners) merged.#decisions.set(needId, record);
    const leaseConflicts: LeaseConflict[] = [];
    for (const replica of replicas) {
      merged.#epoch = Math.max(merged.#epoch, replica.#epoch);
      for (const [bucket, token] of replica.#fences) {
        if (higherFence(token, merged.#fences.get(bucket))) merged.#fences.set(bucket, token);
      }
      for (const [taskId, lease] of replica.#leases) {
        if (merged.#forgotten(bucketOf(taskId), lease)) continue;
        const known = merged.#leases.get(taskId);
        if (known === undefined) merged.#leases.set(taskId, lease);
        else if (known.leaseId !== lease.leaseId) {
          const later = laterGrant(known, lease);
          merged.#leases.set(taskId, later);
          leaseConflicts.push({ kept: later, dropped: later === known ? lease : known });
        }
      }
    }
    return { replica: merged, decisions, leaseConflicts };
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
          .map(([key, value]) => ({ key: [PREFIX, ...key], value }));
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

function laterGrant(left: LeaseRecord, right: LeaseRecord): LeaseRecord {
  if (left.grantedAtMs !== right.grantedAtMs) {
    return left.grantedAtMs > right.grantedAtMs ? left : right;
  }
  return left.leaseId > right.leaseId ? left : right;
}

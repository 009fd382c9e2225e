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
  StaleEpochError,
  StaleFenceError,
} from "../../runtime/store/decide_log.ts";
import { leaseOutcome, settledOutcome } from "../../runtime/store/store_decide_log.ts";
import { mergeOnHeal, type MergeResult } from "../../protocols/consensus/merge.ts";

/** The outcome of merging replicas. */
export interface ReplicaMerge {
  readonly replica: ApReplica;
  readonly decisions: MergeResult;
  /** Tasks that held different leases on different sides. */
  readonly leaseConflicts: readonly { readonly kept: LeaseRecord; readonly dropped: LeaseRecord }[];
}

/** An in-memory decide log that forks and merges. */
export class ApReplica implements DecideLog {
  /** Name of the replica (for histories). */
  readonly name: string;
  #epoch = 0;
  readonly #fences = new Map<number, FenceToken>();
  readonly #decisions = new Map<string, DecideRecord>();
  readonly #leases = new Map<string, LeaseRecord>();

  constructor(name: string) {
    this.name = name;
  }

  /** The current epoch, synchronously (for histories). */
  get epochNow(): number {
    return this.#epoch;
  }

  /** The current fence token of a bucket, synchronously (0 before any). */
  fenceNow(bucket: number): number {
    return this.#fences.get(bucket)?.token ?? 0;
  }

  tryDecide(record: DecideRecord): Promise<DecideOutcome> {
    return run(() => {
      checkDecideRecord(record);
      const existing = this.#decisions.get(record.needId);
      if (existing !== undefined) return settledOutcome(record, existing);
      if (record.epoch !== this.#epoch) throw new StaleEpochError(record.epoch, this.#epoch);
      const bucket = bucketOf(record.needId);
      const fence = this.fenceNow(bucket);
      if (record.fence !== fence) throw new StaleFenceError(bucket, record.fence, fence);
      this.#decisions.set(record.needId, { ...record });
      return { status: "decided", record };
    });
  }

  getDecide(needId: string): Promise<DecideRecord | undefined> {
    return run(() => this.#decisions.get(needId));
  }

  currentEpoch(): Promise<number> {
    return run(() => this.#epoch);
  }

  advanceEpoch(from: number): Promise<number> {
    return run(() => {
      if (from !== this.#epoch) throw new StaleEpochError(from, this.#epoch);
      this.#epoch = from + 1;
      return this.#epoch;
    });
  }

  acquireFence(bucket: number, holder: string): Promise<FenceToken> {
    return run(() => {
      checkBucket(bucket);
      const token = { bucket, token: this.fenceNow(bucket) + 1, holder };
      this.#fences.set(bucket, token);
      return token;
    });
  }

  currentFence(bucket: number): Promise<number> {
    return run(() => {
      checkBucket(bucket);
      return this.fenceNow(bucket);
    });
  }

  tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    return run(() => {
      checkLeaseRecord(lease);
      const existing = this.#leases.get(lease.taskId);
      if (existing !== undefined) return leaseOutcome(lease, existing);
      if (lease.epoch !== this.#epoch) throw new StaleEpochError(lease.epoch, this.#epoch);
      this.#leases.set(lease.taskId, { ...lease });
      return { status: "granted", lease };
    });
  }

  getLease(taskId: string): Promise<LeaseRecord | undefined> {
    return run(() => this.#leases.get(taskId));
  }

  renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    return run(() => {
      const lease = this.#leases.get(taskId);
      if (lease === undefined || lease.leaseId !== leaseId) return false;
      this.#leases.set(taskId, { ...lease, expiresAtMs });
      return true;
    });
  }

  releaseLease(taskId: string, leaseId: string): Promise<boolean> {
    return run(() => {
      if (this.#leases.get(taskId)?.leaseId !== leaseId) return false;
      this.#leases.delete(taskId);
      return true;
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** A copy that evolves independently from now on (one side of a partition). */
  fork(name: string): ApReplica {
    const copy = new ApReplica(name);
    copy.#epoch = this.#epoch;
    for (const [bucket, token] of this.#fences) copy.#fences.set(bucket, token);
    for (const [needId, record] of this.#decisions) copy.#decisions.set(needId, record);
    for (const [taskId, lease] of this.#leases) copy.#leases.set(taskId, lease);
    return copy;
  }

  /** Merges replicas into a new one named `name` (see the module documentation). */
  static merge(name: string, replicas: readonly ApReplica[]): ReplicaMerge {
    const merged = new ApReplica(name);
    const decisions = mergeOnHeal(replicas.map((replica) => [...replica.#decisions.values()]));
    for (const [needId, record] of decisions.winners) merged.#decisions.set(needId, record);
    const leaseConflicts: { kept: LeaseRecord; dropped: LeaseRecord }[] = [];
    for (const replica of replicas) {
      merged.#epoch = Math.max(merged.#epoch, replica.#epoch);
      for (const [bucket, token] of replica.#fences) {
        if (token.token > merged.fenceNow(bucket)) merged.#fences.set(bucket, token);
      }
      for (const [taskId, lease] of replica.#leases) {
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
}

function laterGrant(left: LeaseRecord, right: LeaseRecord): LeaseRecord {
  if (left.grantedAtMs !== right.grantedAtMs) {
    return left.grantedAtMs > right.grantedAtMs ? left : right;
  }
  return left.leaseId > right.leaseId ? left : right;
}

/** Runs synchronous logic as a settled promise, rejections included. */
function run<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error);
  }
}

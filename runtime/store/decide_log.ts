/**
 * The decide log: where a DECIDE becomes final (DESIGN.md §5, P1 and P4).
 *
 * At most one decision per NEED, written by compare-and-set. A retry of the
 * same record succeeds (idempotent); any other record for the same NEED is a
 * conflict. Every write is fenced twice: the record's epoch must be the log's
 * current epoch, and its fence token must be the current token of the
 * record's bucket (256 buckets by the first byte of sha256(needId)), so a
 * decider that lost its bucket, or lives in an old epoch, cannot write.
 *
 * Backends: {@linkcode StoreDecideLog} over any `Store` (Deno KV embedded,
 * the simulator's store) and {@linkcode EtcdDecideLog} over etcd.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { SwarmError } from "../errors.ts";
import { EvictionCursor } from "../eviction_cursor.ts";

/** Number of decide buckets. */
export const DECIDE_BUCKETS = 256;

/** A decision: which proposal answers a NEED. */
export interface DecideRecord {
  readonly needId: string;
  readonly proposalId: string;
  /** Epoch the decider believes current; must equal the log's. */
  readonly epoch: number;
  /** Decider's Lamport clock at the decision. */
  readonly lamport: number;
  /** Plan quorum that was reached. */
  readonly kPlan: number;
  /** DID (or node id) of the decider. */
  readonly decider: string;
  /** Fence token of the decider for this need's bucket. */
  readonly fence: number;
  /** Decider's clock in ms (informational). */
  readonly decidedAtMs: number;
  /**
   * When the log may forget the record: the NEED's deadline plus the
   * retention margin (`decideRetentionMs`); each backend deletes it some time
   * after. Absent: kept for good.
   */
  readonly retainUntilMs?: number;
}

/** A fence token: the right to write decisions into one bucket. */
export interface FenceToken {
  readonly bucket: number;
  readonly token: number;
  readonly holder: string;
}

/** A worker's lease on a task, granted by compare-and-set so two can never be live at once (P5). */
export interface LeaseRecord {
  readonly taskId: string;
  /**
   * The NEED of the task: after an AP merge drops one of two leases granted
   * on different sides, RECONCILE names the thread it must be dropped from.
   * Records written before it existed have none.
   */
  readonly needId?: string;
  readonly leaseId: string;
  readonly holder: string;
  readonly grantedAtMs: number;
  readonly expiresAtMs: number;
  /** Epoch of the grant; must be the log's current epoch. */
  readonly epoch: number;
  /**
   * The holder's signed CLAIM under this lease (base64 of the envelope
   * bytes), written with the grant: if the holder dies before publishing
   * it, the lease monitor publishes it for the holder, so the lease runs
   * out and is released like any other instead of holding the task.
   */
  readonly claim?: string;
  /**
   * The holder's signed COMMIT under this lease (base64 of the envelope
   * bytes), written by {@linkcode DecideLog.markCommitted} before it is
   * published: a lease that carries one is no longer released as expired
   * (only by force), so a RELEASE can never overtake a COMMIT made in time.
   */
  readonly commit?: string;
  /**
   * Set by {@linkcode DecideLog.markFinal} before the decider announces the
   * result under this lease final: of two leases an AP merge finds on one
   * task (one per side of a partition), it keeps the final one, so the side
   * that paid the result out is the one that stands.
   */
  readonly final?: true;
  /** When the log may forget the lease (its NEED's deadline plus the retention margin). */
  readonly retainUntilMs?: number;
}

/** Longest signed CLAIM or COMMIT a lease record may carry, base64 characters. */
export const LEASE_ENVELOPE_CHARS_MAX = 16_384;

/** How {@linkcode DecideLog.releaseLease} treats a lease that carries a COMMIT. */
export interface ReleaseOptions {
  /** Release it all the same. */
  readonly force?: boolean;
}

/** Whether `releaseLease` may remove `lease`: it is `leaseId`, and uncommitted unless forced. */
export function releasable(
  lease: LeaseRecord | undefined,
  leaseId: string,
  options: ReleaseOptions | undefined,
): boolean {
  return lease?.leaseId === leaseId && (lease.commit === undefined || options?.force === true);
}

/**
 * The lease renewed to `expiresAtMs`, or undefined when `renewLease` must
 * answer false (the lease is gone or someone else's). A lease that runs to
 * `expiresAtMs` or later already is returned as it is (never shortened).
 */
export function renewed(
  lease: LeaseRecord | undefined,
  leaseId: string,
  expiresAtMs: number,
): LeaseRecord | undefined {
  if (lease === undefined || lease.leaseId !== leaseId) return undefined;
  return lease.expiresAtMs >= expiresAtMs ? lease : { ...lease, expiresAtMs };
}

/**
 * The lease with `commit` written into it, or undefined when
 * `markCommitted` must answer false (the lease is gone, someone else's, or
 * carries another COMMIT). A lease that carries this COMMIT already is
 * returned as it is.
 */
export function withCommit(
  lease: LeaseRecord | undefined,
  leaseId: string,
  commit: string,
): LeaseRecord | undefined {
  if (lease === undefined || lease.leaseId !== leaseId) return undefined;
  if (lease.commit !== undefined) return lease.commit === commit ? lease : undefined;
  return checkLeaseRecord({ ...lease, commit });
}

/**
 * The lease marked final, or undefined when `markFinal` must answer false
 * (the lease is gone or another). A lease marked final already is returned
 * as it is.
 */
export function withFinal(
  lease: LeaseRecord | undefined,
  leaseId: string,
): LeaseRecord | undefined {
  if (lease === undefined || lease.leaseId !== leaseId) return undefined;
  return lease.final === true ? lease : { ...lease, final: true };
}

/** The outcome of {@linkcode DecideLog.tryLease}. */
export type LeaseOutcome =
  | { readonly status: "granted"; readonly lease: LeaseRecord }
  | { readonly status: "held"; readonly existing: LeaseRecord };

/** The outcome of {@linkcode DecideLog.tryDecide}. */
export type DecideOutcome =
  /** This call wrote the decision. */
  | { readonly status: "decided"; readonly record: DecideRecord }
  /** The same record was already written (an idempotent retry). */
  | { readonly status: "already-decided"; readonly record: DecideRecord }
  /** Another decision exists for the need. */
  | { readonly status: "conflict"; readonly existing: DecideRecord };

/** The decide log. */
export interface DecideLog {
  /** Writes `record` unless the need is decided; throws {@linkcode StaleEpochError} / {@linkcode StaleFenceError}. */
  tryDecide(record: DecideRecord): Promise<DecideOutcome>;
  /** The decision for a need, if any. */
  getDecide(needId: string): Promise<DecideRecord | undefined>;
  /** The current epoch (0 until the first advance). */
  currentEpoch(): Promise<number>;
  /** Moves the epoch from `from` to `from + 1`; throws {@linkcode StaleEpochError} if it is not `from`. */
  advanceEpoch(from: number): Promise<number>;
  /** Issues a new fence token for `bucket` to `holder`, invalidating older tokens of that bucket. */
  acquireFence(bucket: number, holder: string): Promise<FenceToken>;
  /** The newest fence token issued for `bucket` (0 when none was): a holder of an older one is fenced out. */
  currentFence(bucket: number): Promise<number>;
  /**
   * The newest fence token of `bucket` with its holder (undefined when none
   * was issued): who may rule on the bucket's NEEDs after a failover.
   */
  fenceHolder(bucket: number): Promise<FenceToken | undefined>;
  /** Grants `lease` unless the task has one (the same lease again is granted: idempotent). */
  tryLease(lease: LeaseRecord): Promise<LeaseOutcome>;
  /** The live lease of a task, if any. */
  getLease(taskId: string): Promise<LeaseRecord | undefined>;
  /**
   * Moves the expiry of the task's lease forward if it is still `leaseId`;
   * false otherwise. A renewal never shortens a lease: one to an earlier time
   * than the lease has (a heartbeat that finished after a later renewal)
   * leaves the later expiry and still answers true.
   */
  renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean>;
  /**
   * Writes the holder's signed COMMIT into the task's lease if it is still
   * `leaseId` (the same COMMIT again answers true: idempotent); false when
   * the lease is gone or someone else's, or carries another COMMIT. The
   * holder publishes its COMMIT only once this answered true.
   */
  markCommitted(taskId: string, leaseId: string, commit: string): Promise<boolean>;
  /**
   * Marks the task's lease final if it is still `leaseId` (again: true);
   * false when the lease is gone or another. The decider announces a
   * FINALIZE only once this answered true: a result is final only under the
   * lease the log holds.
   */
  markFinal(taskId: string, leaseId: string): Promise<boolean>;
  /**
   * Removes the task's lease if it is still `leaseId` and carries no COMMIT
   * (with `force`, even then: its result was rejected, or never arrived);
   * false otherwise.
   */
  releaseLease(taskId: string, leaseId: string, options?: ReleaseOptions): Promise<boolean>;
  /** Releases the backend. */
  close(): Promise<void>;
}

/** Raised when a write carries an epoch other than the current one. */
export class StaleEpochError extends SwarmError {
  constructor(readonly given: number, readonly current: number) {
    super("E_STALE_EPOCH", `Cannot write: epoch ${given} is not the current epoch ${current}`);
  }
}

/** Raised when a write carries a fence token other than its bucket's current one. */
export class StaleFenceError extends SwarmError {
  constructor(readonly bucket: number, readonly given: number, readonly current: number) {
    super(
      "E_STALE_FENCE",
      `Cannot write to bucket ${bucket}: fence ${given} is not the current fence ${current}`,
    );
  }
}

/** Raised for records that cannot be written (missing fields, bad bucket). */
export class DecideRecordError extends SwarmError {
  constructor(message: string) {
    super("E_DECIDE_RECORD", message);
  }
}

/** Raised when the backend keeps losing races past its retry bound. */
export class DecideContentionError extends SwarmError {
  constructor(needId: string, attempts: number) {
    super(
      "E_DECIDE_CONTENTION",
      `Could not settle the decision of ${needId} after ${attempts} attempts`,
    );
  }
}

const bucketCache = new Map<string, number>();
const bucketCacheOldest = new EvictionCursor(bucketCache);
const BUCKET_CACHE_MAX = 100_000;

/**
 * The bucket of a need: the first byte of sha256(needId); also its thread's
 * shard topic. Remembered for the most recent needs (oldest out first), since
 * it is on every message's path.
 */
export function bucketOf(needId: string): number {
  let bucket = bucketCache.get(needId);
  if (bucket !== undefined) return bucket;
  bucket = createHash("sha256").update(needId).digest()[0];
  if (bucketCache.size >= BUCKET_CACHE_MAX) bucketCacheOldest.evict();
  bucketCache.set(needId, bucket);
  return bucket;
}

/** Whether two records are the same decision (an idempotent retry). */
export function sameDecision(left: DecideRecord, right: DecideRecord): boolean {
  return left.needId === right.needId && left.proposalId === right.proposalId &&
    left.epoch === right.epoch &&
    left.lamport === right.lamport && left.kPlan === right.kPlan &&
    left.decider === right.decider &&
    left.fence === right.fence;
}

/** Validates a record before it is written. */
export function checkDecideRecord(record: DecideRecord): DecideRecord {
  for (const key of ["needId", "proposalId", "decider"] as const) {
    if (typeof record[key] !== "string" || record[key].length === 0) {
      throw new DecideRecordError(
        `Decide record ${key} must be a non-empty string, got ${String(record[key])}`,
      );
    }
  }
  for (const key of ["epoch", "lamport", "kPlan", "fence"] as const) {
    if (!Number.isSafeInteger(record[key]) || record[key] < 0) {
      throw new DecideRecordError(
        `Decide record ${key} must be an integer >= 0, got ${String(record[key])}`,
      );
    }
  }
  if (record.lamport < 1) {
    throw new DecideRecordError(`Decide record lamport must be > 0, got ${record.lamport}`);
  }
  if (record.kPlan < 1) {
    throw new DecideRecordError(`Decide record kPlan must be >= 1, got ${record.kPlan}`);
  }
  if (record.fence < 1) {
    throw new DecideRecordError(
      `Decide record fence must be >= 1 (acquire one first), got ${record.fence}`,
    );
  }
  checkRetention("Decide record", record.retainUntilMs);
  return record;
}

/** Validates a lease before it is written. */
export function checkLeaseRecord(lease: LeaseRecord): LeaseRecord {
  for (const key of ["taskId", "leaseId", "holder"] as const) {
    if (typeof lease[key] !== "string" || lease[key].length === 0) {
      throw new DecideRecordError(
        `Lease ${key} must be a non-empty string, got ${String(lease[key])}`,
      );
    }
  }
  if (lease.needId !== undefined && (typeof lease.needId !== "string" || lease.needId === "")) {
    throw new DecideRecordError(`Lease needId must be a non-empty string when given`);
  }
  if (!Number.isSafeInteger(lease.epoch) || lease.epoch < 0) {
    throw new DecideRecordError(`Lease epoch must be an integer >= 0, got ${String(lease.epoch)}`);
  }
  if (!(lease.expiresAtMs > lease.grantedAtMs)) {
    throw new DecideRecordError(
      `Lease must expire after it is granted, got ${lease.grantedAtMs} → ${lease.expiresAtMs}`,
    );
  }
  for (const key of ["claim", "commit"] as const) {
    const envelope = lease[key];
    if (
      envelope !== undefined &&
      (typeof envelope !== "string" || envelope.length === 0 ||
        envelope.length > LEASE_ENVELOPE_CHARS_MAX)
    ) {
      throw new DecideRecordError(
        `Lease ${key} must be a non-empty string of at most ${LEASE_ENVELOPE_CHARS_MAX} characters`,
      );
    }
  }
  if (lease.final !== undefined && lease.final !== true) {
    throw new DecideRecordError(`Lease final must be true when given, got ${String(lease.final)}`);
  }
  checkRetention("Lease", lease.retainUntilMs);
  return lease;
}

/** A retention time, when given, is an integer time in ms. */
function checkRetention(what: string, retainUntilMs: number | undefined): void {
  if (retainUntilMs !== undefined && (!Number.isSafeInteger(retainUntilMs) || retainUntilMs < 0)) {
    throw new DecideRecordError(
      `${what} retainUntilMs must be an integer >= 0, got ${String(retainUntilMs)}`,
    );
  }
}

/** Validates a bucket number. */
export function checkBucket(bucket: number): number {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= DECIDE_BUCKETS) {
    throw new DecideRecordError(
      `Bucket must be an integer in [0, ${DECIDE_BUCKETS}), got ${bucket}`,
    );
  }
  return bucket;
}

/** Bound on compare-and-set retries when racing writers keep changing the keys read. */
export const DECIDE_ATTEMPTS_MAX = 16;

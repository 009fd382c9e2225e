/**
 * The decide log over a {@linkcode Store}: Deno KV's atomic check-and-set on
 * a real node (the embedded default), the simulated disk in simulation. A
 * record with a retention time is written to expire then, and the store
 * deletes it some time after (Deno KV's `expireIn`).
 *
 * @module
 */

import type { Store, StoreEntry, StoreKey } from "./store.ts";
import {
  bucketOf,
  checkBucket,
  checkDecideRecord,
  checkLeaseRecord,
  DECIDE_ATTEMPTS_MAX,
  DecideContentionError,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
  type LeaseOutcome,
  type LeaseRecord,
  releasable,
  type ReleaseOptions,
  renewed,
  sameDecision,
  StaleEpochError,
  StaleFenceError,
  withCommit,
  withFinal,
} from "./decide_log.ts";

const EPOCH_KEY: StoreKey = ["swarm", "epoch"];
const fenceKey = (bucket: number): StoreKey => ["swarm", "fence", bucket];
const decideKey = (needId: string): StoreKey => ["swarm", "decide", bucketOf(needId), needId];
const leaseKey = (taskId: string): StoreKey => ["swarm", "lease", taskId];
const EPOCH_ID = "epoch";
const fenceId = (bucket: number) => `fence:${bucket}`;

/** A {@linkcode DecideLog} on any store with atomic compare-and-set. */
export class StoreDecideLog implements DecideLog {
  readonly #store: Store;
  readonly #ownsStore: boolean;
  /**
   * The last entries seen of the epoch key and the fence keys (null = absent).
   * Writes are attempted against them first, in one atomic commit; when one
   * is out of date the commit fails and the slow path reads everything again.
   */
  readonly #known = new Map<string, StoreEntry<unknown> | null>();

  /** @param ownsStore close the store when the log closes */
  constructor(store: Store, ownsStore = false) {
    this.#store = store;
    this.#ownsStore = ownsStore;
  }

  async tryDecide(record: DecideRecord): Promise<DecideOutcome> {
    checkDecideRecord(record);
    const key = decideKey(record.needId);
    const bucket = bucketOf(record.needId);
    const knownEpoch = this.#known.get(EPOCH_ID) as StoreEntry<number> | null | undefined;
    const knownFence = this.#known.get(fenceId(bucket)) as
      | StoreEntry<{ token: number }>
      | null
      | undefined;
    if (
      knownEpoch !== undefined && knownFence !== undefined &&
      record.epoch === (knownEpoch?.value ?? 0) && record.fence === (knownFence?.value.token ?? 0)
    ) {
      const fast = await this.#store.commit({
        checks: [versionCheck(EPOCH_KEY, knownEpoch), versionCheck(fenceKey(bucket), knownFence), {
          key,
          version: null,
        }],
        sets: [{ key, value: record, expireAtMs: record.retainUntilMs }],
      });
      if (fast.ok) return { status: "decided", record };
    }
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const [epoch, fence, existing] = await Promise.all([
        this.#store.get<number>(EPOCH_KEY),
        this.#store.get<{ token: number }>(fenceKey(bucket)),
        this.#store.get<DecideRecord>(key),
      ]);
      this.#known.set(EPOCH_ID, epoch ?? null);
      this.#known.set(fenceId(bucket), fence ?? null);
      if (existing !== undefined) return settledOutcome(record, existing.value);
      checkFencing(record, bucket, epoch, fence);
      const result = await this.#store.commit({
        checks: [versionCheck(EPOCH_KEY, epoch), versionCheck(fenceKey(bucket), fence), {
          key,
          version: null,
        }],
        sets: [{ key, value: record, expireAtMs: record.retainUntilMs }],
      });
      if (result.ok) return { status: "decided", record };
    }
    throw new DecideContentionError(record.needId, DECIDE_ATTEMPTS_MAX);
  }

  async getDecide(needId: string): Promise<DecideRecord | undefined> {
    return (await this.#store.get<DecideRecord>(decideKey(needId)))?.value;
  }

  async currentEpoch(): Promise<number> {
    return (await this.#store.get<number>(EPOCH_KEY))?.value ?? 0;
  }

  async advanceEpoch(from: number): Promise<number> {
    const entry = await this.#store.get<number>(EPOCH_KEY);
    const current = entry?.value ?? 0;
    if (current !== from) throw new StaleEpochError(from, current);
    const result = await this.#store.commit({
      checks: [versionCheck(EPOCH_KEY, entry)],
      sets: [{ key: EPOCH_KEY, value: from + 1 }],
    });
    if (!result.ok) throw new StaleEpochError(from, await this.currentEpoch());
    this.#known.set(EPOCH_ID, { key: EPOCH_KEY, value: from + 1, version: result.version });
    return from + 1;
  }

  async acquireFence(bucket: number, holder: string): Promise<FenceToken> {
    checkBucket(bucket);
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const entry = await this.#store.get<{ token: number }>(fenceKey(bucket));
      const token = (entry?.value.token ?? 0) + 1;
      const result = await this.#store.commit({
        checks: [versionCheck(fenceKey(bucket), entry)],
        sets: [{ key: fenceKey(bucket), value: { token, holder } }],
      });
      if (!result.ok) continue;
      this.#known.set(fenceId(bucket), {
        key: fenceKey(bucket),
        value: { token, holder },
        version: result.version,
      });
      return { bucket, token, holder };
    }
    throw new DecideContentionError(`fence of bucket ${bucket}`, DECIDE_ATTEMPTS_MAX);
  }

  async currentFence(bucket: number): Promise<number> {
    checkBucket(bucket);
    return (await this.#store.get<{ token: number }>(fenceKey(bucket)))?.value.token ?? 0;
  }

  async fenceHolder(bucket: number): Promise<FenceToken | undefined> {
    checkBucket(bucket);
    const entry = await this.#store.get<{ token: number; holder: string }>(fenceKey(bucket));
    return entry === undefined ? undefined : { bucket, ...entry.value };
  }

  async tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    checkLeaseRecord(lease);
    const knownEpoch = this.#known.get(EPOCH_ID) as StoreEntry<number> | null | undefined;
    if (knownEpoch !== undefined && lease.epoch === (knownEpoch?.value ?? 0)) {
      const fast = await this.#store.commit({
        checks: [versionCheck(EPOCH_KEY, knownEpoch), {
          key: leaseKey(lease.taskId),
          version: null,
        }],
        sets: [{ key: leaseKey(lease.taskId), value: lease, expireAtMs: lease.retainUntilMs }],
      });
      if (fast.ok) return { status: "granted", lease };
    }
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const [epoch, existing] = await Promise.all([
        this.#store.get<number>(EPOCH_KEY),
        this.#store.get<LeaseRecord>(leaseKey(lease.taskId)),
      ]);
      this.#known.set(EPOCH_ID, epoch ?? null);
      if (existing !== undefined) return leaseOutcome(lease, existing.value);
      const currentEpoch = epoch?.value ?? 0;
      if (lease.epoch !== currentEpoch) throw new StaleEpochError(lease.epoch, currentEpoch);
      const result = await this.#store.commit({
        checks: [versionCheck(EPOCH_KEY, epoch), { key: leaseKey(lease.taskId), version: null }],
        sets: [{ key: leaseKey(lease.taskId), value: lease, expireAtMs: lease.retainUntilMs }],
      });
      if (result.ok) return { status: "granted", lease };
    }
    throw new DecideContentionError(`lease of ${lease.taskId}`, DECIDE_ATTEMPTS_MAX);
  }

  async getLease(taskId: string): Promise<LeaseRecord | undefined> {
    return (await this.#store.get<LeaseRecord>(leaseKey(taskId)))?.value;
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
    const entry = await this.#store.get<LeaseRecord>(leaseKey(taskId));
    if (entry === undefined || !releasable(entry.value, leaseId, options)) return false;
    const result = await this.#store.commit({
      checks: [versionCheck(leaseKey(taskId), entry)],
      deletes: [leaseKey(taskId)],
    });
    return result.ok;
  }

  /**
   * Rewrites the task's lease to what `change` makes of it, by
   * compare-and-set: true once written, or when `change` returns the lease
   * as it is; false when it returns undefined. A write that lost to another
   * of the same lease (its holder's heartbeat) is retried.
   */
  async #rewriteLease(
    taskId: string,
    change: (lease: LeaseRecord | undefined) => LeaseRecord | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const entry = await this.#store.get<LeaseRecord>(leaseKey(taskId));
      const next = change(entry?.value);
      if (entry === undefined || next === undefined) return false;
      if (next === entry.value) return true;
      const result = await this.#store.commit({
        checks: [versionCheck(leaseKey(taskId), entry)],
        sets: [{ key: leaseKey(taskId), value: next, expireAtMs: next.retainUntilMs }],
      });
      if (result.ok) return true;
    }
    return false;
  }

  async close(): Promise<void> {
    if (this.#ownsStore) await this.#store.close();
  }
}

function versionCheck(key: StoreKey, entry: StoreEntry<unknown> | null | undefined) {
  return { key, version: entry?.version ?? null };
}

/** The outcome when the task already has a lease. */
export function leaseOutcome(lease: LeaseRecord, existing: LeaseRecord): LeaseOutcome {
  return existing.leaseId === lease.leaseId && existing.holder === lease.holder
    ? { status: "granted", lease: existing }
    : { status: "held", existing };
}

/** The outcome when a decision already exists. */
export function settledOutcome(record: DecideRecord, existing: DecideRecord): DecideOutcome {
  return sameDecision(record, existing)
    ? { status: "already-decided", record: existing }
    : { status: "conflict", existing };
}

/** Throws when the record's epoch or fence is not current. */
export function checkFencing(
  record: DecideRecord,
  bucket: number,
  epoch: { value: number } | undefined,
  fence: { value: { token: number } } | undefined,
): void {
  const currentEpoch = epoch?.value ?? 0;
  if (record.epoch !== currentEpoch) throw new StaleEpochError(record.epoch, currentEpoch);
  const currentFence = fence?.value.token ?? 0;
  if (record.fence !== currentFence) throw new StaleFenceError(bucket, record.fence, currentFence);
}

/**
 * The distributed decide log on etcd (Raft): one transaction per decision
 * that compares the epoch key's value, the bucket's fence key and the
 * decision key's create revision, so a minority partition cannot decide and
 * a deposed decider cannot write. A record with a retention time is put on
 * an etcd lease that runs out no sooner, so etcd deletes it then; records
 * due in the same slot of time share one lease.
 *
 * @module
 */

import { Etcd3, type IOptions } from "etcd3";
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
  StaleEpochError,
  withCommit,
  withFinal,
} from "./decide_log.ts";
import { checkFencing, leaseOutcome, settledOutcome } from "./store_decide_log.ts";
import { SwarmError } from "../errors.ts";
import { type HostDeadline, hostDeadline } from "../host_deadline.ts";

/** Options of {@linkcode EtcdDecideLog.connect}. */
export interface EtcdDecideLogOptions {
  /** Client URLs, e.g. `["http://127.0.0.1:2379"]`. */
  readonly endpoints: readonly string[];
  /** Key prefix, so several swarms can share a cluster. Default `/can-swarm`. */
  readonly prefix?: string;
  /** Per-call timeout. Default 5,000 ms. */
  readonly callTimeoutMs?: number;
  /** Records due within one slot of this length share one etcd lease. Default 60,000 ms. */
  readonly expirySlotMs?: number;
}

/** A record is never put on a lease that runs out sooner than this from now. */
const EXPIRY_MIN_MS = 5_000;

/** Raised when etcd cannot be reached or answers unexpectedly. */
export class EtcdError extends SwarmError {
  constructor(message: string, cause?: unknown) {
    super("E_ETCD", message, { cause });
  }
}

interface KeyValue {
  readonly value: { toString(): string };
  readonly mod_revision: string;
}

/** A {@linkcode DecideLog} on an etcd cluster. */
export class EtcdDecideLog implements DecideLog {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #callTimeoutMs: number;
  readonly #slotMs: number;
  /** The etcd lease of each slot in use, by the slot's end (ms). */
  readonly #slotLeases = new Map<number, Promise<string>>();

  private constructor(client: Etcd3, prefix: string, callTimeoutMs: number, slotMs: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#callTimeoutMs = callTimeoutMs;
    this.#slotMs = slotMs;
  }

  /**
   * Connects and makes sure the epoch key exists.
   *
   * @example
   * ```ts
   * const log = await EtcdDecideLog.connect({ endpoints: ["http://127.0.0.1:2379"] });
   * ```
   */
  static async connect(options: EtcdDecideLogOptions): Promise<EtcdDecideLog> {
    if (options.endpoints.length === 0) {
      throw new EtcdError("At least one etcd endpoint is required");
    }
    const clientOptions: IOptions = {
      hosts: [...options.endpoints],
      dialTimeout: options.callTimeoutMs ?? 5_000,
    };
    const log = new EtcdDecideLog(
      new Etcd3(clientOptions),
      options.prefix ?? "/can-swarm",
      options.callTimeoutMs ?? 5_000,
      options.expirySlotMs ?? 60_000,
    );
    try {
      await log.#call(() =>
        log.#client.if(log.#epochKey, "Create", "==", 0).then(
          log.#client.put(log.#epochKey).value("0"),
        ).commit()
      );
    } catch (error) {
      log.#client.close();
      throw error;
    }
    return log;
  }

  get #epochKey(): string {
    return `${this.#prefix}/epoch`;
  }

  #fenceKey(bucket: number): string {
    return `${this.#prefix}/fence/${bucket.toString(16).padStart(2, "0")}`;
  }

  /** The holder of the bucket's fence, as `{ token, holder }`: written with the fence. */
  #fenceHolderKey(bucket: number): string {
    return `${this.#prefix}/fence-holder/${bucket.toString(16).padStart(2, "0")}`;
  }

  #leaseKey(taskId: string): string {
    return `${this.#prefix}/lease/${taskId}`;
  }

  #decideKey(needId: string): string {
    return `${this.#prefix}/decide/${bucketOf(needId).toString(16).padStart(2, "0")}/${needId}`;
  }

  async tryDecide(record: DecideRecord): Promise<DecideOutcome> {
    checkDecideRecord(record);
    const bucket = bucketOf(record.needId);
    const [epochKey, fenceKey, decideKey] = [
      this.#epochKey,
      this.#fenceKey(bucket),
      this.#decideKey(record.needId),
    ];
    const kv = this.#client;
    const expiry = await this.#leaseUntil(record.retainUntilMs);
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const response = await this.#retained(
        expiry,
        () =>
          kv.if(epochKey, "Value", "==", String(record.epoch))
            .and(fenceKey, "Value", "==", String(record.fence))
            .and(decideKey, "Create", "==", 0)
            .then(this.#put(decideKey, record, expiry))
            .else(kv.get(epochKey), kv.get(fenceKey), kv.get(decideKey))
            .commit(),
      );
      if (response.succeeded) return { status: "decided", record };
      const [epoch, fence, existing] = response.responses.map((op) =>
        op.response_range.kvs[0] as KeyValue | undefined
      );
      if (existing !== undefined) {
        return settledOutcome(record, JSON.parse(existing.value.toString()));
      }
      checkFencing(
        record,
        bucket,
        epoch && { value: Number(epoch.value.toString()) },
        fence && { value: { token: Number(fence.value.toString()) } },
      );
    }
    throw new DecideContentionError(record.needId, DECIDE_ATTEMPTS_MAX);
  }

  async getDecide(needId: string): Promise<DecideRecord | undefined> {
    const text = await this.#call(() => this.#client.get(this.#decideKey(needId)).string());
    return text === null ? undefined : JSON.parse(text);
  }

  async currentEpoch(): Promise<number> {
    return Number(await this.#call(() => this.#client.get(this.#epochKey).string()) ?? 0);
  }

  async advanceEpoch(from: number): Promise<number> {
    const kv = this.#client;
    const response = await this.#call(() =>
      kv.if(this.#epochKey, "Value", "==", String(from)).then(
        kv.put(this.#epochKey).value(String(from + 1)),
      )
        .else(kv.get(this.#epochKey)).commit()
    );
    if (response.succeeded) return from + 1;
    const current = response.responses[0].response_range.kvs[0] as KeyValue | undefined;
    throw new StaleEpochError(from, Number(current?.value.toString() ?? 0));
  }

  async acquireFence(bucket: number, holder: string): Promise<FenceToken> {
    checkBucket(bucket);
    const kv = this.#client;
    const key = this.#fenceKey(bucket);
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const current = (await this.#call(() => kv.get(key).exec())).kvs[0] as KeyValue | undefined;
      const token = Number(current?.value.toString() ?? 0) + 1;
      const guard = current === undefined
        ? kv.if(key, "Create", "==", 0)
        : kv.if(key, "Mod", "==", current.mod_revision);
      const response = await this.#call(() =>
        guard.then(
          kv.put(key).value(String(token)),
          kv.put(this.#fenceHolderKey(bucket)).value(JSON.stringify({ token, holder })),
        ).commit()
      );
      if (response.succeeded) return { bucket, token, holder };
    }
    throw new DecideContentionError(`fence of bucket ${bucket}`, DECIDE_ATTEMPTS_MAX);
  }

  async currentFence(bucket: number): Promise<number> {
    checkBucket(bucket);
    const key = this.#fenceKey(bucket);
    const found = (await this.#call(() => this.#client.get(key).exec())).kvs[0] as
      | KeyValue
      | undefined;
    return Number(found?.value.toString() ?? 0);
  }

  async fenceHolder(bucket: number): Promise<FenceToken | undefined> {
    checkBucket(bucket);
    const key = this.#fenceHolderKey(bucket);
    const text = await this.#call(() => this.#client.get(key).string());
    if (text === null) return undefined;
    const { token, holder } = JSON.parse(text) as { token: number; holder: string };
    return { bucket, token, holder };
  }

  async tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    checkLeaseRecord(lease);
    const kv = this.#client;
    const key = this.#leaseKey(lease.taskId);
    const expiry = await this.#leaseUntil(lease.retainUntilMs);
    const response = await this.#retained(
      expiry,
      () =>
        kv.if(this.#epochKey, "Value", "==", String(lease.epoch)).and(key, "Create", "==", 0)
          .then(this.#put(key, lease, expiry))
          .else(kv.get(this.#epochKey), kv.get(key))
          .commit(),
    );
    if (response.succeeded) return { status: "granted", lease };
    const [epoch, existing] = response.responses.map((op) =>
      op.response_range.kvs[0] as KeyValue | undefined
    );
    if (existing !== undefined) return leaseOutcome(lease, JSON.parse(existing.value.toString()));
    throw new StaleEpochError(lease.epoch, Number(epoch?.value.toString() ?? 0));
  }

  async getLease(taskId: string): Promise<LeaseRecord | undefined> {
    const text = await this.#call(() => this.#client.get(this.#leaseKey(taskId)).string());
    return text === null ? undefined : JSON.parse(text);
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
    const current = await this.#currentLease(taskId);
    if (current === undefined || !releasable(current.lease, leaseId, options)) return false;
    const kv = this.#client;
    const key = this.#leaseKey(taskId);
    const response = await this.#call(() =>
      kv.if(key, "Mod", "==", current.modRevision).then(kv.delete().key(key)).commit()
    );
    return response.succeeded;
  }

  /**
   * Rewrites the task's lease to what `change` makes of it, by
   * compare-and-set on its revision: true once written, or when `change`
   * returns the lease as it is; false when it returns undefined. A write
   * that lost to another of the same lease (its holder's heartbeat) is
   * retried.
   */
  async #rewriteLease(
    taskId: string,
    change: (lease: LeaseRecord | undefined) => LeaseRecord | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const current = await this.#currentLease(taskId);
      const next = change(current?.lease);
      if (current === undefined || next === undefined) return false;
      if (next === current.lease) return true;
      const kv = this.#client;
      const key = this.#leaseKey(taskId);
      const response = await this.#call(() =>
        // On the etcd lease it was put on, if any: a plain put would take it off.
        kv.if(key, "Mod", "==", current.modRevision)
          .then(kv.put(key).value(JSON.stringify(next)).ignoreLease())
          .commit()
      );
      if (response.succeeded) return true;
    }
    return false;
  }

  /**
   * Runs a write that puts records on the etcd lease `expiry`. When it
   * fails, the leases cached for the slots are dropped: etcd may no longer
   * hold the one it named (revoked by hand), and the next write asks again.
   */
  async #retained<T>(expiry: string | undefined, write: () => Promise<T>): Promise<T> {
    try {
      return await this.#call(write);
    } catch (error) {
      if (expiry !== undefined) this.#slotLeases.clear();
      throw error;
    }
  }

  /** A put of `record` at `key`, on the etcd lease `expiry` when there is one. */
  #put(key: string, record: unknown, expiry: string | undefined) {
    const put = this.#client.put(key).value(JSON.stringify(record));
    return expiry === undefined ? put : put.lease(expiry);
  }

  /**
   * The etcd lease for a record kept until `untilMs`: the lease of its slot
   * of time, which runs to the slot's end (granted at the first record due
   * in it). Undefined for a record kept for good.
   */
  #leaseUntil(untilMs: number | undefined): Promise<string> | undefined {
    if (untilMs === undefined) return undefined;
    const nowMs = Date.now();
    const slotEnd = Math.ceil(Math.max(untilMs, nowMs + EXPIRY_MIN_MS) / this.#slotMs) *
      this.#slotMs;
    let lease = this.#slotLeases.get(slotEnd);
    if (lease === undefined) {
      for (const end of this.#slotLeases.keys()) {
        if (end < nowMs + EXPIRY_MIN_MS) this.#slotLeases.delete(end); // runs out too soon
      }
      const ttlSeconds = Math.ceil((slotEnd - nowMs) / 1000) + 1;
      lease = this.#call(() => this.#client.lease(ttlSeconds, { autoKeepAlive: false }).grant());
      this.#slotLeases.set(slotEnd, lease);
      // A failed grant fails its write; the next write asks again.
      lease.catch(() => this.#slotLeases.delete(slotEnd));
    }
    return lease;
  }

  close(): Promise<void> {
    this.#client.close();
    return Promise.resolve();
  }

  async #currentLease(
    taskId: string,
  ): Promise<{ lease: LeaseRecord; modRevision: string } | undefined> {
    const kv = (await this.#call(() => this.#client.get(this.#leaseKey(taskId)).exec())).kvs[0] as
      | KeyValue
      | undefined;
    return kv === undefined
      ? undefined
      : { lease: JSON.parse(kv.value.toString()), modRevision: kv.mod_revision };
  }

  /**
   * Runs an etcd call with a deadline (forgiving this process's own delay:
   * `host_deadline.ts`), wrapping failures in {@linkcode EtcdError}.
   */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    let timer: HostDeadline | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = hostDeadline(
        this.#callTimeoutMs,
        () => reject(new EtcdError(`etcd did not answer within ${this.#callTimeoutMs} ms`)),
      );
    });
    try {
      return await Promise.race([operation(), deadline]);
    } catch (error) {
      if (error instanceof SwarmError) throw error;
      throw new EtcdError(`etcd call failed: ${(error as Error).message}`, error);
    } finally {
      timer?.clear();
    }
  }
}

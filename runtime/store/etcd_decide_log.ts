/**
 * The distributed decide log on etcd (Raft): one transaction per decision
 * that compares the epoch key's value, the bucket's fence key and the
 * decision key's create revision, so a minority partition cannot decide and
 * a deposed decider cannot write.
 *
 * @module
 */

import { Etcd3, type IOptions } from "etcd3";
import {
  bucketOf,
  checkBucket,
  checkDecideRecord,
  checkForget,
  checkLeaseRecord,
  DECIDE_ATTEMPTS_MAX,
  DecideContentionError,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
  type LeaseOutcome,
  type LeaseRecord,
  StaleEpochError,
} from "./decide_log.ts";
import { checkFencing, leaseOutcome, settledOutcome } from "./store_decide_log.ts";
import { SwarmError } from "../errors.ts";

/** Options of {@linkcode EtcdDecideLog.connect}. */
export interface EtcdDecideLogOptions {
  /** Client URLs, e.g. `["http://127.0.0.1:2379"]`. */
  readonly endpoints: readonly string[];
  /** Key prefix, so several swarms can share a cluster. Default `/can-swarm`. */
  readonly prefix?: string;
  /** Per-call timeout. Default 5,000 ms. */
  readonly callTimeoutMs?: number;
}

/** Raised when etcd cannot be reached or answers unexpectedly. */
export class EtcdError extends SwarmError {
  constructor(message: string, cause?: unknown) {
    super("E_ETCD", message, { cause });
  }
}

/**
 * Records forgotten per transaction (two deletes each): etcd refuses
 * transactions of more than `--max-txn-ops` operations, 128 by default.
 */
const FORGET_PAIRS_PER_TXN = 64;

/** A time as fixed-width text, so the retention index sorts by time. */
function timeText(ms: number): string {
  return String(ms).padStart(16, "0");
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

  private constructor(client: Etcd3, prefix: string, callTimeoutMs: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#callTimeoutMs = callTimeoutMs;
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

  #leaseKey(taskId: string): string {
    return `${this.#prefix}/lease/${taskId}`;
  }

  /** The retention index of a bucket: entries `<time>/<record key>` whose value is the record key. */
  #retainIndex(bucket: number): string {
    return `${this.#prefix}/retain/${bucket.toString(16).padStart(2, "0")}/`;
  }

  /** The put of a record at `key`, with its retention entry when it has a retention time. */
  #retainedPuts(bucket: number, key: string, record: unknown, untilMs: number | undefined) {
    const put = this.#client.put(key).value(JSON.stringify(record));
    if (untilMs === undefined) return [put];
    const entry = `${this.#retainIndex(bucket)}${timeText(untilMs)}/${key}`;
    return [put, this.#client.put(entry).value(key)];
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
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const response = await this.#call(() =>
        kv.if(epochKey, "Value", "==", String(record.epoch))
          .and(fenceKey, "Value", "==", String(record.fence))
          .and(decideKey, "Create", "==", 0)
          .then(...this.#retainedPuts(bucket, decideKey, record, record.retainUntilMs))
          .else(kv.get(epochKey), kv.get(fenceKey), kv.get(decideKey))
          .commit()
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
        guard.then(kv.put(key).value(String(token))).commit()
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

  async tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    checkLeaseRecord(lease);
    const kv = this.#client;
    const key = this.#leaseKey(lease.taskId);
    const response = await this.#call(() =>
      kv.if(this.#epochKey, "Value", "==", String(lease.epoch)).and(key, "Create", "==", 0)
        .then(...this.#retainedPuts(bucketOf(lease.taskId), key, lease, lease.retainUntilMs))
        .else(kv.get(this.#epochKey), kv.get(key))
        .commit()
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

  async renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    // A write that lost to another renewal of the same lease (its holder's heartbeat) is retried:
    // only a lease that is gone or someone else's is reported lost.
    for (let attempt = 0; attempt < DECIDE_ATTEMPTS_MAX; attempt++) {
      const current = await this.#currentLease(taskId);
      if (current === undefined || current.lease.leaseId !== leaseId) return false;
      const kv = this.#client;
      const key = this.#leaseKey(taskId);
      const renewed = JSON.stringify({ ...current.lease, expiresAtMs });
      const response = await this.#call(() =>
        kv.if(key, "Mod", "==", current.modRevision).then(kv.put(key).value(renewed)).commit()
      );
      if (response.succeeded) return true;
    }
    return false;
  }

  async releaseLease(taskId: string, leaseId: string): Promise<boolean> {
    const current = await this.#currentLease(taskId);
    if (current === undefined || current.lease.leaseId !== leaseId) return false;
    const kv = this.#client;
    const key = this.#leaseKey(taskId);
    const response = await this.#call(() =>
      kv.if(key, "Mod", "==", current.modRevision).then(kv.delete().key(key)).commit()
    );
    return response.succeeded;
  }

  async forget(bucket: number, cutoffMs: number, limit?: number): Promise<number> {
    const bound = checkForget(bucket, cutoffMs, limit);
    const index = this.#retainIndex(bucket);
    const end = `${index}${timeText(Math.floor(cutoffMs) + 1)}`;
    const due = Object.entries(
      await this.#call(() =>
        this.#client.getAll().inRange({ start: index, end }).sort("Key", "Ascend").limit(bound)
          .strings()
      ),
    );
    const kv = this.#client;
    let forgotten = 0;
    for (let first = 0; first < due.length; first += FORGET_PAIRS_PER_TXN) {
      const batch = due.slice(first, first + FORGET_PAIRS_PER_TXN);
      // Only while the batch's first entry is still there: a second sweeper of the bucket that
      // got here first has forgotten the batch already.
      const response = await this.#call(() =>
        kv.if(batch[0][0], "Create", ">", 0)
          .then(
            ...batch.flatMap((
              [entry, record],
            ) => [kv.delete().key(record), kv.delete().key(entry)]),
          )
          .commit()
      );
      if (response.succeeded) forgotten += batch.length;
    }
    return forgotten;
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

  /** Runs an etcd call with a deadline, wrapping failures in {@linkcode EtcdError}. */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EtcdError(`etcd did not answer within ${this.#callTimeoutMs} ms`)),
        this.#callTimeoutMs,
      );
    });
    try {
      return await Promise.race([operation(), deadline]);
    } catch (error) {
      if (error instanceof SwarmError) throw error;
      throw new EtcdError(`etcd call failed: ${(error as Error).message}`, error);
    } finally {
      clearTimeout(timer);
    }
  }
}

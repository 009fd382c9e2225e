/**
 * The decide log of a `run node --consensus ap` process: its own replica
 * (an {@linkcode ApReplica} over Deno KV in its data directory), kept
 * consistent with its peers' while they are connected, forking when a
 * partition separates them and merging when it heals.
 *
 * Why it stays consistent while connected: every write for a bucket
 * (decide, fence, lease and its renewals and release) goes to one node, the
 * bucket's home (its owner, or the borrower of an owner out of reach, see
 * `_ap_lending.ts`), which applies it to its replica with the usual
 * compare-and-set and fence checks; a write is therefore decided in exactly
 * one place, as with etcd. Leases are keyed by the bucket of their task id.
 * The home replicates each decision and fence it writes (`ap-push`) to
 * every connected peer, so a peer that checks a DECIDE (the node core
 * accepts one only once its log holds it) finds it locally; a peer that
 * misses it asks the home. A peer that was away (a partition, a restart)
 * pulls the replica of each node it reconnects with (`ap-sync`, paged) and
 * merges it with `mergeOnHeal`: the highest (epoch, lamport, decider) wins
 * each NEED, fences and the epoch take their maximum.
 *
 * During a partition each side has its own homes, so both sides keep
 * deciding (AP); what they decided differently is reported by the merge as
 * conflicts and orphaned branches.
 *
 * @module
 */

import { SwarmError } from "../runtime/errors.ts";
import type { WireValue } from "../runtime/wire.ts";
import {
  bucketOf,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
  type LeaseOutcome,
  type LeaseRecord,
  type ReleaseOptions,
} from "../runtime/store/decide_log.ts";
import {
  type ApReplica,
  type ReplicaAbsorb,
  type ReplicaSnapshot,
} from "../protocols/consensus/ap_replica.ts";
import {
  AP_METHODS,
  AP_PUSH_MAX,
  type ApCall,
  ApRequestError,
  type ApSyncPage,
  bucketOfCall,
  decodeApError,
  encodeApError,
  parseApCall,
  parseFence,
  parseSnapshot,
  parseSyncPage,
  parseSyncRequest,
  syncPage,
} from "./_ap_wire.ts";

/** How a node's AP log reaches its peers (the libp2p transport, or a test's wiring). */
export interface ApNetwork {
  /** This node's id. */
  readonly self: string;
  /** Calls `method` on node `node`; rejects when it cannot. */
  call(node: string, method: string, body: WireValue): Promise<WireValue>;
  /** Node ids of the members this node is connected to now. */
  connected(): readonly string[];
}

/** Counters of a node's AP log (served on /health and /decisions). */
export interface ApStats {
  /** Calls served as the home of a bucket. */
  served: number;
  /** Requests refused, by error code (malformed bodies, non-members, not the home). */
  rejected: Record<string, number>;
  /** Pushes sent, and those that failed. */
  pushes: number;
  pushFailures: number;
  /** Replica pages pulled from peers. */
  syncs: number;
  /** Decisions taken from peers (new NEEDs, or winners over this node's). */
  adopted: number;
  /** NEEDs decided differently on different sides, and the decisions that lost. */
  conflicts: number;
  orphaned: number;
  leaseConflicts: number;
}

/** Raised when a call reaches a node that is not the home of the bucket (the caller retries). */
export class ApNotHomeError extends SwarmError {
  constructor(bucket: number, home: string) {
    super("E_AP_NOT_HOME", `Bucket ${bucket} is decided at ${home} now, not here`);
  }
}

/** Options of {@linkcode ApDecideLog}. */
export interface ApDecideLogOptions {
  /** The node holding each bucket now (see `_ap_lending.ts`). */
  readonly homeOf: (bucket: number) => string;
  /** Whether a caller (by node id) is a member; non-members are refused. Default: everyone. */
  readonly isMember?: (node: string | undefined) => boolean;
  /** Sees every merge of a peer's records into this replica. */
  readonly onAbsorb?: (result: ReplicaAbsorb, from: string) => void;
}

/** A node's AP decide log (see the module documentation). */
export class ApDecideLog implements DecideLog {
  readonly replica: ApReplica;
  readonly stats: ApStats = {
    served: 0,
    rejected: {},
    pushes: 0,
    pushFailures: 0,
    syncs: 0,
    adopted: 0,
    conflicts: 0,
    orphaned: 0,
    leaseConflicts: 0,
  };
  readonly #network: ApNetwork;
  readonly #options: ApDecideLogOptions;
  /** Writes waiting for the next push (one push per peer carries a batch). */
  readonly #outgoing = { fences: new Map<number, FenceToken>(), decisions: [] as DecideRecord[] };
  #flush: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(replica: ApReplica, network: ApNetwork, options: ApDecideLogOptions) {
    this.replica = replica;
    this.#network = network;
    this.#options = options;
  }

  async tryDecide(record: DecideRecord): Promise<DecideOutcome> {
    const bucket = bucketOf(record.needId);
    const [outcome, remote] = await this.#route<DecideOutcome>(
      bucket,
      { op: "decide", record },
      () => this.replica.tryDecide(record),
    );
    const kept = outcome.status === "conflict" ? outcome.existing : outcome.record;
    if (remote) await this.#absorb({ ...EMPTY, decisions: [kept] }, this.#network.self);
    else if (outcome.status === "decided") this.#push({ ...EMPTY, decisions: [kept] });
    return outcome;
  }

  async getDecide(needId: string): Promise<DecideRecord | undefined> {
    const local = await this.replica.getDecide(needId);
    if (local !== undefined) return local;
    const home = this.#options.homeOf(bucketOf(needId));
    if (home === this.#network.self) return undefined;
    const record = await this.#remote<DecideRecord | undefined>(home, { op: "get", needId });
    if (record === undefined || record === null) return undefined;
    await this.#absorb({ ...EMPTY, decisions: [record] }, home);
    return await this.replica.getDecide(needId);
  }

  currentEpoch(): Promise<number> {
    return this.replica.currentEpoch();
  }

  async advanceEpoch(from: number): Promise<number> {
    const epoch = await this.replica.advanceEpoch(from);
    this.#push({ ...EMPTY, epoch });
    return epoch;
  }

  async acquireFence(bucket: number, holder: string): Promise<FenceToken> {
    const call = { op: "fence", bucket, holder } as const;
    const [token, remote] = await this.#route(bucket, call, () => {
      return this.replica.acquireFence(bucket, holder);
    });
    if (remote) await this.#absorb({ ...EMPTY, fences: [token] }, this.#network.self);
    else this.#push({ ...EMPTY, fences: [token] });
    return token;
  }

  async currentFence(bucket: number): Promise<number> {
    const call = { op: "current-fence", bucket } as const;
    return (await this.#route(bucket, call, () => this.replica.currentFence(bucket)))[0];
  }

  async fenceHolder(bucket: number): Promise<FenceToken | undefined> {
    const call = { op: "fence-holder", bucket } as const;
    const local = () => this.replica.fenceHolder(bucket);
    const [token, remote] = await this.#route<FenceToken | undefined | null>(bucket, call, local);
    if (token === undefined || token === null) return undefined;
    return remote ? parseFence(token) : token;
  }

  async tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    const call = { op: "lease", lease } as const;
    return (await this.#route(bucketOf(lease.taskId), call, () => this.replica.tryLease(lease)))[0];
  }

  async getLease(taskId: string): Promise<LeaseRecord | undefined> {
    const call = { op: "get-lease", taskId } as const;
    const [lease] = await this.#route(bucketOf(taskId), call, () => this.replica.getLease(taskId));
    return lease ?? undefined;
  }

  async renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    const call = { op: "renew", taskId, leaseId, expiresAtMs } as const;
    const renew = () => this.replica.renewLease(taskId, leaseId, expiresAtMs);
    return (await this.#route(bucketOf(taskId), call, renew))[0];
  }

  async markCommitted(taskId: string, leaseId: string, commit: string): Promise<boolean> {
    const call = { op: "mark", taskId, leaseId, commit } as const;
    const mark = () => this.replica.markCommitted(taskId, leaseId, commit);
    return (await this.#route(bucketOf(taskId), call, mark))[0];
  }

  async markFinal(taskId: string, leaseId: string): Promise<boolean> {
    const call = { op: "final", taskId, leaseId } as const;
    const mark = () => this.replica.markFinal(taskId, leaseId);
    return (await this.#route(bucketOf(taskId), call, mark))[0];
  }

  async releaseLease(taskId: string, leaseId: string, options?: ReleaseOptions): Promise<boolean> {
    const force = options?.force === true;
    const call = { op: "release", taskId, leaseId, ...(force ? { force } : {}) } as const;
    const release = () => this.replica.releaseLease(taskId, leaseId, options);
    return (await this.#route(bucketOf(taskId), call, release))[0];
  }

  /** Stops pushes and calls to peers (a stopping node must not wait on them), then the replica. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#flush !== undefined) clearTimeout(this.#flush);
    this.#flush = undefined;
    return this.replica.close();
  }

  /** Serves `ap-call`: one decide-log call for a bucket this node is the home of. */
  async serveCall(body: WireValue, caller: string | undefined): Promise<WireValue> {
    const call = this.#accept(caller, () => parseApCall(body));
    const bucket = bucketOfCall(call);
    const home = this.#options.homeOf(bucket);
    try {
      // Reads of decisions are served by any replica; everything else by the home only.
      if (call.op !== "get" && home !== this.#network.self) throw new ApNotHomeError(bucket, home);
      const value = await this.#apply(call);
      this.stats.served++;
      return { ok: true, value: value as WireValue };
    } catch (error) {
      if (error instanceof ApNotHomeError) this.#count(error.code);
      return { ok: false, error: encodeApError(error) };
    }
  }

  /** Serves `ap-push`: absorbs what a home replicated. */
  async servePush(body: WireValue, caller: string | undefined): Promise<WireValue> {
    const snapshot = this.#accept(caller, () => parseSnapshot(body));
    await this.#absorb(snapshot, caller as string);
    return null;
  }

  /** Serves `ap-sync`: one page of this replica after the cursor. */
  serveSync(body: WireValue, caller: string | undefined): WireValue {
    const after = this.#accept(caller, () => parseSyncRequest(body));
    return syncPage(this.replica.snapshot(), after) as unknown as WireValue;
  }

  /**
   * Pulls node `node`'s whole replica, page by page, and merges it into this
   * one. Resolves with what the pages changed, summed.
   */
  async syncWith(node: string): Promise<{ adopted: number; conflicts: number }> {
    let after: string | null = null;
    const total = { adopted: 0, conflicts: 0 };
    for (let page = 0; page < 10_000; page++) {
      const reply = await this.#network.call(node, AP_METHODS.sync, { after });
      const parsed: ApSyncPage = parseSyncPage(reply);
      this.stats.syncs++;
      const result = await this.#absorb(parsed, node);
      total.adopted += result.adopted;
      total.conflicts += result.decisions.conflicts.length;
      if (parsed.next === null) break;
      after = parsed.next;
    }
    return total;
  }

  /** Runs one call against the home replica: here, or at the home node. */
  async #route<T>(
    bucket: number,
    call: ApCall,
    local: () => Promise<T>,
  ): Promise<[T, boolean]> {
    const home = this.#options.homeOf(bucket);
    if (home === this.#network.self) return [await local(), false];
    return [await this.#remote<T>(home, call), true];
  }

  /**
   * Calls the home. A call whose reply was lost (a timeout under load, a
   * stream reset) is sent again, identical: decisions and leases are
   * idempotent for the same record, so a write that landed is confirmed
   * rather than refused as held by a later, different attempt of the caller.
   */
  async #remote<T>(home: string, call: ApCall): Promise<T> {
    let reply: WireValue;
    for (let attempt = 1;; attempt++) {
      if (this.#closed) throw new ApRequestError("The AP decide log is closed", "E_AP_CLOSED");
      try {
        reply = await this.#network.call(home, AP_METHODS.call, call as unknown as WireValue);
        break;
      } catch (error) {
        if (attempt >= REMOTE_ATTEMPTS || this.#closed) throw error;
        await new Promise((resolve) => setTimeout(resolve, REMOTE_RETRY_MS * attempt));
      }
    }
    const answer = reply as { ok?: unknown; value?: unknown; error?: unknown } | null;
    if (answer?.ok === true) return answer.value as T;
    throw decodeApError(answer?.error);
  }

  #apply(call: ApCall): Promise<unknown> {
    const replica = this.replica;
    switch (call.op) {
      case "decide":
        return this.tryDecide(call.record);
      case "get":
        return replica.getDecide(call.needId).then((record) => record ?? null);
      case "fence":
        return this.acquireFence(call.bucket, call.holder);
      case "current-fence":
        return replica.currentFence(call.bucket);
      case "fence-holder":
        return replica.fenceHolder(call.bucket).then((token) => token ?? null);
      case "lease":
        return replica.tryLease(call.lease);
      case "get-lease":
        return replica.getLease(call.taskId).then((lease) => lease ?? null);
      case "renew":
        return replica.renewLease(call.taskId, call.leaseId, call.expiresAtMs);
      case "mark":
        return replica.markCommitted(call.taskId, call.leaseId, call.commit);
      case "final":
        return replica.markFinal(call.taskId, call.leaseId);
      case "release":
        return replica.releaseLease(call.taskId, call.leaseId, { force: call.force === true });
    }
  }

  /** Checks the caller and parses its body; refusals are counted and thrown (typed). */
  #accept<T>(caller: string | undefined, parse: () => T): T {
    try {
      if (this.#options.isMember !== undefined && !this.#options.isMember(caller)) {
        throw new ApRequestError(
          `Node ${caller ?? "(unknown)"} is not a member`,
          "E_AP_NOT_MEMBER",
        );
      }
      return parse();
    } catch (error) {
      this.#count(error instanceof SwarmError ? error.code : "E_AP_REQUEST");
      throw error;
    }
  }

  async #absorb(snapshot: ReplicaSnapshot, from: string): Promise<ReplicaAbsorb> {
    const result = await this.replica.absorb(snapshot);
    this.stats.adopted += result.adopted;
    this.stats.conflicts += result.decisions.conflicts.length;
    this.stats.orphaned += result.decisions.orphaned.length;
    this.stats.leaseConflicts += result.leaseConflicts.length;
    this.#options.onAbsorb?.(result, from);
    return result;
  }

  /**
   * Replicates what this home wrote to every connected peer, batched over
   * `PUSH_DELAY_MS` (a decider fencing 128 buckets makes one push per peer,
   * not 128). Best effort: a peer that misses a push pulls the records when
   * it reconnects, or asks the home when it needs one.
   */
  #push(snapshot: ReplicaSnapshot): void {
    for (const token of snapshot.fences) this.#outgoing.fences.set(token.bucket, token);
    this.#outgoing.decisions.push(...snapshot.decisions);
    this.#flush ??= setTimeout(() => this.#flushPushes(), PUSH_DELAY_MS);
  }

  #flushPushes(): void {
    this.#flush = undefined;
    if (this.#closed) return;
    const decisions = this.#outgoing.decisions.splice(0, AP_PUSH_MAX);
    const fences = [...this.#outgoing.fences.values()];
    this.#outgoing.fences.clear();
    const body = { epoch: this.replica.epochNow, fences, decisions, leases: [] };
    for (const node of this.#network.connected()) {
      this.stats.pushes++;
      this.#network.call(node, AP_METHODS.push, body as unknown as WireValue)
        .catch(() => this.stats.pushFailures++);
    }
    if (this.#outgoing.decisions.length > 0) {
      this.#flush = setTimeout(() => this.#flushPushes(), PUSH_DELAY_MS);
    }
  }

  #count(code: string): void {
    this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + 1;
  }
}

/** Sends of one call to its home before the caller sees the failure. */
const REMOTE_ATTEMPTS = 3;
/** Pause before the second send (doubled before the third). */
const REMOTE_RETRY_MS = 150;

/** How long writes gather before they are pushed. */
const PUSH_DELAY_MS = 10;

const EMPTY: ReplicaSnapshot = { epoch: 0, fences: [], decisions: [], leases: [] };

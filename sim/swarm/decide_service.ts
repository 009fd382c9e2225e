/**
 * The decide service of a simulated swarm, in its two modes, as each node
 * reaches it through its own {@linkcode DecideLog} handle that records every
 * call in the history.
 *
 * CP (etcd-like): one decide log (the embedded `StoreDecideLog` over the
 * simulated disk). It behaves like a consensus cluster with one member per
 * node: a node's call succeeds only while that node reaches a strict
 * majority of the nodes, so the minority side of a partition cannot decide.
 *
 * AP: one {@linkcode ApReplica} per side of a partition. A partition forks
 * the replica its nodes share; a heal merges every replica into one, the
 * highest decision winning for each NEED. A side always reaches its own
 * replica.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";
import {
  bucketOf,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
  type LeaseOutcome,
  type LeaseRecord,
  type ReleaseOptions,
  StaleEpochError,
  StaleFenceError,
} from "../../runtime/store/decide_log.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import type { ProtocolMutations } from "../../protocols/lifecycle/mutations.ts";
import { ApReplica, type ReplicaMerge } from "../../protocols/consensus/ap_replica.ts";
import type { History, LogDetail, LogOutcome, NewHistoryEvent } from "./history.ts";
import type { DecideMode } from "./scenario.ts";

/** Raised when a node cannot reach the decide service (the minority side in CP mode). */
export class DecideUnavailableError extends SwarmError {
  constructor(node: string) {
    super("E_DECIDE_UNAVAILABLE", `Node ${node} cannot reach a majority of the decide service`);
  }
}

/** A decide log and what it knows synchronously (for the history). */
interface Backend {
  readonly name: string;
  readonly log: DecideLog;
  epochNow(): number;
  fenceNow(bucket: number): number;
}

/** The CP backend, which can also count what its store holds. */
interface CpBackend extends Backend {
  held(): Promise<{ decisions: number; leases: number }>;
}

/** Records counted by {@linkcode DecideService.held}, at most. */
const HELD_COUNT_MAX = 10_000_000;

/** Options of {@linkcode DecideService}. */
export interface DecideServiceOptions {
  readonly mode: DecideMode;
  readonly history: History;
  /** Whether `node` can currently reach the CP service. */
  readonly reachable: (node: string) => boolean;
  readonly mutations?: ProtocolMutations;
  /**
   * The service's own clock, ms (a real etcd or Deno KV expires records on
   * its host's): records past their retention are forgotten on it. Without
   * it nothing is forgotten.
   */
  readonly nowMs?: () => number;
}

/** The simulated decide service (see the module documentation). */
export class DecideService {
  readonly mode: DecideMode;
  readonly #options: DecideServiceOptions;
  readonly #cp: CpBackend | undefined;
  readonly #replicaOf = new Map<string, ApReplica>();
  #apRoot: ApReplica;
  #forks = 0;

  constructor(options: DecideServiceOptions) {
    this.mode = options.mode;
    this.#options = options;
    this.#apRoot = new ApReplica("ap-0", undefined, options.nowMs);
    this.#cp = options.mode === "cp" ? cpBackend(options.nowMs) : undefined;
  }

  /** The handle node `node` uses. */
  forNode(node: string): DecideLog {
    return new RecordingDecideLog(node, this, this.#options);
  }

  /** The backend serving `node` now; throws {@linkcode DecideUnavailableError}. */
  backendFor(node: string): Backend {
    if (this.#cp !== undefined) {
      if (!this.#options.reachable(node)) throw new DecideUnavailableError(node);
      return this.#cp;
    }
    const replica = this.#replicaOf.get(node) ?? this.#apRoot;
    return {
      name: replica.name,
      log: replica,
      epochNow: () => replica.epochNow,
      fenceNow: (bucket) => replica.fenceNow(bucket),
    };
  }

  /**
   * AP: each connected side writes its own fork from now on. A partition over
   * a partition first merges the sides before, as a heal would, and returns
   * that merge: its conflicts must be reconciled like a heal's. CP: nothing
   * changes.
   */
  onPartition(sides: readonly (readonly string[])[]): ReplicaMerge | undefined {
    if (this.#cp !== undefined) return undefined;
    const replicas = this.#distinctReplicas();
    const merge = replicas.length > 1
      ? ApReplica.merge(`ap-${++this.#forks}`, replicas)
      : undefined;
    const merged = merge?.replica ?? replicas[0];
    for (const side of sides) {
      const fork = merged.fork(`ap-${++this.#forks}`);
      for (const node of side) this.#replicaOf.set(node, fork);
    }
    return merge;
  }

  /** AP: merges every side's replica into one and returns the merge; CP: undefined. */
  onHeal(): ReplicaMerge | undefined {
    if (this.#cp !== undefined) return undefined;
    const replicas = this.#distinctReplicas();
    const merge = ApReplica.merge(`ap-${++this.#forks}`, replicas);
    this.#apRoot = merge.replica;
    this.#replicaOf.clear();
    return merge;
  }

  /**
   * What the service still holds: its decisions and leases (in AP mode, the
   * most any replica holds). Records past their retention are not counted.
   */
  async held(): Promise<{ decisions: number; leases: number }> {
    if (this.#cp !== undefined) return await this.#cp.held();
    let decisions = 0;
    let leases = 0;
    for (const replica of this.#distinctReplicas()) {
      decisions = Math.max(decisions, replica.decisionsNow().length);
      leases = Math.max(leases, replica.leaseCount);
    }
    return { decisions, leases };
  }

  #distinctReplicas(): ApReplica[] {
    const replicas = new Set<ApReplica>([this.#apRoot, ...this.#replicaOf.values()]);
    if (this.#replicaOf.size > 0 && ![...this.#replicaOf.values()].includes(this.#apRoot)) {
      // Once every node has a fork, the root is history: it must not win merges again.
      replicas.delete(this.#apRoot);
    }
    return [...replicas];
  }
}

/** The CP backend: the embedded decide log, with its epoch and fences tracked for histories. */
function cpBackend(nowMs: (() => number) | undefined): CpBackend {
  const store = new MemoryStore({ nowMs });
  const log = new StoreDecideLog(store);
  let epoch = 0;
  const fences = new Map<number, number>();
  const tracked: DecideLog = {
    tryDecide: (record) => log.tryDecide(record),
    getDecide: (needId) => log.getDecide(needId),
    currentEpoch: () => log.currentEpoch(),
    advanceEpoch: async (from) => (epoch = Math.max(epoch, await log.advanceEpoch(from))),
    acquireFence: async (bucket, holder) => {
      const token = await log.acquireFence(bucket, holder);
      fences.set(bucket, Math.max(fences.get(bucket) ?? 0, token.token));
      return token;
    },
    currentFence: (bucket) => log.currentFence(bucket),
    fenceHolder: (bucket) => log.fenceHolder(bucket),
    tryLease: (lease) => log.tryLease(lease),
    getLease: (taskId) => log.getLease(taskId),
    renewLease: (taskId, leaseId, expiresAtMs) => log.renewLease(taskId, leaseId, expiresAtMs),
    markCommitted: (taskId, leaseId, commit) => log.markCommitted(taskId, leaseId, commit),
    markFinal: (taskId, leaseId) => log.markFinal(taskId, leaseId),
    releaseLease: (taskId, leaseId, options) => log.releaseLease(taskId, leaseId, options),
    close: () => log.close(),
  };
  const count = async (kind: string) =>
    (await store.list(["swarm", kind], { limit: HELD_COUNT_MAX })).length;
  return {
    name: "cp",
    log: tracked,
    epochNow: () => epoch,
    fenceNow: (b) => fences.get(b) ?? 0,
    held: async () => ({ decisions: await count("decide"), leases: await count("lease") }),
  };
}

/** One node's handle on the service: every call is recorded; mutations bend the rules. */
class RecordingDecideLog implements DecideLog {
  constructor(
    readonly node: string,
    readonly service: DecideService,
    readonly options: DecideServiceOptions,
  ) {}

  async tryDecide(record: DecideRecord): Promise<DecideOutcome> {
    return await this.#call<DecideOutcome>(
      (backend) => ({ op: "decide", record, logFence: backend.fenceNow(bucketOf(record.needId)) }),
      async (backend) => {
        const bucket = bucketOf(record.needId);
        const stale = record.epoch !== backend.epochNow() ||
          record.fence !== backend.fenceNow(bucket);
        if (!stale || this.options.mutations?.fencingOff !== true) {
          const outcome = await backend.log.tryDecide(record);
          return [outcome, outcome.status];
        }
        const current = { ...record, epoch: backend.epochNow(), fence: backend.fenceNow(bucket) };
        const outcome = await backend.log.tryDecide(current);
        if (outcome.status === "conflict") return [outcome, "conflict"];
        return [{ status: "decided", record }, "forced"];
      },
    );
  }

  async getDecide(needId: string): Promise<DecideRecord | undefined> {
    return await this.service.backendFor(this.node).log.getDecide(needId);
  }

  async currentEpoch(): Promise<number> {
    return await this.service.backendFor(this.node).log.currentEpoch();
  }

  async advanceEpoch(from: number): Promise<number> {
    return await this.#call(
      () => ({ op: "epoch", from, to: from + 1 }),
      async (backend) => [await backend.log.advanceEpoch(from), "ok"],
    );
  }

  async acquireFence(bucket: number, holder: string): Promise<FenceToken> {
    let token = 0;
    return await this.#call(
      () => ({ op: "fence", bucket, token }),
      async (backend) => {
        const acquired = await backend.log.acquireFence(bucket, holder);
        token = acquired.token;
        return [acquired, "ok"];
      },
    );
  }

  async currentFence(bucket: number): Promise<number> {
    return await this.service.backendFor(this.node).log.currentFence(bucket);
  }

  async fenceHolder(bucket: number): Promise<FenceToken | undefined> {
    return await this.service.backendFor(this.node).log.fenceHolder(bucket);
  }

  async tryLease(lease: LeaseRecord): Promise<LeaseOutcome> {
    return await this.#call<LeaseOutcome>(
      () => ({ op: "lease", lease }),
      async (backend) => {
        const mutations = this.options.mutations;
        const staleEpoch = lease.epoch !== backend.epochNow();
        const asked = staleEpoch && mutations?.fencingOff === true
          ? { ...lease, epoch: backend.epochNow() }
          : lease;
        const outcome = await backend.log.tryLease(asked);
        if (outcome.status === "held" && mutations?.leaseCheckOff === true) {
          return [{ status: "granted", lease }, "forced"];
        }
        if (outcome.status === "held") return [outcome, "held"];
        return [{ status: "granted", lease }, asked === lease ? "granted" : "forced"];
      },
    );
  }

  async getLease(taskId: string): Promise<LeaseRecord | undefined> {
    return await this.service.backendFor(this.node).log.getLease(taskId);
  }

  async renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    return await this.#call(
      () => ({ op: "renew", taskId, leaseId, expiresAtMs }),
      async (backend) => {
        const ok = await backend.log.renewLease(taskId, leaseId, expiresAtMs);
        return [ok, ok ? "ok" : "refused"];
      },
    );
  }

  async markCommitted(taskId: string, leaseId: string, commit: string): Promise<boolean> {
    return await this.#call(
      () => ({ op: "mark", taskId, leaseId }),
      async (backend) => {
        const ok = await backend.log.markCommitted(taskId, leaseId, commit);
        return [ok, ok ? "ok" : "refused"];
      },
    );
  }

  async markFinal(taskId: string, leaseId: string): Promise<boolean> {
    return await this.#call(
      () => ({ op: "final", taskId, leaseId }),
      async (backend) => {
        const ok = await backend.log.markFinal(taskId, leaseId);
        return [ok, ok ? "ok" : "refused"];
      },
    );
  }

  async releaseLease(taskId: string, leaseId: string, options?: ReleaseOptions): Promise<boolean> {
    return await this.#call(
      () => ({ op: "release", taskId, leaseId }),
      async (backend) => {
        const ok = await backend.log.releaseLease(taskId, leaseId, options);
        return [ok, ok ? "ok" : "refused"];
      },
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Runs a call against the node's backend and records it, whatever the outcome. */
  async #call<T>(
    describe: (backend: Backend) => LogDetail,
    body: (backend: Backend) => Promise<[T, LogOutcome]>,
  ): Promise<T> {
    let backend: Backend | undefined;
    let logEpoch = 0;
    let detail: LogDetail | undefined;
    try {
      backend = this.service.backendFor(this.node);
      logEpoch = backend.epochNow();
      detail = describe(backend);
      const [result, outcome] = await body(backend);
      this.#record(backend.name, logEpoch, describe(backend), outcome, detail);
      return result;
    } catch (error) {
      const outcome: LogOutcome = error instanceof DecideUnavailableError
        ? "unavailable"
        : error instanceof StaleEpochError
        ? "stale-epoch"
        : error instanceof StaleFenceError
        ? "stale-fence"
        : "error";
      const fallback = detail ?? describe(backend ?? UNREACHED);
      this.#record(backend?.name ?? "none", logEpoch, fallback, outcome, fallback);
      throw error;
    }
  }

  #record(
    replica: string,
    logEpoch: number,
    after: LogDetail,
    outcome: LogOutcome,
    before: LogDetail,
  ): void {
    // Fence calls learn their token only once served; everything else is described up front.
    const detail = after.op === "fence" ? after : before;
    this.options.history.push(
      { type: "log", node: this.node, replica, outcome, logEpoch, ...detail } as NewHistoryEvent,
    );
  }
}

const UNREACHED: Backend = {
  name: "none",
  log: undefined as unknown as DecideLog,
  epochNow: () => 0,
  fenceNow: () => 0,
};

/**
 * A swarm of nodes in this process on the real clock: every node a full
 * actor system with its own identity, Deno KV store, audit log and roles,
 * connected by the in-process transport; DECIDE through one shared decide
 * log (Deno KV embedded, or etcd); artifacts in one content store.
 *
 * Used by `run swarm`, `deno task start`, the end-to-end tests and the
 * throughput benchmark.
 *
 * @module
 */

import type { ActorRef } from "../runtime/actor.ts";
import { silentLogSink, stderrLogSink } from "../runtime/log.ts";
import { RealEnv } from "../runtime/real_env.ts";
import { ActorSystem } from "../runtime/system.ts";
import { InProcHub } from "../runtime/transport/inproc.ts";
import type { DecideLog } from "../runtime/store/decide_log.ts";
import { DenoKvStore } from "../runtime/store/deno_kv_store.ts";
import { StoreDecideLog } from "../runtime/store/store_decide_log.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import { FileContentStore } from "../runtime/store/file_content_store.ts";
import { MemoryContentStore } from "../runtime/store/memory_content_store.ts";
import { FileFrameLogDirectory } from "../runtime/store/file_frame_log.ts";
import { SignedAuditLog } from "../protocols/audit/mod.ts";
import { Identity, SignatureVerifier, simulationIdentity } from "../protocols/identity/mod.ts";
import type { LifecycleVerb, PayloadOf, TaskSpec } from "../protocols/lifecycle/payloads.ts";
import type { ThreadState } from "../protocols/lifecycle/state.ts";
import type {
  BountyClass,
  LedgerAnswer,
  LedgerQuery,
  ParticipantEntry,
} from "../protocols/economics/mod.ts";
import type { SwarmParams } from "../protocols/params.ts";
import type { NeedOutcome, NeedStatus, RequesterMessage } from "../actors/requester.ts";
import type { AcceptedHook, CoreMessage, CoreStats, EmitResult } from "../actors/swarm_messages.ts";
import type { DeciderMessage, DeciderStats } from "../actors/decider.ts";
import type { VerifierStats } from "../actors/verifier.ts";
import type {
  CapsuleDistributorMessage,
  CapsuleDistributorStatus,
} from "../actors/capsule_distributor.ts";
import type { EpochManagerMessage } from "../actors/epoch_manager.ts";
import type { CapsulePackage } from "../policies/capsule.ts";
import type { Settled } from "../runtime/env.ts";
import { SwarmError } from "../runtime/errors.ts";
import {
  type ByzantineHooks,
  SWARM_NODE_SUPERVISION,
  swarmNode,
  type SwarmNodeConfig,
  type SwarmNodeMessage,
  type SwarmNodeRefs,
} from "../actors/swarm_node.ts";
import { loadNodeIdentity } from "./node_identity.ts";
import { CryptoThread } from "../runtime/crypto_thread.ts";
import { bucketsOf } from "./_swarm_members.ts";

export { bucketsOf };
import { loadBasePolicy, type LoadedPolicy } from "./_node_policy.ts";

/** Options of {@linkcode LocalSwarm.start}. */
export interface LocalSwarmOptions {
  readonly nodes: number;
  readonly params: SwarmParams;
  /** Where keys, stores, audit logs and artifacts live; undefined keeps everything in memory. */
  readonly dataDir?: string;
  /** `kv` (embedded Deno KV) or `etcd`. */
  readonly consensus: "kv" | "etcd";
  readonly etcdEndpoints?: readonly string[];
  /** Run the base Cedar policy's preflight and ingress gates on every node. Default true. */
  readonly policy?: boolean;
  /** Write per-node audit logs (needs `dataDir`). Default true with a data dir. */
  readonly audit?: boolean;
  /** Print actor warnings to stderr. */
  readonly verbose?: boolean;
  /** Sees every message each node accepts. */
  readonly onAccepted?: AcceptedHook;
  /** Misbehaviour by node index (tests). */
  readonly byzantine?: Readonly<Record<number, ByzantineHooks>>;
  /**
   * The economy's participants from the nodes' DIDs (metadata, genesis);
   * default every node its own organisation with the default genesis.
   */
  readonly participants?: (dids: readonly string[]) => readonly ParticipantEntry[];
  /** Share of verified results each node's challenger audits. Default 0.1. */
  readonly auditShare?: number;
  /**
   * DIDs whose signed policy capsules the nodes install (with policy on);
   * default none, so every node keeps the genesis capsule.
   */
  readonly capsuleAuthors?: readonly string[];
  /** Adjusts one node's configuration before it boots (roles, byzantine hooks). */
  readonly configure?: (index: number, config: SwarmNodeConfig) => SwarmNodeConfig;
  /**
   * Sign and verify envelopes on a crypto thread rather than the main thread.
   * Default: yes. Even a lone node, which verifies nothing, measured faster
   * with its signatures there (`deno task bench:lifecycle` has both rows).
   */
  readonly cryptoThread?: boolean;
}

interface LocalNode {
  readonly nodeId: string;
  readonly env: RealEnv;
  readonly system: ActorSystem;
  readonly refs: SwarmNodeRefs;
  readonly audit: SignedAuditLog | undefined;
}

/** What every node shares. */
interface Shared {
  readonly options: LocalSwarmOptions;
  readonly decideLog: DecideLog;
  readonly cas: ContentStore;
  readonly hub: InProcHub;
  readonly identities: readonly Identity[];
  readonly cryptoThread: CryptoThread | undefined;
  readonly deciderStats: DeciderStats;
  readonly verifierStats: VerifierStats;
  readonly policy: LoadedPolicy | undefined;
}

/** The default policy hash when no capsule is configured. */
export const POLICY_NONE = "none";

/** A running in-process swarm. */
export class LocalSwarm {
  readonly #shared: Shared;
  readonly #nodes: (LocalNode | undefined)[];
  #next = 0;

  private constructor(shared: Shared) {
    this.#shared = shared;
    this.#nodes = new Array(shared.options.nodes).fill(undefined);
  }

  /** Starts `options.nodes` nodes, every one planner, verifier, worker, requester and decider of its share of buckets. */
  static async start(options: LocalSwarmOptions): Promise<LocalSwarm> {
    const threaded = options.cryptoThread ?? true;
    const thread = threaded ? new CryptoThread() : undefined;
    try {
      const swarm = new LocalSwarm(await openShared(options, thread));
      for (let index = 0; index < options.nodes; index++) await swarm.#boot(index);
      await swarm.stats(); // every core has finished starting once it answers
      return swarm;
    } catch (error) {
      thread?.close();
      throw error;
    }
  }

  /** Node ids. */
  get nodeIds(): string[] {
    return this.#nodes.map((_, index) => `node-${index}`);
  }

  /** DECIDE counters of all deciders. */
  get deciderStats(): Readonly<DeciderStats> {
    return this.#shared.deciderStats;
  }

  /** ATTEST counters of all verifiers, with the evaluation digests found diverging. */
  get verifierStats(): Readonly<VerifierStats> {
    return this.#shared.verifierStats;
  }

  /** The decide log shared by the deciders. */
  get decideLog(): DecideLog {
    return this.#shared.decideLog;
  }

  /** The in-process network (tests attach hostile nodes to it). */
  get hub(): InProcHub {
    return this.#shared.hub;
  }

  /** DIDs of the nodes, by index. */
  get dids(): string[] {
    return this.#shared.identities.map((identity) => identity.did);
  }

  /**
   * Posts a NEED at the next running node (round robin), or at node `node`,
   * and resolves when it is final, expired or refused.
   */
  post(
    task: TaskSpec,
    options: {
      bounty?: number;
      budget?: number;
      deadlineInMs?: number;
      bountyClass?: BountyClass;
      node?: number;
    } = {},
  ): Promise<NeedOutcome> {
    const running = this.#nodes.filter((node): node is LocalNode => node !== undefined);
    const node = options.node === undefined
      ? running[this.#next++ % running.length]
      : this.#running(options.node);
    const deadlineInMs = options.deadlineInMs ?? 120_000;
    return node.system.ask<RequesterMessage, NeedOutcome>(
      node.refs.requester as ActorRef<RequesterMessage>,
      (replyTo) => ({
        type: "post",
        task,
        bounty: options.bounty ?? 5,
        budget: options.budget ?? 10,
        deadlineInMs,
        bountyClass: options.bountyClass,
        replyTo,
      }),
      { timeoutMs: deadlineInMs + 30_000 },
    );
  }

  /** Counters of every running node's core. */
  async stats(): Promise<CoreStats[]> {
    const running = this.#nodes.filter((node): node is LocalNode => node !== undefined);
    return await Promise.all(
      running.map((node) =>
        node.system.ask<CoreMessage, CoreStats>(
          node.refs.core,
          (replyTo) => ({ type: "stats", replyTo }),
        )
      ),
    );
  }

  /** Has node `index` offer a signed policy capsule to the swarm (it installs it too). */
  announceCapsule(index: number, capsule: CapsulePackage): void {
    this.#capsules(index).tell({ type: "announce", package: capsule });
  }

  /** Node `index`'s capsule in force, the capsules it has staged, and its refusals. */
  async capsuleStatus(index: number): Promise<CapsuleDistributorStatus> {
    return await this.#running(index).system.ask<
      CapsuleDistributorMessage,
      CapsuleDistributorStatus
    >(this.#capsules(index), (replyTo) => ({ type: "status", replyTo }));
  }

  /**
   * Has node `index` advance the swarm's epoch through the decide log and
   * announce it with RECONCILE; resolves to the new epoch.
   */
  async advanceEpoch(index: number): Promise<number> {
    const node = this.#running(index);
    const result = await node.system.ask<EpochManagerMessage, Settled<number>>(
      node.refs.epochManager,
      (replyTo) => ({ type: "reconcile", replyTo }),
    );
    if (!result.ok) throw result.error;
    return result.value;
  }

  #capsules(index: number): ActorRef<CapsuleDistributorMessage> {
    const capsules = this.#running(index).refs.capsules;
    if (capsules === undefined) {
      throw new SwarmError(
        "E_NO_POLICY",
        `Node ${index} runs no capsule distributor (policy is off)`,
      );
    }
    return capsules;
  }

  /** The actor system of a running node (tests reach into it). */
  system(index: number): ActorSystem {
    return this.#running(index).system;
  }

  /** Asks node `index` a read-only ledger question. */
  async ledger(index: number, query: LedgerQuery): Promise<LedgerAnswer | undefined> {
    const node = this.#running(index);
    return await node.system.ask<CoreMessage, LedgerAnswer | undefined>(
      node.refs.core,
      (replyTo) => ({ type: "ledger", query, replyTo }),
    );
  }

  /** Has node `index` sign and publish a message, as its roles would (tests use it for hostile input). */
  async emit<V extends LifecycleVerb>(
    index: number,
    kind: V,
    thread: string,
    payload: PayloadOf[V],
  ): Promise<EmitResult> {
    const node = this.#running(index);
    return await node.system.ask<CoreMessage, EmitResult>(
      node.refs.core,
      (replyTo) => ({ type: "emit", kind, thread, payload, replyTo }) as CoreMessage,
    );
  }

  /** The NEEDs node `index` posted: in flight and recently ended. */
  async needs(index: number): Promise<NeedStatus[]> {
    const node = this.#running(index);
    return await node.system.ask<RequesterMessage, NeedStatus[]>(
      node.refs.requester as ActorRef<RequesterMessage>,
      (replyTo) => ({ type: "list", replyTo }),
    );
  }

  /** The thread of a NEED as node `index` sees it. */
  async thread(index: number, needId: string): Promise<ThreadState | undefined> {
    const node = this.#running(index);
    return await node.system.ask<CoreMessage, ThreadState | undefined>(
      node.refs.core,
      (replyTo) => ({ type: "thread", needId, replyTo }),
    );
  }

  #running(index: number): LocalNode {
    const node = this.#nodes[index];
    if (node === undefined) throw new RangeError(`Node ${index} is not running`);
    return node;
  }

  /** Kills a node (its actors stop, its stores stay) and boots it again from its data directory. */
  async restart(index: number): Promise<void> {
    await this.#stopNode(index);
    await this.#boot(index);
    await this.stats();
  }

  /**
   * A failover: stops node `from` (its stores stay) and has node `to`'s
   * decider take the buckets `from` owned, fencing `from` out of them.
   * Resolves to those buckets.
   */
  async failover(from: number, to: number): Promise<readonly number[]> {
    const node = this.#running(from);
    const heir = this.#running(to).refs.decider;
    if (node.refs.decider === undefined || heir === undefined) {
      throw new RangeError(`A failover needs deciders on nodes ${from} and ${to}`);
    }
    const buckets = await node.system.ask<DeciderMessage, readonly number[]>(
      node.refs.decider,
      (replyTo) => ({ type: "owned", replyTo }),
    );
    await this.#stopNode(from);
    heir.tell({ type: "take-buckets", buckets });
    return buckets;
  }

  /** Stops every node and closes every store. */
  async stop(): Promise<void> {
    for (let index = 0; index < this.#nodes.length; index++) await this.#stopNode(index);
    await this.#shared.decideLog.close();
    this.#shared.cryptoThread?.close();
  }

  async #stopNode(index: number): Promise<void> {
    const node = this.#nodes[index];
    if (node === undefined) return;
    this.#nodes[index] = undefined;
    await node.system.terminate();
    await node.audit?.close();
    await node.env.close();
  }

  async #boot(index: number): Promise<void> {
    const { options, identities, hub } = this.#shared;
    const nodeId = `node-${index}`;
    const dir = options.dataDir === undefined ? undefined : `${options.dataDir}/${nodeId}`;
    if (dir !== undefined) await Deno.mkdir(dir, { recursive: true });
    const env = await RealEnv.open({
      nodeId,
      storePath: dir === undefined ? ":memory:" : `${dir}/store.kv`,
      transport: hub.connect(nodeId),
    });
    const system = ActorSystem.create(env, {
      log: options.verbose ? stderrLogSink("warn") : silentLogSink,
    });
    const audit = dir !== undefined && options.audit !== false
      ? new SignedAuditLog(await FileFrameLogDirectory.open(`${dir}/audit`), identities[index])
      : undefined;
    const dids = this.dids;
    const base: SwarmNodeConfig = {
      nodeId,
      identity: identities[index],
      roles: {
        planner: true,
        verifier: true,
        worker: true,
        requester: true,
        challenger: true,
        deciderBuckets: bucketsOf(index, options.nodes),
      },
      verifiers: dids,
      workers: dids,
      planners: dids,
      decideLog: this.#shared.decideLog,
      cas: this.#shared.cas,
      params: options.params,
      policyHash: this.#shared.policy?.capsuleHash ?? POLICY_NONE,
      policy: this.#shared.policy?.gates(),
      capsules: this.#shared.policy === undefined ? undefined : {
        runtime: this.#shared.policy.runtime,
        trustedAuthors: options.capsuleAuthors ?? [],
      },
      audit,
      onAccepted: options.onAccepted,
      deciderStats: this.#shared.deciderStats,
      verifierStats: this.#shared.verifierStats,
      byzantine: options.byzantine?.[index],
      participants: options.participants?.(dids),
      auditShare: options.auditShare,
      signatureVerifier: this.#shared.cryptoThread === undefined
        ? undefined
        : new SignatureVerifier(undefined, this.#shared.cryptoThread),
    };
    const config = options.configure?.(index, base) ?? base;
    const parent = system.spawn<SwarmNodeMessage>(
      () => swarmNode(config),
      { name: "node", supervision: SWARM_NODE_SUPERVISION },
    );
    const refs = await system.ask<SwarmNodeMessage, SwarmNodeRefs>(
      parent,
      (replyTo) => ({ type: "refs", replyTo }),
    );
    this.#nodes[index] = { nodeId, env, system, refs, audit };
  }
}

/** Opens what every node shares. */
async function openShared(
  options: LocalSwarmOptions,
  thread: CryptoThread | undefined,
): Promise<Shared> {
  const nodeIds = Array.from({ length: options.nodes }, (_, index) => `node-${index}`);
  const identities = await Promise.all(nodeIds.map(async (nodeId) => {
    const identity = await identityOf(options.dataDir, nodeId);
    return thread === undefined ? identity : await identity.offloaded(thread);
  }));
  return {
    options,
    decideLog: await openDecideLog(options),
    cas: options.dataDir === undefined
      ? new MemoryContentStore()
      : await FileContentStore.open(`${options.dataDir}/cas`),
    hub: new InProcHub(),
    identities,
    cryptoThread: thread,
    deciderStats: { decided: 0, conflicts: 0, failures: 0 },
    verifierStats: { attested: 0, compared: 0, divergences: 0 },
    policy: options.policy === false ? undefined : await loadBasePolicy(),
  };
}

async function identityOf(dataDir: string | undefined, nodeId: string): Promise<Identity> {
  if (dataDir === undefined) return await simulationIdentity(crypto.randomUUID(), nodeId);
  return (await loadNodeIdentity(`${dataDir}/${nodeId}`)).identity;
}

async function openDecideLog(options: LocalSwarmOptions): Promise<DecideLog> {
  if (options.consensus === "etcd") {
    return await connectEtcd(options.etcdEndpoints ?? ["http://127.0.0.1:2379"]);
  }
  if (options.dataDir === undefined) {
    return new StoreDecideLog(await DenoKvStore.open(":memory:"), true);
  }
  await Deno.mkdir(options.dataDir, { recursive: true });
  return new StoreDecideLog(await DenoKvStore.open(`${options.dataDir}/decide.kv`), true);
}

/** Connects the etcd decide log; the etcd client (gRPC) loads only when asked for. */
export async function connectEtcd(endpoints: readonly string[]): Promise<DecideLog> {
  const { EtcdDecideLog } = await import("../runtime/store/etcd_decide_log.ts");
  return await EtcdDecideLog.connect({ endpoints });
}

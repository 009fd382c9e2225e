/**
 * A whole simulated swarm: protocol nodes booted from the cast (each a full
 * swarm node on its own simulated actor system, identity derived from the
 * seed, audit log on its simulated disk), spammers, the decide service, the
 * shared content store, the load, and the nemesis host. It records the
 * history the checkers read; it plays the membership service that tells
 * deciders which buckets they own, and the operator who reconciles after a
 * heal.
 *
 * @module
 */

import type { ActorRef, Behavior } from "../../runtime/actor.ts";
import { MemoryContentStore } from "../../runtime/store/memory_content_store.ts";
import { MemoryFrameLogDirectory } from "../../runtime/store/memory_frame_log.ts";
import { DECIDE_BUCKETS } from "../../runtime/store/decide_log.ts";
import type { ActorSystem } from "../../runtime/system.ts";
import { SignedAuditLog } from "../../protocols/audit/mod.ts";
import { type Identity, simulationIdentity } from "../../protocols/identity/mod.ts";
import { type SwarmParams, swarmParams } from "../../protocols/params.ts";
import type { LeaseDrop } from "../../protocols/lifecycle/payloads.ts";
import type { ReplicaMerge } from "../../protocols/consensus/ap_replica.ts";
import { leaseDropsOf } from "../../protocols/lifecycle/lease_drop.ts";
import type { RequesterMessage } from "../../actors/requester.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import type {
  LedgerAnswer,
  LedgerSummary,
  ParticipantEntry,
} from "../../protocols/economics/mod.ts";
import {
  SWARM_NODE_SUPERVISION,
  swarmNode,
  type SwarmNodeConfig,
  type SwarmNodeMessage,
  type SwarmNodeRefs,
} from "../../actors/swarm_node.ts";
import { linkOptions } from "../network.ts";
import { SeededRandom } from "../seeded_random.ts";
import { SIM_EPOCH_NS } from "../sim_env.ts";
import { Simulation } from "../simulation.ts";
import { castNodes, type NodePlan, playsTarget, spammerId } from "./cast.ts";
import { DecideService } from "./decide_service.ts";
import { History } from "./history.ts";
import { planArrivals } from "./load.ts";
import { type NemesisHost, scheduleNemeses } from "./nemesis.ts";
import type { NodeTarget } from "./nemesis_spec.ts";
import type { SwarmScenario } from "./scenario.ts";
import { SharedSignatureVerifier } from "./shared_verifier.ts";
import { spammer, type SpammerStats } from "./spammer.ts";

/** The policy hash every simulated node runs under. */
export const SIM_POLICY = "sim-policy";

/** Interval of the ledger probes. */
const LEDGER_PROBE_MS = 10_000;

/** Options of {@linkcode SwarmHarness.create}. */
export interface HarnessOptions {
  /**
   * Nodes share signature verdicts (default true): the same run, faster. Off,
   * every node verifies every envelope itself, as real nodes do.
   */
  readonly shareVerification?: boolean;
}

/** One protocol node and what outlives its crashes. */
export interface SwarmNodeRuntime {
  readonly plan: NodePlan;
  readonly identity: Identity;
  /** The node's audit logs: its simulated disk. */
  readonly auditDirectory: MemoryFrameLogDirectory;
  /** The current incarnation's audit log. */
  audit: SignedAuditLog | undefined;
  /** References of the current incarnation, once it booted. */
  refs: SwarmNodeRefs | undefined;
  /** The harness's probe on the current incarnation. */
  probe?: ActorRef<ProbeMessage>;
}

/** A booted swarm on a simulation, ready to run. */
export class SwarmHarness implements NemesisHost {
  readonly scenario: SwarmScenario;
  readonly seed: number;
  readonly simulation: Simulation;
  readonly history: History;
  readonly random: SeededRandom;
  readonly params: SwarmParams;
  readonly service: DecideService;
  readonly cas = new MemoryContentStore();
  /** One verification per signed envelope for the whole run (see `shared_verifier.ts`). */
  readonly verifier: SharedSignatureVerifier | undefined;
  readonly runtimes = new Map<string, SwarmNodeRuntime>();
  readonly spammerStats: SpammerStats = {};
  readonly nodes: readonly string[];
  readonly extraNodes: readonly string[];
  readonly baseLink;
  /** Owner of each decide bucket (the membership service's view). */
  readonly #owner = new Map<number, string>();
  /** AP: buckets lent to a decider on another side during a partition. */
  readonly #lent = new Map<string, number[]>();
  readonly #harnessRandom: SeededRandom;
  #postCursor = 0;
  /** NEEDs the load could not post (every requester was down). */
  unposted = 0;

  private constructor(scenario: SwarmScenario, seed: number, options: HarnessOptions) {
    this.scenario = scenario;
    this.verifier = options.shareVerification === false ? undefined : new SharedSignatureVerifier();
    this.seed = seed;
    this.baseLink = linkOptions(scenario.link);
    this.simulation = new Simulation({ seed, link: scenario.link, buggify: scenario.buggify });
    this.history = new History(() => this.simulation.scheduler.nowNs);
    this.simulation.faults.onFire = ({ name, node, subject }) =>
      void this.history.push({ type: "fault", name, node, needId: subject });
    this.random = SeededRandom.derive(seed, "nemesis");
    this.#harnessRandom = SeededRandom.derive(seed, "harness");
    this.params = swarmParams(scenario.params);
    this.nodes = Array.from({ length: scenario.nodes }, (_, index) => `node-${index}`);
    this.extraNodes = Array.from({ length: scenario.byzantine.spammers }, (_, i) => spammerId(i));
    this.service = new DecideService({
      mode: scenario.mode,
      history: this.history,
      reachable: (node) => this.#reachesMajority(node),
      mutations: scenario.mutations,
      nowMs: () => Number((SIM_EPOCH_NS + this.simulation.scheduler.nowNs) / 1_000_000n),
    });
  }

  /** Builds the swarm of `scenario` for `seed`: identities, nodes, spammers, load, nemeses. */
  static async create(
    scenario: SwarmScenario,
    seed: number,
    options: HarnessOptions = {},
  ): Promise<SwarmHarness> {
    const harness = new SwarmHarness(scenario, seed, options);
    await harness.#cast();
    harness.#scheduleLoad();
    harness.#scheduleLedgerProbes();
    scheduleNemeses(harness, scenario.nemeses);
    return harness;
  }

  /** The cast, node by node. */
  get plans(): NodePlan[] {
    return [...this.runtimes.values()].map((runtime) => runtime.plan);
  }

  plays(node: string, target: NodeTarget): boolean {
    const runtime = this.runtimes.get(node);
    return runtime !== undefined && playsTarget(runtime.plan, target);
  }

  onPartition(sides: readonly (readonly string[])[]): void {
    // Over a partition still in force (AP), the sides before merged first: settled as a heal.
    const merge = this.service.onPartition(sides);
    if (merge !== undefined) this.#settle(merge);
    if (this.service.mode === "ap") this.#lendBuckets(sides);
  }

  onHeal(): void {
    this.#settle(this.service.onHeal());
  }

  /**
   * After the service merged its sides (AP; CP: undefined): the merge goes in
   * the history, lent buckets go home, and a node announces the RECONCILE
   * (epoch advance, orphaned NEEDs, lease drops).
   */
  #settle(merge: ReplicaMerge | undefined): void {
    const leases = merge === undefined ? [] : leaseDropsOf(merge.leaseConflicts);
    if (merge !== undefined) {
      this.history.push({
        type: "merge",
        winners: [...merge.decisions.winners.values()],
        orphaned: merge.decisions.orphaned.map((branch) => ({
          record: branch.record,
          orphanedByEpoch: branch.orphaned_by_epoch,
        })),
        leases,
      });
      this.#returnBuckets();
    }
    const orphaned = merge?.decisions.orphaned.map((branch) => branch.record.needId) ?? [];
    const node = this.#someUpNode();
    if (node !== undefined) this.#reconcile(node, [...new Set(orphaned)], leases);
  }

  failover(from: string, to: string): void {
    const buckets = this.#bucketsOf(from);
    for (const bucket of buckets) this.#owner.set(bucket, to);
    this.runtimes.get(to)?.refs?.decider?.tell({ type: "take-buckets", buckets });
  }

  bucketCount(node: string): number {
    return this.#bucketsOf(node).length;
  }

  advanceEpoch(node: string): void {
    this.#reconcile(node, []);
  }

  /** Every protocol node as a participant of the economy (the same list on every node). */
  get participants(): ParticipantEntry[] {
    return [...this.runtimes.values()].map(({ plan, identity }) => ({
      did: identity.did,
      org: plan.organisation,
      asn: plan.asn,
      region: plan.region,
      entity: identity.did,
    }));
  }

  async #cast(): Promise<void> {
    const plans = castNodes(this.scenario);
    const identities = await Promise.all(
      plans.map((plan) => simulationIdentity(this.seed, plan.id)),
    );
    plans.forEach((plan, index) => {
      this.history.nameDid(identities[index].did, plan.id);
      this.runtimes.set(plan.id, {
        plan,
        identity: identities[index],
        auditDirectory: new MemoryFrameLogDirectory(),
        audit: undefined,
        refs: undefined,
      });
    });
    const deciders = plans.filter((plan) => plan.decider).map((plan) => plan.id);
    for (let bucket = 0; bucket < DECIDE_BUCKETS; bucket++) {
      this.#owner.set(bucket, deciders[bucket % deciders.length]);
    }
    for (const plan of plans) {
      this.simulation.addNode(plan.id, (system) => this.#boot(system, plan));
    }
    for (const id of this.extraNodes) {
      const identity = await simulationIdentity(this.seed, id);
      this.history.nameDid(identity.did, id);
      this.simulation.addNode(id, (system) => {
        system.spawn(
          () =>
            spammer({ identity, policyHash: SIM_POLICY, perSecond: 20, stats: this.spammerStats }),
          { name: "spammer" },
        );
      });
    }
  }

  async #boot(system: ActorSystem, plan: NodePlan): Promise<void> {
    const runtime = this.runtimes.get(plan.id) as SwarmNodeRuntime;
    // The previous incarnation's appends finish before this one reopens the logs.
    await runtime.audit?.close();
    runtime.refs = undefined;
    runtime.audit = this.scenario.audit
      ? new SignedAuditLog(runtime.auditDirectory, runtime.identity)
      : undefined;
    const parent = system.spawn<SwarmNodeMessage>(
      () => swarmNode(this.#nodeConfig(runtime)),
      { name: "node", supervision: SWARM_NODE_SUPERVISION },
    );
    runtime.probe = system.spawn(
      () =>
        nodeProbe(
          parent,
          (refs) => (runtime.refs = refs),
          (summary) => this.#noteLedger(plan.id, summary),
        ),
      { name: "harness" },
    );
  }

  #nodeConfig(runtime: SwarmNodeRuntime): SwarmNodeConfig {
    const { plan, identity } = runtime;
    const clock = this.simulation.node(plan.id).clock;
    const nodeMs = () => Number(clock.nowNs() / 1_000n) / 1_000;
    const dids = (pick: (plan: NodePlan) => boolean) =>
      [...this.runtimes.values()].filter((each) => pick(each.plan)).map((each) =>
        each.identity.did
      );
    return {
      nodeId: plan.id,
      identity,
      roles: {
        planner: plan.planner,
        verifier: plan.verifier,
        worker: plan.worker,
        requester: plan.requester,
        challenger: plan.challenger,
        deciderBuckets: this.#bucketsOf(plan.id),
      },
      bucketAssignment: plan.decider
        ? () => [...this.#bucketsOf(plan.id), ...(this.#lent.get(plan.id) ?? [])]
        : undefined,
      verifiers: dids((each) => each.verifier),
      workers: dids((each) => each.worker),
      planners: dids((each) => each.planner),
      participants: this.participants,
      decideLog: this.service.forNode(plan.id),
      cas: this.cas,
      params: this.params,
      policyHash: SIM_POLICY,
      audit: runtime.audit,
      signatureVerifier: this.verifier,
      bootstrap: this.scenario.bootstrap,
      decideMode: this.scenario.mode,
      mutations: this.scenario.mutations,
      auditShare: this.scenario.auditShare,
      byzantine: {
        approveEverything: plan.approveEverything,
        wrongOutput: plan.wrongOutput,
        challengeEverything: plan.frivolous,
      },
      onAccepted: (message) =>
        void this.history.push({ type: "accepted", node: plan.id, nodeMs: nodeMs(), message }),
      onEffect: (effect, thread) =>
        void this.history.push({
          type: "effect",
          node: plan.id,
          nodeMs: nodeMs(),
          effect,
          phase: thread.phase,
          decision: thread.decision,
          taskStatus: "taskId" in effect ? thread.tasks.get(effect.taskId)?.status : undefined,
        }),
    };
  }

  /** Asks every node for its ledger summary every 10 s and just before the run ends. */
  #scheduleLedgerProbes(): void {
    const probe = () => {
      for (const runtime of this.runtimes.values()) {
        if (this.simulation.node(runtime.plan.id).up) runtime.probe?.tell({ type: "ledger-probe" });
      }
    };
    for (let atMs = LEDGER_PROBE_MS; atMs < this.scenario.durationMs; atMs += LEDGER_PROBE_MS) {
      this.simulation.at(atMs, "ledger-probe", probe);
    }
    this.simulation.at(Math.max(0, this.scenario.durationMs - 50), "ledger-probe", probe);
  }

  #noteLedger(node: string, summary: LedgerSummary): void {
    this.history.push({
      type: "ledger",
      node,
      supply: summary.supply,
      held: summary.held,
      burned: summary.burned,
      invariant: summary.invariant,
      digest: summary.digest,
      operations: summary.operations,
    });
  }

  #scheduleLoad(): void {
    const arrivals = planArrivals(this.scenario.load, SeededRandom.derive(this.seed, "load"));
    const { bounty, budget, deadlineMs } = this.scenario.load;
    for (const arrival of arrivals) {
      this.simulation.at(arrival.atMs, "load", () => {
        const requester = this.#nextRequester();
        if (requester === undefined) return void this.unposted++;
        requester.tell({
          type: "post",
          task: arrival.task,
          bounty,
          budget,
          deadlineInMs: deadlineMs,
        });
      });
    }
  }

  /** The next requester that is up, round robin. */
  #nextRequester(): ActorRef<RequesterMessage> | undefined {
    const requesters = [...this.runtimes.values()].filter((runtime) => runtime.plan.requester);
    for (let tried = 0; tried < requesters.length; tried++) {
      const runtime = requesters[this.#postCursor++ % requesters.length];
      const ref = runtime.refs?.requester;
      if (this.simulation.node(runtime.plan.id).up && ref !== undefined) return ref;
    }
    return undefined;
  }

  #bucketsOf(node: string): number[] {
    return [...this.#owner].filter(([, owner]) => owner === node).map(([bucket]) => bucket);
  }

  /** AP: each side's deciders take the buckets whose owners are on other sides. */
  #lendBuckets(sides: readonly (readonly string[])[]): void {
    for (const side of sides) {
      const deciders = side.filter((node) => this.plays(node, "decider"));
      if (deciders.length === 0) continue;
      const away = [...this.#owner].filter(([, owner]) => !side.includes(owner));
      away.forEach(([bucket], index) => {
        const borrower = deciders[index % deciders.length];
        this.#lent.set(borrower, [...(this.#lent.get(borrower) ?? []), bucket]);
      });
    }
    for (const [borrower, buckets] of this.#lent) {
      this.runtimes.get(borrower)?.refs?.decider?.tell({
        type: "take-buckets",
        buckets,
        borrowed: true,
      });
    }
  }

  /** AP, after the merge: borrowers give buckets back; owners fence them anew. */
  #returnBuckets(): void {
    for (const [borrower, buckets] of this.#lent) {
      this.runtimes.get(borrower)?.refs?.decider?.tell({ type: "drop-buckets", buckets });
    }
    this.#lent.clear();
    for (const node of new Set(this.#owner.values())) {
      const buckets = this.#bucketsOf(node);
      this.runtimes.get(node)?.refs?.decider?.tell({ type: "take-buckets", buckets });
    }
  }

  #reconcile(node: string, orphaned: readonly string[], leases: readonly LeaseDrop[] = []): void {
    this.runtimes.get(node)?.refs?.epochManager.tell({ type: "reconcile", orphaned, leases });
  }

  #someUpNode(): string | undefined {
    const up = this.nodes.filter((node) => {
      const state = this.simulation.node(node);
      return state.up && !state.paused && this.runtimes.get(node)?.refs !== undefined;
    });
    return up.length === 0 ? undefined : up[this.#harnessRandom.int(up.length)];
  }

  /** CP availability: a node reaches the service while it reaches a strict majority of nodes. */
  #reachesMajority(node: string): boolean {
    const network = this.simulation.network;
    let reached = 0;
    for (const other of this.nodes) {
      if (other === node || (network.reachable(node, other) && network.reachable(other, node))) {
        reached++;
      }
    }
    return reached * 2 > this.nodes.length;
  }
}

/** Asks a node's parent for its actor references and hands them to the harness. */
/** What the harness's probe on each node receives. */
type ProbeMessage =
  | { readonly type: "refs-reply"; readonly refs: SwarmNodeRefs }
  | { readonly type: "ledger-probe" }
  | { readonly type: "ledger-reply"; readonly answer: LedgerAnswer | undefined };

/**
 * The harness's actor on each node: collects the node's actor references
 * and, when asked, the ledger summary of its core (for the ledger checker).
 */
function nodeProbe(
  parent: ActorRef<SwarmNodeMessage>,
  onRefs: (refs: SwarmNodeRefs) => void,
  onLedger: (summary: LedgerSummary) => void,
): Behavior<ProbeMessage> {
  let core: ActorRef<CoreMessage> | undefined;
  return {
    preStart(ctx) {
      parent.tell({
        type: "refs",
        replyTo: ctx.self as unknown as ActorRef<SwarmNodeRefs>,
      });
    },
    receive(ctx, message) {
      const refs = (message as { core?: unknown }).core !== undefined
        ? message as unknown as SwarmNodeRefs
        : undefined;
      if (refs !== undefined) {
        core = refs.core;
        return onRefs(refs);
      }
      if (message.type === "ledger-probe" && core !== undefined) {
        return ctx.ask<CoreMessage, LedgerAnswer | undefined>(
          core,
          (replyTo) => ({ type: "ledger", query: { kind: "summary" }, replyTo }),
          (result) => ({ type: "ledger-reply", answer: result.ok ? result.value : undefined }),
        );
      }
      if (message.type === "ledger-reply" && message.answer?.kind === "summary") {
        onLedger(message.answer);
      }
    },
  };
}

/**
 * A swarm node as a supervision tree: the core and the node's roles under
 * one parent with one-for-all supervision, so if the core fails, every role
 * restarts with it and registers again.
 *
 * Adapters (decide log, content store, audit log, identity) are made by the
 * caller and passed in; this module only wires actors.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import type { DecideLog } from "../runtime/store/decide_log.ts";
import type { AuditLog } from "../protocols/audit/mod.ts";
import type { BootstrapTransition } from "../protocols/consensus/bootstrap.ts";
import { type Identity, SignatureVerifier } from "../protocols/identity/mod.ts";
import type { CedarRuntime } from "../policies/cedar_runtime.ts";
import { type ParticipantEntry, ParticipantRegistry } from "../protocols/economics/mod.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { bootstrapMonitor } from "./bootstrap_monitor.ts";
import { type RetentionConfig, retentionSweeper } from "./retention_sweeper.ts";
import { capsuleDistributor, type CapsuleDistributorMessage } from "./capsule_distributor.ts";
import { challenger, type ChallengerStats } from "./challenger.ts";
import { decider, type DeciderMessage, type DeciderStats } from "./decider.ts";
import { epochManager, type EpochManagerMessage } from "./epoch_manager.ts";
import { nodeCore, type NodePolicy } from "./node_core.ts";
import { planner } from "./planner.ts";
import { requester, type RequesterMessage } from "./requester.ts";
import type { ProtocolMutations } from "../protocols/lifecycle/mutations.ts";
import type { AcceptedHook, CoreMessage, EffectHook } from "./swarm_messages.ts";
import { verifier, type VerifierStats } from "./verifier.ts";
import { worker } from "./worker.ts";

/** Which roles a node plays. */
export interface SwarmRoles {
  readonly planner?: boolean;
  readonly verifier?: boolean;
  readonly worker?: boolean;
  /** Buckets this node decides (and finalizes, and monitors leases for). */
  readonly deciderBuckets?: readonly number[];
  readonly requester?: boolean;
  /** Audit a share of verified results and challenge wrong ones. */
  readonly challenger?: boolean;
}

/** Everything a swarm node needs. */
export interface SwarmNodeConfig {
  readonly nodeId: string;
  readonly identity: Identity;
  readonly roles: SwarmRoles;
  readonly verifiers: readonly string[];
  readonly workers?: readonly string[];
  /** Every planner of the swarm; with it, two preferred planners propose per NEED. */
  readonly planners?: readonly string[];
  readonly decideLog: DecideLog;
  readonly cas: ContentStore;
  readonly params: SwarmParams;
  readonly policyHash: string;
  /** Policy gates for the core; their capsule hash must be `policyHash`. */
  readonly policy?: NodePolicy;
  readonly audit?: AuditLog;
  readonly signatureVerifier?: SignatureVerifier;
  readonly leaseTtlMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Most of the requester's NEEDs open in the swarm at once (`RequesterConfig.openMax`). */
  readonly requesterOpenMax?: number;
  /** Initial bootstrap mode; default true. */
  readonly bootstrap?: boolean;
  readonly onAccepted?: AcceptedHook;
  /** Sees every lifecycle effect on this node (simulation histories). */
  readonly onEffect?: EffectHook;
  /** `cp` (default) or `ap` decide mode (see `NodeCoreConfig.decideMode`). */
  readonly decideMode?: "cp" | "ap";
  /** Deliberately broken protocol rules, for mutation tests only. */
  readonly mutations?: ProtocolMutations;
  readonly onBootstrapTransition?: (transition: BootstrapTransition) => void;
  /** Filled in by the decider, for summaries. */
  readonly deciderStats?: DeciderStats;
  /**
   * Asked by the decider at every (re)start for the buckets it owns now (a
   * membership service that moves buckets on failover); without it the
   * decider owns `roles.deciderBuckets`.
   */
  readonly bucketAssignment?: () => readonly number[];
  /**
   * Participants of the economy (metadata and genesis). Default: every
   * verifier, worker and this node, each its own organisation, with the
   * genesis allocation of the economics parameters. `false` runs no economy.
   */
  readonly participants?: readonly ParticipantEntry[] | false;
  /** Share of verified results the challenger audits (0..1). Default 0.1. */
  readonly auditShare?: number;
  /** Filled in by the challenger. */
  readonly challengerStats?: ChallengerStats;
  /** Filled in by the verifier. */
  readonly verifierStats?: VerifierStats;
  /** The verifier's waits before rechecking a commit whose artifact was out of reach. */
  readonly artifactRecheckMs?: readonly number[];
  /**
   * With `policy`: run a capsule distributor that installs capsules signed by
   * these authors and switches to them at their epoch. Without, the node
   * keeps its genesis capsule.
   */
  readonly capsules?: {
    readonly runtime: CedarRuntime;
    readonly trustedAuthors: readonly string[];
  };
  /** Test hooks for byzantine behaviour. */
  readonly byzantine?: ByzantineHooks;
  /** Remove the node's old files (audit logs, artifacts) with a retention sweeper. */
  readonly retention?: RetentionConfig;
}

/** Test hooks that make a node misbehave on purpose. */
export interface ByzantineHooks {
  /** The verifier approves every plan and result without checking. */
  readonly approveEverything?: boolean;
  /** The worker commits a wrong output. */
  readonly wrongOutput?: boolean;
  /** The worker claims less cost than the work took. */
  readonly understateTelemetry?: boolean;
  /** The challenger challenges every result it audits, right or wrong. */
  readonly challengeEverything?: boolean;
  /** The verifier attests with a forged evaluation digest. */
  readonly forgeEvalDigest?: boolean;
  /** The worker dies, in effect, between its first grant of each task and that CLAIM's publication. */
  readonly loseFirstClaims?: boolean;
}

/**
 * The registry a node's economy runs with: the configured participants, or
 * every verifier, worker and the node itself with default metadata.
 * Throws `E_REGISTRY` for a bad entry.
 */
export function participantRegistry(config: SwarmNodeConfig): ParticipantRegistry | undefined {
  if (config.participants === false) return undefined;
  const entries = config.participants ??
    [...new Set([...config.verifiers, ...(config.workers ?? []), config.identity.did])]
      .filter((did) => did.startsWith("did:"))
      .map((did) => ({ did }));
  return ParticipantRegistry.from(entries, config.params.economics);
}

/** References to a node's actors. */
export interface SwarmNodeRefs {
  readonly core: ActorRef<CoreMessage>;
  readonly requester: ActorRef<RequesterMessage> | undefined;
  readonly epochManager: ActorRef<EpochManagerMessage>;
  /** The capsule distributor, when the node runs one. */
  readonly capsules: ActorRef<CapsuleDistributorMessage> | undefined;
  /** The shard decider, on nodes that own buckets. */
  readonly decider?: ActorRef<DeciderMessage>;
}

/** Messages of the node parent. */
export type SwarmNodeMessage = { readonly type: "refs"; readonly replyTo: ActorRef<SwarmNodeRefs> };

/** Makes the node's parent behaviour; its children are the core and the roles. */
export function swarmNode(config: SwarmNodeConfig): Behavior<SwarmNodeMessage> {
  let refs: SwarmNodeRefs | undefined;
  const registry = participantRegistry(config);
  const distributor = (ctx: ActorContext<SwarmNodeMessage>, core: ActorRef<CoreMessage>) => {
    const capsules = config.policy?.capsules;
    if (capsules === undefined || config.capsules === undefined) return undefined;
    const { runtime, trustedAuthors } = config.capsules;
    const signatures = config.signatureVerifier ?? new SignatureVerifier();
    return ctx.spawn(() =>
      capsuleDistributor({
        registry: capsules,
        runtime,
        trustedAuthors: new Set(trustedAuthors),
        verify: (did, bytes, signature) => signatures.verify(did, signature, bytes),
        core,
      }), { name: "capsules" });
  };
  return {
    preStart(ctx) {
      const core = ctx.spawn(() =>
        nodeCore({
          identity: config.identity,
          decideLog: config.decideLog,
          params: config.params,
          verifiers: config.verifiers,
          policyHash: config.policyHash,
          audit: config.audit,
          signatureVerifier: config.signatureVerifier,
          onAccepted: config.onAccepted,
          onEffect: config.onEffect,
          decideMode: config.decideMode,
          mutations: config.mutations,
          bootstrap: config.bootstrap,
          policy: config.policy,
          economics: registry === undefined ? undefined : { registry },
        }), { name: "core", mailbox: { capacity: 1_000_000 } });
      const did = config.identity.did;
      const { roles } = config;
      if (roles.planner) {
        ctx.spawn(
          () =>
            planner({
              core,
              name: config.nodeId,
              did,
              params: config.params,
              planners: config.planners,
            }),
          { name: "planner" },
        );
      }
      if (roles.verifier) {
        ctx.spawn(() =>
          verifier({
            core,
            did,
            verifiers: new Set(config.verifiers),
            params: config.params,
            cas: config.cas,
            capsule: () => config.policy?.capsules.current().capsuleHash ?? config.policyHash,
            commitGate: config.policy?.commit,
            artifactRecheckMs: config.artifactRecheckMs,
            approveEverything: config.byzantine?.approveEverything,
            forgeEvalDigest: config.byzantine?.forgeEvalDigest,
          }, config.verifierStats), { name: "verifier", mailbox: { capacity: 1_000_000 } });
      }
      if (roles.worker) {
        ctx.spawn(() =>
          worker({
            core,
            did,
            decideLog: config.decideLog,
            cas: config.cas,
            leaseTtlMs: config.leaseTtlMs ?? config.params.leaseTtlMinMs,
            heartbeatIntervalMs: config.heartbeatIntervalMs ??
              Math.floor(config.params.leaseTtlMinMs / 3),
            leaseRetentionMs: config.params.decideRetentionMs,
            workers: config.workers,
            wrongOutput: config.byzantine?.wrongOutput,
            understateTelemetry: config.byzantine?.understateTelemetry,
            loseFirstClaims: config.byzantine?.loseFirstClaims,
          }), { name: "worker", mailbox: { capacity: 1_000_000 } });
      }
      let shard: ActorRef<DeciderMessage> | undefined;
      const assignment = config.bucketAssignment;
      if ((roles.deciderBuckets?.length ?? 0) > 0 || assignment !== undefined) {
        shard = ctx.spawn(
          () =>
            decider(
              {
                core,
                did,
                decideLog: config.decideLog,
                buckets: assignment?.() ?? roles.deciderBuckets ?? [],
                params: config.params,
                cas: config.cas,
              },
              config.deciderStats,
            ),
          { name: "decider", mailbox: { capacity: 1_000_000 } },
        );
      }
      if (roles.challenger) {
        ctx.spawn(() =>
          challenger({
            core,
            did,
            cas: config.cas,
            params: config.params,
            auditShare: config.auditShare,
            challengeEverything: config.byzantine?.challengeEverything,
          }, config.challengerStats), { name: "challenger", mailbox: { capacity: 1_000_000 } });
      }
      ctx.spawn(() =>
        bootstrapMonitor({
          core,
          params: config.params,
          activeVerifierCount: () => config.verifiers.length,
          onTransition: config.onBootstrapTransition,
        }), { name: "bootstrap-monitor" });
      const epochs = ctx.spawn(() => epochManager({ core, decideLog: config.decideLog }), {
        name: "epoch-manager",
      });
      const { retention } = config;
      if (retention !== undefined) {
        ctx.spawn(() => retentionSweeper(retention), { name: "retention" });
      }
      const front = roles.requester
        ? ctx.spawn(
          () => requester({ core, prefix: config.nodeId, openMax: config.requesterOpenMax }),
          {
            name: "requester",
            mailbox: { capacity: 1_000_000 },
          },
        )
        : undefined;
      refs = {
        core,
        requester: front,
        epochManager: epochs,
        capsules: distributor(ctx, core),
        decider: shard,
      };
    },
    receive(_ctx, message) {
      if (refs !== undefined) message.replyTo.tell(refs);
    },
  };
}

/** Supervision of a node: any child failing restarts them all (they depend on the core). */
export const SWARM_NODE_SUPERVISION = {
  kind: "one-for-all",
  maxRestarts: 10,
  withinMs: 60_000,
} as const;

/**
 * The protocol workload of a `run node` process: this node's identity, its
 * decide log (Deno KV in the data directory, or etcd), content store and
 * audit log, and the swarm node actors on the node's actor system.
 *
 * @module
 */

import type { ActorSystem } from "../runtime/system.ts";
import { DECIDE_BUCKETS, type DecideLog } from "../runtime/store/decide_log.ts";
import { DenoKvStore } from "../runtime/store/deno_kv_store.ts";
import { StoreDecideLog } from "../runtime/store/store_decide_log.ts";
import { FileContentStore } from "../runtime/store/file_content_store.ts";
import { FileFrameLogDirectory } from "../runtime/store/file_frame_log.ts";
import { SignedAuditLog } from "../protocols/audit/mod.ts";
import type { Identity } from "../protocols/identity/mod.ts";
import { swarmParams } from "../protocols/params.ts";
import {
  SWARM_NODE_SUPERVISION,
  swarmNode,
  type SwarmNodeMessage,
  type SwarmNodeRefs,
} from "../actors/swarm_node.ts";
import { connectEtcd, POLICY_NONE } from "./local_swarm.ts";
import { loadBasePolicy } from "./_node_policy.ts";

/** Settings of a node's protocol workload. */
export interface NodeSwarmOptions {
  readonly nodeId: string;
  readonly dataDir: string;
  readonly identity: Identity;
  readonly consensus: "kv" | "etcd";
  readonly etcdEndpoints: readonly string[];
  readonly challengeWindowMs: number;
  /** Run the Cedar policy gates. */
  readonly policy: boolean;
  /** DIDs of the swarm's verifiers and workers; default this node alone. */
  readonly peers?: readonly string[];
}

/** A running protocol workload. */
export interface NodeSwarm {
  readonly refs: SwarmNodeRefs;
  readonly did: string;
  close(): Promise<void>;
}

/** Opens the node's adapters and spawns the swarm node actors. */
export async function startNodeSwarm(
  system: ActorSystem,
  options: NodeSwarmOptions,
): Promise<NodeSwarm> {
  const decideLog: DecideLog = options.consensus === "etcd"
    ? await connectEtcd(options.etcdEndpoints)
    : new StoreDecideLog(await DenoKvStore.open(`${options.dataDir}/decide.kv`), true);
  const audit = new SignedAuditLog(
    await FileFrameLogDirectory.open(`${options.dataDir}/audit`),
    options.identity,
  );
  const members = options.peers ?? [options.identity.did];
  const cas = await FileContentStore.open(`${options.dataDir}/cas`);
  const policy = options.policy ? await loadBasePolicy() : undefined;
  const parent = system.spawn<SwarmNodeMessage>(() =>
    swarmNode({
      nodeId: options.nodeId,
      identity: options.identity,
      roles: {
        planner: true,
        verifier: true,
        worker: true,
        requester: true,
        challenger: true,
        deciderBuckets: Array.from({ length: DECIDE_BUCKETS }, (_, bucket) => bucket),
      },
      verifiers: members,
      workers: members,
      decideLog,
      cas,
      params: swarmParams({ challengeWindowMs: options.challengeWindowMs }),
      policyHash: policy?.capsuleHash ?? POLICY_NONE,
      policy: policy?.gates(),
      audit,
    }), { name: "node", supervision: SWARM_NODE_SUPERVISION });
  const refs = await system.ask<SwarmNodeMessage, SwarmNodeRefs>(
    parent,
    (replyTo) => ({ type: "refs", replyTo }),
  );
  return {
    refs,
    did: options.identity.did,
    close: async () => {
      await audit.close();
      await decideLog.close();
    },
  };
}

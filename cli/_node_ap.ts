/**
 * AP mode of a `run node` process (`--consensus ap`): the node's own
 * decide-log replica in its data directory (`decide-ap.kv`), the requests
 * it serves its peers on the libp2p transport (`ap-call`, `ap-push`,
 * `ap-sync`, members only), and the coordinator that homes buckets, lends
 * those of unreachable owners and merges replicas on reconnection
 * (`_ap_decide_log.ts`, `_ap_coordinator.ts`).
 *
 * @module
 */

import type { ActorSystem } from "../runtime/system.ts";
import { DECIDE_BUCKETS } from "../runtime/store/decide_log.ts";
import { DenoKvStore } from "../runtime/store/deno_kv_store.ts";
import type { Libp2pTransport } from "../runtime/transport/libp2p_transport.ts";
import type { RpcCaller } from "../runtime/transport/_rpc.ts";
import { publicKeyOfPeer } from "../runtime/transport/node_identity.ts";
import type { DeciderMessage } from "../actors/decider.ts";
import { ApReplica } from "../protocols/consensus/ap_replica.ts";
import { didKeyFromPublicKey } from "../protocols/identity/did_key.ts";
import { ApDecideLog, type ApNetwork } from "./_ap_decide_log.ts";
import { ApCoordinator } from "./_ap_coordinator.ts";
import { borrowerOf } from "./_ap_lending.ts";
import { AP_METHODS } from "./_ap_wire.ts";
import { UsageError } from "./args.ts";
import { bucketOwners, parseBuckets, type SwarmMember } from "./_swarm_members.ts";

/** Timeout of one AP request to a peer. */
const AP_REQUEST_TIMEOUT_MS = 4_000;

/** A node's AP decide service. */
export interface NodeAp {
  /** The buckets this node owns (its `--buckets`, and its share of buckets no member lists). */
  readonly buckets: readonly number[];
  readonly log: ApDecideLog;
  readonly coordinator: ApCoordinator;
  /** What /decisions serves: every decision this replica holds, and the AP counters. */
  decisions(): Record<string, unknown>;
  /** Stops the coordinator and closes the replica's store. */
  close(): Promise<void>;
}

/** Opens the AP decide service of node `nodeId`. */
export async function openNodeAp(options: {
  readonly nodeId: string;
  readonly did: string;
  readonly dataDir: string;
  readonly members: readonly SwarmMember[];
  /** This node's `--buckets`. */
  readonly buckets: readonly number[];
  readonly libp2p: Libp2pTransport | undefined;
  /** Where the node's actors run (the coordinator asks the decider what it holds). */
  readonly system?: ActorSystem;
  readonly lendAfterMs?: number;
}): Promise<NodeAp> {
  const { nodeId, members, libp2p } = options;
  const owners = apOwners(members, nodeId, options.buckets);
  const memberDids = new Map(members.map((member) => [member.node, member.did]));
  const connected = () =>
    libp2p === undefined ? [] : libp2p.connectedPeers().flatMap((peer) => {
      const node = libp2p.directory.nodeOf(peer);
      return node !== undefined && node !== nodeId && memberDids.has(node) ? [node] : [];
    });
  const coordinator = new ApCoordinator({
    self: nodeId,
    did: options.did,
    owners,
    members: members.map((member) => member.node),
    connected,
    lendAfterMs: options.lendAfterMs,
    askOwned: options.system === undefined
      ? undefined
      : (decider) =>
        options.system!.ask<DeciderMessage, readonly number[]>(
          decider,
          (replyTo) => ({ type: "owned", replyTo }),
          { timeoutMs: 2_000 },
        ),
  });
  const network: ApNetwork = {
    self: nodeId,
    call: (node, method, body) => {
      if (libp2p === undefined) return Promise.reject(new Error(`No network to reach ${node}`));
      return libp2p.request(node, method, body, { timeoutMs: AP_REQUEST_TIMEOUT_MS });
    },
    connected,
  };
  const store = await DenoKvStore.open(`${options.dataDir}/decide-ap.kv`);
  // Records past their retention go, on this host's clock (as the store's expiries do).
  const replica = await ApReplica.open(nodeId, store, () => Date.now());
  const log = new ApDecideLog(replica, network, {
    homeOf: (bucket) => coordinator.homeOf(bucket),
    isMember: (node) => node !== undefined,
    onAbsorb: (result) => coordinator.onAbsorb(result),
  });
  if (libp2p !== undefined) {
    // A caller counts as a member when the node id it said hello with is listed with its key.
    const member = (caller: RpcCaller) => memberOf(caller, memberDids);
    libp2p.handle(AP_METHODS.call, (body, caller) => log.serveCall(body, member(caller)));
    libp2p.handle(AP_METHODS.push, (body, caller) => log.servePush(body, member(caller)));
    libp2p.handle(AP_METHODS.sync, (body, caller) => log.serveSync(body, member(caller)));
  }
  return {
    buckets: [...owners].filter(([, owner]) => owner === nodeId).map(([bucket]) => bucket).sort(
      (left, right) => left - right,
    ),
    log,
    coordinator,
    decisions: () => ({
      node: nodeId,
      epoch: replica.epochNow,
      decisions: Object.fromEntries(
        replica.decisionsNow().sort((a, b) => a.needId < b.needId ? -1 : 1).map((record) => [
          record.needId,
          {
            proposalId: record.proposalId,
            decider: record.decider,
            epoch: record.epoch,
            lamport: record.lamport,
          },
        ]),
      ),
      stats: { ...log.stats, ...coordinator.stats },
    }),
    close: async () => {
      coordinator.stop();
      await log.close();
      await store.close();
    },
  };
}

/** The caller's node id when its key is the one the members file lists for it. */
function memberOf(caller: RpcCaller, dids: ReadonlyMap<string, string>): string | undefined {
  if (caller.node === undefined) return undefined;
  try {
    const did = didKeyFromPublicKey(publicKeyOfPeer(caller.peer));
    return dids.get(caller.node) === did ? caller.node : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The owner of each bucket: the members file's `buckets` (this node's must
 * match its `--buckets`), or this node alone. A bucket no member lists goes
 * to the listed decider that ranks first for it (rendezvous), so every
 * bucket has one owner every node agrees on.
 *
 * @throws {UsageError} when the file lists no buckets, or disagrees with `--buckets`.
 */
export function apOwners(
  members: readonly SwarmMember[],
  nodeId: string,
  buckets: readonly number[],
): Map<number, string> {
  if (members.length === 1 && members[0].node === nodeId && members[0].buckets === undefined) {
    return new Map(buckets.map((bucket) => [bucket, nodeId]));
  }
  if (members.every((member) => member.buckets === undefined)) {
    throw new UsageError(
      '--consensus ap needs every decider\'s buckets in the members file ("buckets": "0/2")',
    );
  }
  const listed = members.find((member) => member.node === nodeId)?.buckets;
  if (listed !== undefined && parseBuckets(listed).join(",") !== buckets.join(",")) {
    throw new UsageError(
      `--buckets disagrees with the members file, which gives ${nodeId} the buckets ${listed}`,
    );
  }
  const owners = bucketOwners(members);
  const deciders = [...new Set(owners.values())];
  for (let bucket = 0; bucket < DECIDE_BUCKETS; bucket++) {
    const owner = owners.has(bucket) ? undefined : borrowerOf(bucket, deciders);
    if (owner !== undefined) owners.set(bucket, owner);
  }
  return owners;
}

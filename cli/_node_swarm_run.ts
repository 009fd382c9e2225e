/**
 * Starting the protocol workload of `run node`: the content store (local
 * files, and on libp2p fetched from peers and served to them), the swarm
 * node actors, the glue that keeps a node caught up with its peers, and
 * the HTTP API (with the partition gate under `--admin`).
 *
 * @module
 */

import type { ActorRef } from "../runtime/actor.ts";
import type { ActorSystem } from "../runtime/system.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import { FetchingContentStore } from "../runtime/store/fetching_content_store.ts";
import { FileContentStore } from "../runtime/store/file_content_store.ts";
import type { Libp2pTransport, TransportEvent } from "../runtime/transport/libp2p_transport.ts";
import type { Identity } from "../protocols/identity/identity.ts";
import type { RequesterMessage } from "../actors/requester.ts";
import type { CoreMessage } from "../actors/swarm_messages.ts";
import { serveHttpApi } from "./http_api.ts";
import { startNodeSwarm, type SwarmSettings } from "./_node_swarm.ts";
import { type NodeAp, openNodeAp } from "./_node_ap.ts";
import type { SwarmMember } from "./_swarm_members.ts";
import type { CachingSignatureVerifier } from "./_swarm_wire.ts";
import type { CryptoThread } from "../runtime/crypto_thread.ts";

/** What the workload needs from `run node`. */
export interface SwarmWorkloadOptions {
  readonly nodeId: string;
  readonly dataDir: string;
  readonly identity: Identity;
  readonly settings: SwarmSettings;
  readonly members: readonly SwarmMember[] | undefined;
  /** Shared with the transport's ingress validator. */
  readonly verifier: CachingSignatureVerifier;
  /** Where the node signs (the verifier checks signatures there too). */
  readonly cryptoThread: CryptoThread;
  readonly libp2p: Libp2pTransport | undefined;
  /** Where transport events reach the workload. */
  readonly hooks: {
    onHello?: (event: Extract<TransportEvent, { type: "node-hello" }>) => void;
  };
  /** Prints one status line. */
  readonly print: (
    line: { event: "swarm" | "member-mismatch"; node: string; [field: string]: unknown },
  ) => void;
}

/** Waits of a verifier before checking again a commit whose artifact no peer gave it. */
const ARTIFACT_RECHECK_MS = [1_000, 2_000, 4_000] as const;

/** A running protocol workload. */
export interface SwarmWorkload {
  readonly core: ActorRef<CoreMessage>;
  /** Stops the HTTP API and the resync timer (before the actors stop). */
  stopServing(): Promise<void>;
  /** Closes the decide log and the audit log (after the actors stopped). */
  close(): Promise<void>;
}

/** Starts the workload on `system`. */
export async function startSwarmWorkload(
  system: ActorSystem,
  options: SwarmWorkloadOptions,
): Promise<SwarmWorkload> {
  const { nodeId, settings, libp2p } = options;
  const local = await FileContentStore.open(`${options.dataDir}/cas`);
  const net = libp2p === undefined ? undefined : await import("./_node_swarm_network.ts");
  let cas: ContentStore = local;
  let fetching: FetchingContentStore | undefined;
  if (libp2p !== undefined && net !== undefined) {
    net.serveBlocks(libp2p, local);
    cas = fetching = new FetchingContentStore(local, net.networkBlockFetcher(libp2p));
  }
  // AP mode: this node's own replica, served to its peers (see `_node_ap.ts`).
  const ap: NodeAp | undefined = settings.consensus !== "ap" ? undefined : await openNodeAp({
    nodeId,
    did: options.identity.did,
    dataDir: options.dataDir,
    members: options.members ??
      [{ node: nodeId, did: options.identity.did, roles: settings.roles }],
    buckets: settings.buckets,
    libp2p,
    system,
  });
  const swarm = await startNodeSwarm(system, {
    nodeId,
    dataDir: options.dataDir,
    identity: options.identity,
    settings: ap === undefined ? settings : { ...settings, buckets: ap.buckets },
    members: options.members,
    cas,
    // Artifacts come from peers: one out of reach for a moment is checked again, not failed.
    artifactRecheckMs: fetching === undefined ? undefined : ARTIFACT_RECHECK_MS,
    signatureVerifier: options.verifier,
    decideLog: ap?.log,
    cryptoThread: options.cryptoThread,
  });
  ap?.coordinator.start(ap.log, swarm.refs);
  const resync = libp2p !== undefined && net !== undefined
    ? new net.HelloResync(libp2p)
    : undefined;
  let mismatches = 0;
  options.hooks.onHello = (event) => {
    // AP: the peer's decisions are merged here before its threads are asked for.
    if (ap === undefined) resync?.onHello(event.node);
    else void ap.coordinator.onHello(event.node).then(() => resync?.onHello(event.node));
    const warning = options.members === undefined
      ? undefined
      : net?.memberMismatch(options.members, event);
    if (warning === undefined) return;
    mismatches++;
    options.print({ event: "member-mismatch", node: nodeId, peer: event.peer, warning });
  };
  const partition = libp2p !== undefined && settings.admin
    ? net?.partitionControl(libp2p)
    : undefined;
  const api = settings.httpPort === undefined ? undefined : serveHttpApi({
    nodeId,
    did: swarm.did,
    system,
    core: swarm.refs.core,
    requester: swarm.refs.requester as ActorRef<RequesterMessage> | undefined,
    health: () => ({
      roles: settings.roles,
      buckets: (ap?.buckets ?? settings.buckets).length,
      decider: swarm.deciderStats,
      verifier: swarm.verifierStats,
      retention: swarm.retentionStats,
      signaturesVerifiedOnce: options.verifier.hits,
      blocks: fetching?.stats,
      syncRequests: resync?.requests,
      memberMismatches: mismatches,
      peers: libp2p?.connectedPeers().length,
      knownNodes: libp2p?.directory.nodes().sort(),
      gossipScores: libp2p === undefined ? undefined : Object.fromEntries(
        libp2p.connectedPeers().map((peer) => [
          libp2p.directory.nodeOf(peer) ?? peer,
          Math.round(gossipScore(libp2p, peer) * 10) / 10,
        ]),
      ),
      transport: libp2p?.stats.snapshot(),
      ap: ap === undefined ? undefined : { ...ap.log.stats, ...ap.coordinator.stats },
      peerScores: libp2p === undefined ? undefined : Object.fromEntries(
        libp2p.peerScores().map((view) => [
          libp2p.directory.nodeOf(view.peer) ?? view.peer,
          Math.round(view.score),
        ]),
      ),
    }),
    policy: { system, capsules: swarm.refs.capsules, epochManager: swarm.refs.epochManager },
    decisions: ap?.decisions,
    admin: partition === undefined ? undefined : {
      partition: (targets) => partition.block(targets),
      partitionState: () => partition.state(),
    },
  }, { port: settings.httpPort });
  options.print({
    event: "swarm",
    node: nodeId,
    did: swarm.did,
    consensus: settings.consensus,
    roles: settings.roles,
    buckets: (ap?.buckets ?? settings.buckets).length,
    http: api?.port,
  });
  return {
    core: swarm.refs.core,
    stopServing: async () => {
      resync?.close();
      ap?.coordinator.stop();
      // No more calls to peers: the actors are about to stop, and the process must exit promptly.
      await ap?.log.close();
      options.hooks.onHello = undefined;
      await api?.close();
    },
    close: async () => {
      await swarm.close();
      await ap?.close();
    },
  };
}

/** Gossipsub's own score of a peer (the router has it; its type does not say so). */
function gossipScore(libp2p: Libp2pTransport, peer: string): number {
  return (libp2p.node.services.pubsub as unknown as { getScore(peer: string): number })
    .getScore(peer);
}

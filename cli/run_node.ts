/**
 * `can-swarm run node`: one long-running node until SIGINT/SIGTERM or
 * `--duration-ms`. The store is Deno KV in the data directory. The transport
 * is in-process by default (a node alone), or libp2p (`--transport libp2p`)
 * to join other node processes on this host or the LAN. The node's one key
 * (`<data-dir>/identity.key`) is both its `did:key` and its libp2p PeerId.
 *
 * With the protocol workload on libp2p, each process plays the roles it is
 * given (`--roles`) and decides its share of the buckets (`--buckets`), all
 * nodes share one members file (`--members`) and one CP decide log (etcd),
 * envelopes travel on the shard topics, artifacts are fetched from peers,
 * and the node catches up with its peers whenever one says hello.
 *
 * @module
 */

import { type NodeStatus, nodeStatus } from "../actors/node_status.ts";
import type { CoreMessage, CoreStats } from "../actors/swarm_messages.ts";
import type { ActorRef } from "../runtime/actor.ts";
import { RealEnv } from "../runtime/real_env.ts";
import { ActorSystem } from "../runtime/system.ts";
import { stderrLogSink } from "../runtime/log.ts";
import type { Libp2pTransport, TransportEvent } from "../runtime/transport/libp2p_transport.ts";
import type { Transport } from "../runtime/transport/transport.ts";
import type { SignatureVerifier } from "../protocols/identity/identity.ts";
import {
  choiceFlag,
  type CommandSpec,
  integerFlag,
  numberFlag,
  type ParsedFlags,
  UsageError,
} from "./args.ts";
import {
  NETWORK_FLAGS,
  type NetworkSettings,
  networkSettings,
  startNetwork,
} from "./_node_network.ts";
import { CHATTER_TOPIC, type ChatterTotals, spawnNodeChatter } from "./_node_workload.ts";
import { SWARM_FLAGS, swarmSettings, withMemberRoles } from "./_node_swarm.ts";
import { startSwarmWorkload } from "./_node_swarm_run.ts";
import { checkSelf, loadMembers } from "./_swarm_members.ts";
import { CachingSignatureVerifier } from "./_swarm_wire.ts";
import { CryptoThread } from "../runtime/crypto_thread.ts";
import { loadNodeIdentity } from "./node_identity.ts";

/** Flags of `run node`. */
export const RUN_NODE_SPEC: CommandSpec = {
  name: "run node",
  summary: "Run one CAN Swarm node until interrupted (in-process, or on libp2p with others).",
  flags: {
    "node-id": {
      type: "string",
      value: "ID",
      description: "Identifier of this node",
      default: "node-0",
    },
    "data-dir": {
      type: "string",
      value: "DIR",
      description: "Where the node keeps its store and its key",
      default: "./data/<node-id>",
    },
    "heartbeat-ms": {
      type: "string",
      value: "MS",
      description: "Interval of status lines",
      default: "5000",
    },
    "duration-ms": {
      type: "string",
      value: "MS",
      description: "Stop after this long (0 = run until SIGINT)",
      default: "0",
    },
    ...NETWORK_FLAGS,
    workload: {
      type: "string",
      value: "NAME",
      description:
        "swarm (the protocol roles), chatter (chat with the chatters of --peers), or none",
      default: "swarm",
    },
    ...SWARM_FLAGS,
    peers: {
      type: "string",
      value: "IDS",
      description: "chatter: comma-separated node ids that run chatters (default: this node)",
    },
    "actors-per-node": {
      type: "string",
      value: "N",
      description: "chatter: chatters on each node",
      default: "2",
    },
    messages: {
      type: "string",
      value: "N",
      description: "chatter: chats each chatter originates",
      default: "1000000",
    },
    "pause-max-ms": {
      type: "string",
      value: "MS",
      description: "chatter: longest pause between two chats",
      default: "20",
    },
    json: { type: "boolean", description: "Print status as JSON lines" },
  },
  notes: [
    "The node keeps a Deno KV store at <data-dir>/store.kv (one process at a time) and its",
    "Ed25519 key at <data-dir>/identity.key (mode 0600): the key is its did:key and its PeerId.",
    "A swarm of processes: give every node the same --members file, --consensus etcd, and",
    "a share of the buckets each (--buckets 0/3, 1/3, 2/3); run swarm --processes N does it all.",
    "AP instead of etcd: --consensus ap keeps a decide-log replica in <data-dir>/decide-ap.kv;",
    "the members file then lists each member's buckets, and a partition lends an unreachable",
    "owner's buckets to a decider on this side (decisions merge when the partition heals).",
    "Example: run node --transport libp2p --node-id n1 --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3…",
  ].join("\n"),
};

/** A status line of a running node. */
interface NodeReport {
  readonly event: "ready" | "swarm" | "status" | "stopped" | "member-mismatch";
  readonly node: string;
  readonly [field: string]: unknown;
}

/** Runs a node; resolves with the exit code. */
export async function runNode(flags: ParsedFlags): Promise<number> {
  const nodeId = typeof flags["node-id"] === "string" ? flags["node-id"] : "node-0";
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(nodeId)) {
    throw new UsageError(
      `--node-id must be 1-64 letters, digits or -_.: characters, got '${nodeId}'`,
    );
  }
  const dataDir = typeof flags["data-dir"] === "string" ? flags["data-dir"] : `./data/${nodeId}`;
  const heartbeatMs = integerFlag(flags, "heartbeat-ms", 5_000, 10);
  const durationMs = integerFlag(flags, "duration-ms", 0, 0);
  const settings = networkSettings(flags);
  const workload = choiceFlag(flags, "workload", ["swarm", "chatter", "none"] as const, "swarm");
  let swarmSettingsRead = workload === "swarm" ? swarmSettings(flags) : undefined;
  if (swarmSettingsRead?.admin && settings.transport !== "libp2p") {
    throw new UsageError("--admin controls the network: it needs --transport libp2p");
  }
  const chatterOptions = {
    nodes: typeof flags.peers === "string"
      ? flags.peers.split(",").map((id) => id.trim()).filter((id) => id !== "")
      : [nodeId],
    actorsPerNode: integerFlag(flags, "actors-per-node", 2, 1, 1_000),
    messageBudget: integerFlag(flags, "messages", 1_000_000, 1),
    pauseMaxMs: numberFlag(flags, "pause-max-ms", 20, 0, 60_000),
  };
  const json = flags.json === true;
  const print = (report: NodeReport) =>
    console.log(json ? JSON.stringify(report) : renderReport(report));
  // Listen for SIGINT/SIGTERM from the start: a signal during start-up still stops cleanly.
  const stop = stopRequest();
  const key = await loadNodeIdentity(dataDir);
  const members = swarmSettingsRead?.membersPath === undefined
    ? undefined
    : await loadMembers(swarmSettingsRead.membersPath);
  if (members !== undefined) {
    checkSelf(members, nodeId, key.identity.did);
    swarmSettingsRead = withMemberRoles(swarmSettingsRead!, members, nodeId);
  }
  // Signatures are made and checked on a crypto thread, beside the actors.
  const cryptoThread = new CryptoThread();
  try {
    const verifier = new CachingSignatureVerifier(undefined, cryptoThread);
    const hooks: NetworkHooks = {};
    const network = await openTransport(nodeId, key.seed, settings, {
      json,
      swarm: workload === "swarm" ? verifier : undefined,
      hooks,
    });
    const env = await RealEnv.open({
      nodeId,
      storePath: `${dataDir}/store.kv`,
      transport: network.transport,
    });
    const system = ActorSystem.create(env, { log: stderrLogSink("warn") });
    print({
      event: "ready",
      node: nodeId,
      transport: settings.transport,
      store: `${dataDir}/store.kv`,
      did: key.identity.did,
      peer: network.libp2p?.peerId,
      addrs: network.libp2p?.addresses,
    });
    const swarm = swarmSettingsRead === undefined ? undefined : await startSwarmWorkload(system, {
      nodeId,
      dataDir,
      identity: key.identity,
      settings: swarmSettingsRead,
      members,
      verifier,
      cryptoThread,
      libp2p: network.libp2p,
      hooks,
      print,
    });
    const workers = workload === "chatter" ? spawnNodeChatter(system, chatterOptions) : undefined;
    const sample = workers?.sample;
    const onHeartbeat = (status: NodeStatus) => {
      void statusReport(status, system, network.libp2p, sample, swarm?.core).then(print);
    };
    system.spawn(() => nodeStatus({ heartbeatMs, onHeartbeat }), { name: "status" });
    if (workers !== undefined) {
      // A stop request ends the wait: a node must exit on SIGTERM even before its peers came.
      let stopping = false;
      const stopped = stop.stopped.then(() => void (stopping = true));
      await Promise.race([
        untilPeersReady(network.libp2p, chatterOptions.nodes, () => stopping),
        stopped,
      ]);
      workers.start();
    }
    stop.arm(durationMs);
    await stop.stopped;
    await swarm?.stopServing();
    await system.terminate();
    await swarm?.close();
    await env.close();
  } finally {
    cryptoThread.close();
  }
  print({ event: "stopped", node: nodeId });
  return 0;
}

/** Callbacks the transport's events reach once the workload is up. */
interface NetworkHooks {
  onHello?: (event: Extract<TransportEvent, { type: "node-hello" }>) => void;
}

async function openTransport(
  nodeId: string,
  seed: Uint8Array,
  settings: NetworkSettings,
  options: { json: boolean; swarm: SignatureVerifier | undefined; hooks: NetworkHooks },
): Promise<{ transport: Transport | undefined; libp2p: Libp2pTransport | undefined }> {
  if (settings.transport === "inproc") return { transport: undefined, libp2p: undefined };
  const onEvent = (event: TransportEvent) => {
    if (event.type === "node-hello") return options.hooks.onHello?.(event);
    if (event.type === "node-bound") return;
    const line = { event: "transport", node: nodeId, ...event };
    if (options.json) console.log(JSON.stringify(line));
    else console.error(`${nodeId}: ${event.type} ${JSON.stringify(event)}`);
  };
  const extra = options.swarm === undefined
    ? {}
    : (await import("./_node_swarm_network.ts")).swarmTransportOptions(options.swarm);
  const libp2p = await startNetwork(nodeId, seed, settings, onEvent, extra);
  return { transport: libp2p, libp2p };
}

/**
 * Waits (up to 30 s, or until a stop is requested) until the chatter nodes
 * are known and subscribed to the news topic.
 */
async function untilPeersReady(
  libp2p: Libp2pTransport | undefined,
  nodes: string[],
  stopping: () => boolean,
) {
  if (libp2p === undefined) return;
  const deadline = performance.now() + 30_000;
  try {
    await libp2p.whenKnown(nodes, 30_000);
    while (
      libp2p.topicPeers(CHATTER_TOPIC).length < nodes.length - 1 &&
      performance.now() < deadline && !stopping()
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    console.error(`starting the workload without every peer: ${(error as Error).message}`);
  }
}

async function statusReport(
  status: NodeStatus,
  system: ActorSystem,
  libp2p: Libp2pTransport | undefined,
  sample: (() => Promise<ChatterTotals>) | undefined,
  core: ActorRef<CoreMessage> | undefined,
): Promise<NodeReport> {
  const swarm = core === undefined ? undefined : await system.ask<CoreMessage, CoreStats>(
    core,
    (replyTo) => ({ type: "stats", replyTo }),
    { timeoutMs: 2_000 },
  ).catch(() => undefined);
  return {
    event: "status",
    node: status.nodeId,
    boots: status.boots,
    uptimeMs: Math.round(status.uptimeMs),
    actors: system.actorCount,
    deadLetters: system.events.count("dead-letter"),
    chatter: sample === undefined ? undefined : await sample(),
    swarm,
    peers: libp2p?.connectedPeers().length,
    connected: libp2p?.connectedPeers().map((peer) => libp2p.directory.nodeOf(peer) ?? peer).sort(),
    knownNodes: libp2p?.directory.nodes().sort(),
    transport: libp2p?.stats.snapshot(),
    backlog: libp2p?.backlog(),
  };
}

function renderReport(report: NodeReport): string {
  switch (report.event) {
    case "ready":
      return `node ${report.node} started · store ${report.store} · transport ${report.transport}` +
        (report.peer
          ? ` · peer ${report.peer}\n  listening on ${(report.addrs as string[]).join(", ")}`
          : "") +
        " · Ctrl-C to stop";
    case "stopped":
      return `node ${report.node} stopped`;
    case "swarm":
      return `  swarm roles up (${(report.roles as string[]).join(", ")}; ${report.buckets} ` +
        `buckets) · did ${report.did} · decide log ${report.consensus}` +
        (report.http === undefined ? "" : ` · http://127.0.0.1:${report.http}/needs`);
    case "member-mismatch":
      return `  warning: ${report.warning}`;
    default: {
      const chatter = report.chatter as ChatterTotals | undefined;
      return [
        `node ${report.node} · boot #${report.boots} · up ${
          ((report.uptimeMs as number) / 1000).toFixed(1)
        } s · ${report.actors} actors`,
        report.peers === undefined ? "" : ` · ${report.peers} peers`,
        chatter === undefined
          ? ""
          : ` · chats sent ${chatter.sent} received ${chatter.received} acked ${chatter.acknowledged} · news heard ${chatter.heard}`,
      ].join("");
    }
  }
}

/** A stop request: SIGINT or SIGTERM at any time, or a duration counted from when the node is up. */
interface StopRequest {
  readonly stopped: Promise<void>;
  /** Starts the duration (when > 0); call once the node is up. */
  arm(durationMs: number): void;
}

/** Listens for SIGINT and SIGTERM from now on. */
function stopRequest(): StopRequest {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resolveStop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (resolveStop = resolve));
  const stop = () => {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    if (timer !== undefined) clearTimeout(timer);
    resolveStop();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  return {
    stopped,
    arm: (durationMs) => {
      if (durationMs > 0) timer = setTimeout(stop, durationMs);
    },
  };
}

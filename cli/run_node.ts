/**
 * `can-swarm run node`: one long-running node until SIGINT/SIGTERM or
 * `--duration-ms`. The store is Deno KV in the data directory. The transport
 * is in-process by default (a node alone), or libp2p (`--transport libp2p`)
 * to join other node processes on this host or the LAN, with the node's key
 * kept in the data directory.
 *
 * @module
 */

import { type NodeStatus, nodeStatus } from "../actors/node_status.ts";
import { RealEnv } from "../runtime/real_env.ts";
import { ActorSystem } from "../runtime/system.ts";
import { stderrLogSink } from "../runtime/log.ts";
import type { Libp2pTransport, TransportEvent } from "../runtime/transport/libp2p_transport.ts";
import type { Transport } from "../runtime/transport/transport.ts";
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
import { startNodeSwarm } from "./_node_swarm.ts";
import { serveHttpApi } from "./http_api.ts";
import { loadNodeIdentity } from "./node_identity.ts";
import type { RequesterMessage } from "../actors/requester.ts";
import type { ActorRef } from "../runtime/actor.ts";

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
    http: {
      type: "string",
      value: "PORT",
      description: "swarm: serve /health and /needs on 127.0.0.1:PORT (0 = off)",
      default: "8080",
    },
    consensus: {
      type: "string",
      value: "NAME",
      description: "swarm: decide log, kv (Deno KV in the data dir) or etcd",
      default: "kv",
    },
    etcd: {
      type: "string",
      value: "URLS",
      description: "swarm: etcd client URLs, comma-separated",
      default: "http://127.0.0.1:2379",
    },
    "challenge-window-ms": {
      type: "string",
      value: "MS",
      description: "swarm: challenge window before FINALIZE",
      default: "2000",
    },
    policy: {
      type: "string",
      value: "on|off",
      description: "swarm: run the Cedar policy gates",
      default: "on",
    },
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
    "The node keeps a Deno KV store at <data-dir>/store.kv (one process at a time) and, on",
    "libp2p, its Ed25519 key at <data-dir>/node.key (mode 0600): the key is its PeerId.",
    "Example: run node --transport libp2p --node-id n1 --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3…",
  ].join("\n"),
};

/** A status line of a running node. */
interface NodeReport {
  readonly event: "ready" | "swarm" | "status" | "stopped";
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
  const consensus = choiceFlag(flags, "consensus", ["kv", "etcd"] as const, "kv");
  const httpPort = integerFlag(flags, "http", 8080, 0, 65_535);
  const challengeWindowMs = integerFlag(flags, "challenge-window-ms", 2_000, 0, 3_600_000);
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
  await Deno.mkdir(dataDir, { recursive: true });
  const network = await openTransport(nodeId, dataDir, settings, json);
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
    peer: network.libp2p?.peerId,
    addrs: network.libp2p?.addresses,
  });
  const swarm = workload === "swarm"
    ? await startNodeSwarm(system, {
      nodeId,
      dataDir,
      identity: (await loadNodeIdentity(dataDir)).identity,
      consensus,
      etcdEndpoints: typeof flags.etcd === "string"
        ? flags.etcd.split(",").map((url) => url.trim())
        : [],
      challengeWindowMs,
      policy: choiceFlag(flags, "policy", ["on", "off"] as const, "on") === "on",
    })
    : undefined;
  const api = swarm !== undefined && httpPort > 0
    ? serveHttpApi({
      nodeId,
      did: swarm.did,
      system,
      core: swarm.refs.core,
      requester: swarm.refs.requester as ActorRef<RequesterMessage>,
    }, { port: httpPort })
    : undefined;
  if (swarm !== undefined) {
    print({ event: "swarm", node: nodeId, did: swarm.did, consensus, http: api?.port });
  }
  const workers = workload === "chatter" ? spawnNodeChatter(system, chatterOptions) : undefined;
  const sample = workers?.sample;
  const onHeartbeat = (status: NodeStatus) => {
    void statusReport(status, system, network.libp2p, sample).then(print);
  };
  system.spawn(() => nodeStatus({ heartbeatMs, onHeartbeat }), { name: "status" });
  if (workers !== undefined) {
    await untilPeersReady(network.libp2p, chatterOptions.nodes);
    workers.start();
  }
  stop.arm(durationMs);
  await stop.stopped;
  await api?.close();
  await system.terminate();
  await swarm?.close();
  await env.close();
  print({ event: "stopped", node: nodeId });
  return 0;
}

async function openTransport(
  nodeId: string,
  dataDir: string,
  settings: NetworkSettings,
  json: boolean,
): Promise<{ transport: Transport | undefined; libp2p: Libp2pTransport | undefined }> {
  if (settings.transport === "inproc") return { transport: undefined, libp2p: undefined };
  const onEvent = (event: TransportEvent) => {
    if (event.type === "node-bound") return;
    const line = { event: "transport", node: nodeId, ...event };
    if (json) console.log(JSON.stringify(line));
    else console.error(`${nodeId}: ${event.type} ${JSON.stringify(event)}`);
  };
  const libp2p = await startNetwork(nodeId, dataDir, settings, onEvent);
  return { transport: libp2p, libp2p };
}

/** Waits (up to 30 s) until the chatter nodes are known and subscribed to the news topic. */
async function untilPeersReady(libp2p: Libp2pTransport | undefined, nodes: string[]) {
  if (libp2p === undefined) return;
  const deadline = performance.now() + 30_000;
  try {
    await libp2p.whenKnown(nodes, 30_000);
    while (
      libp2p.topicPeers(CHATTER_TOPIC).length < nodes.length - 1 && performance.now() < deadline
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
): Promise<NodeReport> {
  return {
    event: "status",
    node: status.nodeId,
    boots: status.boots,
    uptimeMs: Math.round(status.uptimeMs),
    actors: system.actorCount,
    deadLetters: system.events.count("dead-letter"),
    chatter: sample === undefined ? undefined : await sample(),
    peers: libp2p?.connectedPeers().length,
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
      return `  swarm roles up · did ${report.did} · decide log ${report.consensus}` +
        (report.http === undefined ? "" : ` · http://127.0.0.1:${report.http}/needs`);
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

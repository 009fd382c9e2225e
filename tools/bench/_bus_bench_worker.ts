/**
 * One process of the bus benchmark. Usage:
 *
 *   deno run -A tools/bench/_bus_bench_worker.ts MODE ROLE INDEX BOOTSTRAP SUBSCRIBERS LATENCY_N BURST_N
 *
 * MODE `raw` runs a bare libp2p node with gossipsub (same TCP/noise/yamux,
 * unsigned messages, content-hash ids) and publishes raw bytes; MODE
 * `swarm` runs the CAN Swarm stack (Libp2pTransport under an ActorSystem)
 * and publishes from an actor with `ctx.publish`, received by a subscribed
 * actor. The publisher (ROLE `pub`) waits for SUBSCRIBERS subscribers, sends
 * LATENCY_N paced messages and then BURST_N as fast as it can; each
 * subscriber prints one JSON line with its latencies and receive times.
 *
 * @module
 */

import "../../runtime/transport/_deno_shim.ts";
import { gossipsub, StrictNoSign } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { bootstrap as bootstrapDiscovery } from "@libp2p/bootstrap";
import { createLibp2p } from "libp2p";
import { cpuUsage } from "node:process";
import { RealEnv } from "../../runtime/real_env.ts";
import { ActorSystem } from "../../runtime/system.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { contentMessageId } from "../../runtime/transport/libp2p_node.ts";
import { Libp2pTransport } from "../../runtime/transport/libp2p_transport.ts";
import { ephemeralIdentity } from "../../runtime/transport/node_identity.ts";

const [mode, role, index, bootstrap, subscribersText, latencyText, burstText, topology] = Deno.args;
const subscribers = Number(subscribersText);
const latencyCount = Number(latencyText);
const burstCount = Number(burstText);
const bootstrapList = bootstrap === "-" ? [] : bootstrap.split(",");
const TOPIC = "bench";
const nowMs = () => performance.timeOrigin + performance.now();
/** CPU time (user + system) this process has used, in ms. */
const cpuMs = () => {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
};

/** Paced messages sent first and not measured: the JIT warms up on both stacks alike. */
const WARMUP_COUNT = 200;

/**
 * A message of the benchmark: sequence, send time, phase (0 latency,
 * 1 burst, 2 done, 3 warm-up).
 */
interface Sample {
  seq: number;
  sentAtMs: number;
  phase: number;
}

interface Endpoint {
  addrs: string[];
  publish(sample: Sample): void;
  subscribe(onSample: (sample: Sample) => void): void;
  subscriberCount(): number;
  /** Peers connected (to tell the topology both stacks ran on). */
  peerCount(): number;
  close(): Promise<void>;
}

function encodeSample(sample: Sample): Uint8Array {
  const bytes = new Uint8Array(13);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, sample.seq);
  view.setFloat64(4, sample.sentAtMs);
  view.setUint8(12, sample.phase);
  return bytes;
}

function decodeSample(bytes: Uint8Array): Sample {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { seq: view.getUint32(0), sentAtMs: view.getFloat64(4), phase: view.getUint8(12) };
}

async function rawEndpoint(): Promise<Endpoint> {
  const node = await createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: bootstrapList.length === 0
      ? []
      : [bootstrapDiscovery({ list: bootstrapList, timeout: 10 })],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (message) => contentMessageId(message.data),
        allowPublishToZeroTopicPeers: true,
        floodPublish: true,
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
  });
  return {
    addrs: node.getMultiaddrs().map(String),
    publish: (sample) =>
      void node.services.pubsub.publish(TOPIC, encodeSample(sample)).catch(() => {}),
    subscribe(onSample) {
      node.services.pubsub.subscribe(TOPIC);
      node.services.pubsub.addEventListener(
        "message",
        (event) => onSample(decodeSample(event.detail.data)),
      );
    },
    subscriberCount: () => node.services.pubsub.getSubscribers(TOPIC).length,
    peerCount: () => new Set(node.getConnections().map((c) => c.remotePeer.toString())).size,
    close: async () => await node.stop(),
  };
}

async function swarmEndpoint(): Promise<Endpoint> {
  const nodeId = `bench-${index}`;
  const transport = await Libp2pTransport.start({
    nodeId,
    identity: await ephemeralIdentity(),
    mdns: false,
    dht: false,
    bootstrap: bootstrapList,
    inboundRate: { perSecond: 1_000_000, burst: 1_000_000 },
    ...JSON.parse(Deno.env.get("BENCH_SWARM_OPTIONS") ?? "{}"),
  });
  if (topology === "star" && role === "sub") {
    const hub = bootstrapList[0].split("/p2p/")[1];
    transport.node.addEventListener("peer:connect", (event) => {
      const peer = event.detail.toString();
      const blocked = transport.blockedPeers();
      if (peer !== hub && !blocked.includes(peer)) transport.setBlocked([...blocked, peer]);
    });
  }
  const env = await RealEnv.open({ nodeId, transport });
  const system = ActorSystem.create(env, {
    log: silentLogSink,
    defaultMailbox: { capacity: 100_000 },
  });
  // Both stacks carry the same 13-byte message: the actor publishes the encoded sample.
  const publisher = system.spawn<Sample>(
    () => ({ receive: (ctx, sample) => ctx.publish(TOPIC, encodeSample(sample)) }),
    {
      name: "publisher",
    },
  );
  return {
    addrs: transport.addresses,
    publish: (sample) => publisher.tell(sample),
    subscribe(onSample) {
      system.spawn<Uint8Array>(() => ({
        preStart: (ctx) => ctx.subscribe(TOPIC),
        receive: (_ctx, bytes) => onSample(decodeSample(bytes)),
      }), { name: "subscriber" });
    },
    subscriberCount: () => transport.topicPeers(TOPIC).length,
    peerCount: () => transport.connectedPeers().length,
    async close() {
      await system.terminate();
      await env.close();
    },
  };
}

const endpoint = mode === "raw" ? await rawEndpoint() : await swarmEndpoint();
console.log(JSON.stringify({ event: "ready", addrs: endpoint.addrs }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (role === "pub") {
  const deadline = performance.now() + 30_000;
  while (endpoint.subscriberCount() < subscribers && performance.now() < deadline) await sleep(50);
  await sleep(1_500);
  for (let seq = 0; seq < WARMUP_COUNT; seq++) {
    endpoint.publish({ seq, sentAtMs: nowMs(), phase: 3 });
    await sleep(2);
  }
  await sleep(300);
  const cpuStartMs = cpuMs();
  for (let seq = 0; seq < latencyCount; seq++) {
    endpoint.publish({ seq, sentAtMs: nowMs(), phase: 0 });
    await sleep(2);
  }
  await sleep(300);
  const burstStarted = nowMs();
  for (let seq = 0; seq < burstCount; seq++) {
    endpoint.publish({ seq, sentAtMs: nowMs(), phase: 1 });
    if (seq % 200 === 199) await sleep(0);
  }
  await sleep(3_000);
  const cpuUsedMs = cpuMs() - cpuStartMs;
  for (let repeat = 0; repeat < 3; repeat++) {
    endpoint.publish({ seq: repeat, sentAtMs: burstStarted, phase: 2 });
    await sleep(100);
  }
  console.log(
    JSON.stringify({ event: "published", burstStartedMs: burstStarted, cpuMs: cpuUsedMs }),
  );
} else {
  const latencies: number[] = [];
  let burstReceived = 0;
  let firstBurstSentMs = Infinity;
  let lastBurstReceivedMs = 0;
  let cpuStartMs: number | undefined;
  let cpuUsedMs = 0;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  endpoint.subscribe((sample) => {
    const receivedAt = nowMs();
    if (sample.phase === 0) cpuStartMs ??= cpuMs();
    if (sample.phase === 2 && cpuStartMs !== undefined && cpuUsedMs === 0) {
      cpuUsedMs = cpuMs() - cpuStartMs;
    }
    if (sample.phase === 0) latencies.push(receivedAt - sample.sentAtMs);
    else if (sample.phase === 1) {
      burstReceived++;
      firstBurstSentMs = Math.min(firstBurstSentMs, sample.sentAtMs);
      lastBurstReceivedMs = receivedAt;
    } else if (sample.phase === 2) finished();
  });
  const timer = setTimeout(finished, 60_000);
  await done;
  clearTimeout(timer);
  console.log(JSON.stringify({
    event: "result",
    latencies,
    burstReceived,
    burstSeconds: (lastBurstReceivedMs - firstBurstSentMs) / 1000,
    peers: endpoint.peerCount(),
    cpuMs: cpuUsedMs,
  }));
}
await endpoint.close();
Deno.exit(0);

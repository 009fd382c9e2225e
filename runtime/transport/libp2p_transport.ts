/**
 * The libp2p transport: actor frames between nodes in different processes
 * or on different machines.
 *
 * - Topic frames go over gossipsub (one gossipsub topic per runtime topic,
 *   thread topics on 256 shard topics, see `topics.ts`); message ids are the
 *   content hash of the encoded frame, so gossipsub deduplicates copies.
 * - Direct frames go over one long-lived stream per peer
 *   (`/can-swarm/frames/1.0.0`, length-prefixed, size-limited), which keeps
 *   them in order per sender.
 * - Requests go over `/can-swarm/rpc/1.0.0`, one stream per call.
 * - Node ids map to PeerIds through a `hello` request on every new
 *   connection (authenticated by noise) and periodic announcements on
 *   `/swarm/nodes` (so nodes learn of peers they are not connected to yet).
 * - Every inbound frame is decoded, checked, rate-limited and passed through
 *   the ingress validator before the actor system sees it; offences lower
 *   the peer's score, and a peer below the threshold is disconnected and
 *   banned for a while.
 *
 * @module
 */

import "./_deno_shim.ts";
import { TopicValidatorResult } from "@libp2p/gossipsub";
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { errorCode } from "../errors.ts";
import type { WireValue } from "../wire.ts";
import { FRAME_BYTES_MAX_DEFAULT } from "./frame_check.ts";
import { decodeFrame, encodeFrame, guardFrame, type TopicOrigin } from "./frame_codec.ts";
import { createSwarmLibp2p, type SwarmLibp2p } from "./libp2p_node.ts";
import { NodeDirectory } from "./node_directory.ts";
import { InboundGuard } from "./_inbound_guard.ts";
import { OutboundChannel } from "./_outbound.ts";
import { ParkedFrames } from "./_parked_frames.ts";
import { GossipInbound } from "./_gossip_inbound.ts";
import { PeerScoreBook, type PeerScoreView } from "./peer_score.ts";
import { callRpc, RPC_PROTOCOL, RpcError, type RpcHandler, serveRpc } from "./_rpc.ts";
import { gossipTopicOf, type ThreadRouting } from "./topics.ts";
import type { Frame, FrameHandler, TopicFrame, Transport } from "./transport.ts";
import { TransportStats } from "./transport_stats.ts";
import { ANNOUNCE_TOPIC } from "./ingress.ts";
import { announcementBody, helloBody, parseAnnouncement, parseHello } from "./_announcements.ts";
import {
  FRAMES_PROTOCOL,
  type Libp2pTransportOptions,
  TransportClosedError,
  type TransportEvent,
  type ValidationReporter,
  withTimeout,
} from "./libp2p_support.ts";

export { FRAMES_PROTOCOL, type Libp2pTransportOptions, TransportClosedError, type TransportEvent };

/** Peer score from which gossipsub treats a peer as healthy (app score 0). */
const HEALTHY_SCORE = 80;

/** Hellos tried per new connection before giving up (announcements still bind the node). */
const HELLO_ATTEMPTS_MAX = 5;

/** A node's endpoint on a libp2p network. */
export class Libp2pTransport implements Transport {
  readonly nodeId: string;
  readonly node: SwarmLibp2p;
  readonly stats = new TransportStats();
  readonly scores: PeerScoreBook;
  readonly directory: NodeDirectory;
  readonly network: string;
  readonly #options: Libp2pTransportOptions;
  readonly #frameBytesMax: number;
  readonly #routing: ThreadRouting;
  readonly #handlers = new Map<string, RpcHandler>();
  readonly #channels = new Map<string, OutboundChannel>();
  readonly #topics = new Set<string>();
  readonly #gossipRefs = new Map<string, number>();
  readonly #blocked = new Set<string>();
  readonly #directBlocked = new Set<string>();
  readonly #parked = new ParkedFrames();
  readonly #inbound: InboundGuard;
  readonly #incarnation: Uint8Array = crypto.getRandomValues(new Uint8Array(8));
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Next sequence number per gossip topic this node publishes on. */
  readonly #sequences = new Map<string, number>();
  readonly #gossip: GossipInbound;
  #handler: FrameHandler | undefined;
  #closed = false;

  private constructor(options: Libp2pTransportOptions, node: SwarmLibp2p, scores: PeerScoreBook) {
    this.nodeId = options.nodeId;
    this.node = node;
    this.scores = scores;
    this.network = options.network ?? "can-swarm";
    this.#options = options;
    this.#frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    this.#routing = options.threadRouting ?? "sharded";
    this.directory = new NodeDirectory(options.nodeId, node.peerId.toString());
    this.#inbound = new InboundGuard({
      nodeId: options.nodeId,
      frameBytesMax: this.#frameBytesMax,
      inboundRate: options.inboundRate ?? { perSecond: 5_000, burst: 10_000 },
      ingress: options.ingress,
      isBanned: (peer) => scores.isBanned(peer),
      nodeOf: (peer) => this.directory.nodeOf(peer),
      invalid: (peer, code, message) => this.#invalid(peer, code, message),
      flooded: () => this.stats.count("floodDropped"),
    });
    this.#gossip = new GossipInbound({
      routing: this.#routing,
      guard: this.#inbound,
      reporter: node.services.pubsub as unknown as ValidationReporter,
      holdMs: options.reorderHoldMs ?? 1_500,
      deliver: (frame) => this.#deliverTopic(frame),
      invalid: (peer, code, message) => this.#invalid(peer, code, message),
      count: (what) => this.stats.count(what),
      nowMs: () => performance.now(),
      later: (delayMs, action) => this.#later(delayMs, action),
    });
  }

  /**
   * Starts a libp2p node and its transport.
   *
   * @example
   * ```ts
   * const transport = await Libp2pTransport.start({ nodeId: "node-0", identity, mdns: false });
   * const env = await RealEnv.open({ nodeId: "node-0", transport });
   * ```
   */
  static async start(options: Libp2pTransportOptions): Promise<Libp2pTransport> {
    const started = performance.now();
    const scores = new PeerScoreBook(() => performance.now() - started, options.score);
    const gate = { refuses: (_peer: string, _address?: string) => false };
    const node = await createSwarmLibp2p({
      ...options,
      pubsubMessageBytesMax: options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT,
      // Our score (0-100, 100 = clean) as gossipsub's application score P5: 0 for a
      // healthy peer (80 and up: some slow pings or failed requests under load), so it
      // stays in the mesh (gossipsub keeps only peers scoring >= 0 there); below, -20
      // (no gossip) at 40 and -40 (no publishing to it) at 0; -1,000 while banned.
      appScore: (peer) => {
        if (scores.isBanned(peer)) return -1_000;
        return Math.min(0, (scores.score(peer) - HEALTHY_SCORE) / 2);
      },
      gater: {
        denyDialPeer: (peer) => gate.refuses(peer.toString()),
        denyInboundEncryptedConnection: (peer, connection) =>
          gate.refuses(peer.toString(), String(connection.remoteAddr)),
        denyOutboundEncryptedConnection: (peer, connection) =>
          gate.refuses(peer.toString(), String(connection.remoteAddr)),
      },
    });
    const transport = new Libp2pTransport(options, node, scores);
    gate.refuses = (peer, address) =>
      transport.#refuses(peer) ||
      (address !== undefined && !address.includes("/p2p-circuit") &&
        transport.#directBlocked.has(peer));
    await transport.#wire();
    return transport;
  }

  /** The multiaddrs this node listens on (with `/p2p/<id>`). */
  get addresses(): string[] {
    return this.node.getMultiaddrs().map(String);
  }

  /** This node's PeerId. */
  get peerId(): string {
    return this.node.peerId.toString();
  }

  attach(handler: FrameHandler): void {
    this.#handler = handler;
  }

  send(frame: Frame): void {
    if (this.#closed) {
      throw new TransportClosedError(`Cannot send from ${this.nodeId}: the transport is closed`);
    }
    guardFrame(frame, this.#frameBytesMax);
    if (frame.kind === "topic") return this.#publish(frame);
    const bytes = encodeFrame(frame);
    this.stats.count("directSent");
    const peer = this.directory.peerOf(frame.to.node);
    if (peer === undefined) {
      if (!this.#parked.park(frame.to.node, bytes, performance.now())) {
        this.stats.count("directLost");
      }
      return;
    }
    this.#channel(peer).enqueue(bytes);
  }

  subscribe(topic: string): void {
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    const gossip = gossipTopicOf(topic, this.#routing);
    const refs = this.#gossipRefs.get(gossip) ?? 0;
    this.#gossipRefs.set(gossip, refs + 1);
    if (refs === 0) this.node.services.pubsub.subscribe(gossip);
  }

  unsubscribe(topic: string): void {
    if (!this.#topics.delete(topic)) return;
    const gossip = gossipTopicOf(topic, this.#routing);
    const refs = (this.#gossipRefs.get(gossip) ?? 1) - 1;
    if (refs > 0) return void this.#gossipRefs.set(gossip, refs);
    this.#gossipRefs.delete(gossip);
    this.node.services.pubsub.unsubscribe(gossip);
  }

  /** Serves requests for `method` (one handler per method). */
  handle(method: string, handler: RpcHandler): void {
    this.#handlers.set(method, handler);
  }

  /**
   * Calls `method` on node `node` and resolves with its reply.
   *
   * @throws {RpcError} with a stable code when the call fails.
   */
  async request(
    node: string,
    method: string,
    body: WireValue,
    options: { timeoutMs?: number } = {},
  ): Promise<WireValue> {
    const peer = this.directory.peerOf(node);
    if (peer === undefined) {
      throw new RpcError("E_RPC_UNKNOWN_NODE", `Cannot call ${method} on ${node}: node unknown`);
    }
    return await this.requestPeer(peer, method, body, options);
  }

  /** Calls `method` on a peer by PeerId. */
  async requestPeer(
    peer: string,
    method: string,
    body: WireValue,
    options: { timeoutMs?: number } = {},
  ): Promise<WireValue> {
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs ?? 5_000;
    let stream: Stream;
    try {
      stream = await this.#openStream(peer, RPC_PROTOCOL, timeoutMs);
    } catch (error) {
      this.#delivered(peer, false);
      throw new RpcError("E_RPC_UNREACHABLE", `Cannot reach ${peer} for ${method}: ${error}`);
    }
    try {
      const reply = await callRpc(stream, { method, body }, {
        bytesMax: this.#frameBytesMax,
        timeoutMs,
      });
      this.#delivered(peer, true);
      return reply;
    } catch (error) {
      if (errorCode(error) === "E_RPC_TIMEOUT") this.#delivered(peer, false);
      throw error;
    }
  }

  /**
   * Blocks (or unblocks) every connection with `peers`: a transport-level
   * partition gate. Blocked peers are hung up on and refused both ways;
   * peers no longer blocked are dialed again, so a healed partition
   * reconnects without waiting for discovery.
   */
  setBlocked(peers: readonly string[]): void {
    const unblocked = [...this.#blocked].filter((peer) => !peers.includes(peer));
    this.#blocked.clear();
    for (const peer of peers) this.#blocked.add(peer);
    for (const peer of peers) void this.node.hangUp(peerIdFromString(peer)).catch(() => {});
    for (const peer of unblocked) {
      if (this.scores.isBanned(peer)) continue;
      void this.node.dial(peerIdFromString(peer)).catch(() => this.stats.count("dialFailures"));
    }
  }

  /** Peers currently blocked by {@linkcode setBlocked}. */
  blockedPeers(): string[] {
    return [...this.#blocked];
  }

  /**
   * Refuses direct (non-relayed) connections with `peers`, leaving relayed
   * ones allowed: how tests make a direct dial fail to exercise the relay
   * fallback.
   */
  setDirectBlocked(peers: readonly string[]): void {
    this.#directBlocked.clear();
    for (const peer of peers) this.#directBlocked.add(peer);
  }

  /** Resolves once every node in `nodes` is known and reachable, or rejects after `timeoutMs`. */
  async whenKnown(nodes: readonly string[], timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (nodes.some((node) => this.directory.peerOf(node) === undefined)) {
      if (performance.now() > deadline || this.#closed) {
        const missing = nodes.filter((node) => this.directory.peerOf(node) === undefined);
        throw new RpcError(
          "E_NODES_UNKNOWN",
          `Nodes not found within ${timeoutMs} ms: ${missing.join(", ")}`,
        );
      }
      await new Promise((resolve) => this.#later(50, () => resolve(undefined)));
    }
  }

  /** Score snapshots of every peer. */
  peerScores(): PeerScoreView[] {
    return this.scores.views();
  }

  /** Direct frames waiting: in per-peer queues, and parked for nodes not yet known. */
  backlog(): { queued: number; parked: number } {
    let queued = 0;
    for (const channel of this.#channels.values()) queued += channel.queued;
    return { queued, parked: this.#parked.size };
  }

  /** Peers (PeerIds) subscribed to the gossipsub topic that carries `topic`. */
  topicPeers(topic: string): string[] {
    return this.node.services.pubsub.getSubscribers(gossipTopicOf(topic, this.#routing)).map(
      String,
    );
  }

  /** PeerIds this node is connected to. */
  connectedPeers(): string[] {
    return [...new Set(this.node.getConnections().map((c) => c.remotePeer.toString()))];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([...this.#channels.values()].map((channel) => channel.close()));
    this.#channels.clear();
    await this.node.stop();
  }

  // ---- wiring -------------------------------------------------------------

  async #wire(): Promise<void> {
    const node = this.node;
    await node.handle(
      FRAMES_PROTOCOL,
      (stream, connection) =>
        this.#inbound.readStream(stream, connection.remotePeer.toString(), (frame) => {
          if (this.#closed) return;
          this.stats.count("directDelivered");
          this.#handler?.onFrame(frame);
        }),
      {
        maxInboundStreams: 4,
        runOnLimitedConnection: true,
      },
    );
    await node.handle(RPC_PROTOCOL, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: 256,
      maxOutboundStreams: 256,
      runOnLimitedConnection: true,
    });
    this.handle("hello", (body, caller) => {
      this.#learnHello(caller.peer, body);
      return this.#hello();
    });
    node.services.pubsub.addEventListener("gossipsub:message", (event) => {
      const { msg, msgId, propagationSource } = event.detail;
      const source = propagationSource.toString();
      if (msg.topic === ANNOUNCE_TOPIC) return this.#announced(msg.data, msgId, source);
      // Checks run concurrently (signatures are async); deliveries keep arrival order,
      // then each publisher's order (gossip may bring a missed frame after later ones).
      this.#gossip.receive(msg.topic, msg.data, msgId, source);
    });
    node.addEventListener("peer:identify", (event) => {
      if (event.detail.protocols.includes(RPC_PROTOCOL)) this.#sayHello(event.detail.peerId);
    });
    node.addEventListener("peer:discovery", (event) => {
      const peer = event.detail.id.toString();
      if (this.#closed || this.#refuses(peer) || this.connectedPeers().includes(peer)) return;
      void node.dial(event.detail.id).catch(() => this.stats.count("dialFailures"));
    });
    node.addEventListener("peer:disconnect", (event) => {
      const peer = event.detail.toString();
      const channel = this.#channels.get(peer);
      this.#channels.delete(peer);
      void channel?.close();
      this.#inbound.forget(peer);
    });
    node.services.pubsub.subscribe(ANNOUNCE_TOPIC);
    this.#every(this.#options.announceIntervalMs ?? 3_000, () => this.#announce());
    this.#every(this.#options.pingIntervalMs ?? 5_000, () => this.#pingAll());
    this.#every(2_000, () => this.#rejoin());
    this.#every(1_000, () => this.#flushPending(true));
  }

  // ---- topics -------------------------------------------------------------

  #publish(frame: Frame & { kind: "topic" }): void {
    const gossip = gossipTopicOf(frame.topic, this.#routing);
    const bytes = encodeFrame(frame, this.#originOn(gossip));
    this.stats.count("topicSent");
    this.node.services.pubsub.publish(gossip, bytes).then(
      (result) => {
        if (result.recipients.length === 0 && this.node.getConnections().length > 0) {
          this.stats.count("topicUnheard");
        }
      },
      () => this.stats.count("publishFailures"),
    );
  }

  /** This node as the origin of its next frame on gossip topic `gossip`. */
  #originOn(gossip: string): TopicOrigin {
    const sequence = this.#sequences.get(gossip) ?? 0;
    this.#sequences.set(gossip, sequence + 1);
    return { node: this.nodeId, incarnation: this.#incarnation, sequence };
  }

  /** Learns from a node announcement and tells gossipsub whether it was well formed. */
  #announced(data: Uint8Array, msgId: string, source: string): void {
    const pubsub = this.node.services.pubsub as unknown as ValidationReporter;
    const ok = this.#learnAnnouncement(data);
    pubsub.reportMessageValidationResult(
      msgId,
      source,
      ok ? TopicValidatorResult.Accept : TopicValidatorResult.Reject,
    );
    if (!ok) this.#invalid(source, "E_ANNOUNCE_INVALID", "Malformed node announcement");
  }

  #deliverTopic(frame: TopicFrame): void {
    if (!this.#topics.has(frame.topic) || this.#closed) return;
    this.stats.count("topicDelivered");
    this.#handler?.onFrame(frame);
  }

  // ---- direct frames ------------------------------------------------------

  #channel(peer: string): OutboundChannel {
    let channel = this.#channels.get(peer);
    if (channel !== undefined) return channel;
    channel = new OutboundChannel(
      this.#options.outboundQueue ?? { framesMax: 8_192, bytesMax: 32 * 1024 * 1024 },
      {
        open: () =>
          this.#openStream(peer, FRAMES_PROTOCOL, this.#options.requestTimeoutMs ?? 5_000),
        delivered: (ok, count) => {
          if (!ok) this.stats.count("directLost", count);
          this.#delivered(peer, ok);
        },
      },
    );
    this.#channels.set(peer, channel);
    return channel;
  }

  /**
   * Opens a stream: direct dial first, then through a relay. A peer this
   * node holds an open direct connection to is not tried through relays:
   * the stream failed on a live connection (the peer's stream limit, a busy peer), which a relay
   * cannot mend, and under load every such failure would open streams on
   * every other peer too.
   */
  async #openStream(peer: string, protocol: string, timeoutMs: number): Promise<Stream> {
    const target = peerIdFromString(peer);
    try {
      return await withTimeout(
        timeoutMs,
        (signal) =>
          this.node.dialProtocol(target, protocol, { signal, runOnLimitedConnection: true }),
      );
    } catch (direct) {
      if (this.#refuses(peer) || this.#options.relayClient === false) throw direct;
      const live = this.node.getConnections(target).some((connection) =>
        connection.direct && connection.status === "open"
      );
      if (live) throw direct;
      for (const relay of this.#relays(peer)) {
        const address = multiaddr(`/p2p/${relay}/p2p-circuit/p2p/${peer}`);
        try {
          const stream = await withTimeout(
            timeoutMs,
            (signal) =>
              this.node.dialProtocol(address, protocol, { signal, runOnLimitedConnection: true }),
          );
          this.stats.count("relayedStreams");
          return stream;
        } catch {
          this.stats.count("relayFailures");
        }
      }
      throw direct;
    }
  }

  /** Connected peers that serve as relays, other than `target`. */
  #relays(target: string): string[] {
    return this.connectedPeers().filter((peer) => peer !== target && !this.#refuses(peer));
  }

  #flushPending(expire: boolean): void {
    const dropped = this.#parked.release(
      (node) => this.directory.peerOf(node),
      (peer, bytes) => this.#channel(peer).enqueue(bytes),
      expire ? performance.now() : undefined,
    );
    if (dropped > 0) this.stats.count("directLost", dropped);
  }

  // ---- directory ----------------------------------------------------------

  /**
   * Says hello to a newly identified peer; a failed hello (the peer may be
   * busy starting) is retried with backoff while the peer stays connected.
   */
  #sayHello(peerId: PeerId, attempt = 0): void {
    const peer = peerId.toString();
    this.requestPeer(peer, "hello", this.#hello(), { timeoutMs: 5_000 })
      .then((body) => this.#learnHello(peer, body))
      .catch(() => {
        this.stats.count("helloFailures");
        if (attempt + 1 >= HELLO_ATTEMPTS_MAX) return;
        this.#later(250 * 2 ** attempt, () => {
          if (this.connectedPeers().includes(peer)) this.#sayHello(peerId, attempt + 1);
        });
      });
  }

  #hello(): WireValue {
    return helloBody(this.network, this.nodeId, this.addresses);
  }

  #learnHello(peer: string, body: WireValue): void {
    const node = parseHello(body, this.network);
    if (node === "foreign" || node === "invalid") {
      if (node === "invalid") this.#invalid(peer, "E_HELLO_INVALID", "Malformed hello");
      this.stats.count("foreignPeers");
      void this.node.hangUp(peerIdFromString(peer)).catch(() => {});
      return;
    }
    if (this.directory.bind(node, peer, true)) {
      this.#options.onEvent?.({ type: "node-bound", node, peer });
    }
    if (this.directory.peerOf(node) === peer) {
      this.#options.onEvent?.({ type: "node-hello", node, peer });
    }
    this.#flushPending(false);
  }

  #announce(): void {
    const payload = announcementBody(this.network, {
      node: this.nodeId,
      peer: this.peerId,
      addrs: this.addresses,
    });
    const bytes = encodeFrame(
      { kind: "topic", topic: ANNOUNCE_TOPIC, from: undefined, payload },
      this.#originOn(ANNOUNCE_TOPIC),
    );
    this.node.services.pubsub.publish(ANNOUNCE_TOPIC, bytes).catch(() => {});
  }

  /** Learns from an announcement; false when it was malformed. */
  #learnAnnouncement(data: Uint8Array): boolean {
    let announcement;
    try {
      announcement = parseAnnouncement(decodeFrame(data, 64 * 1024).frame.payload, this.network);
      if (announcement === undefined) return false;
      if (announcement === "foreign" || announcement.peer === this.peerId) return true;
      const peer = announcement.peer;
      const multiaddrs = announcement.addrs.map((address) => multiaddr(address));
      void this.node.peerStore.merge(peerIdFromString(peer), { multiaddrs })
        .then(() => this.#dialAnnounced(peer))
        .catch(() => {});
    } catch {
      return false;
    }
    if (this.directory.bind(announcement.node, announcement.peer, false)) {
      this.#options.onEvent?.({
        type: "node-bound",
        node: announcement.node,
        peer: announcement.peer,
      });
    }
    this.#flushPending(false);
    return true;
  }

  /**
   * Dials the bootstrap nodes again while this node has no peer at all: a
   * first dial can fail (the bootstrap node was busy starting), and the
   * bootstrap discovery does not try twice.
   */
  #rejoin(): void {
    if (this.#closed || this.node.getConnections().length > 0) return;
    for (const address of this.#options.bootstrap ?? []) {
      void this.node.dial(multiaddr(address)).catch(() => this.stats.count("dialFailures"));
    }
  }

  /**
   * Dials a peer known only from an announcement, while this node has room
   * (under half its connection limit): a small swarm becomes a full mesh,
   * a large one keeps the rest for peers that dial in.
   */
  #dialAnnounced(peer: string): void {
    const room = (this.#options.maxConnections ?? 64) / 2;
    if (this.#closed || this.#refuses(peer) || this.connectedPeers().includes(peer)) return;
    if (this.node.getConnections().length >= room) return;
    void this.node.dial(peerIdFromString(peer)).catch(() => this.stats.count("dialFailures"));
  }

  // ---- scoring ------------------------------------------------------------

  #invalid(peer: string, code: string, message: string): void {
    this.stats.count("invalidFrames");
    this.stats.countCode(code);
    this.#options.onEvent?.({ type: "invalid-frame", peer, code, message });
    if (this.scores.recordInvalid(peer, code)) this.#ban(peer);
  }

  #delivered(peer: string, ok: boolean): void {
    if (this.scores.recordDelivery(peer, ok)) this.#ban(peer);
  }

  #ban(peer: string): void {
    this.stats.count("bans");
    const node = this.directory.nodeOf(peer);
    this.#options.onEvent?.({
      type: "peer-banned",
      peer,
      node,
      untilMs: this.scores.bannedUntilMs(peer),
    });
    const channel = this.#channels.get(peer);
    this.#channels.delete(peer);
    void channel?.close();
    void this.node.hangUp(peerIdFromString(peer)).catch(() => {});
  }

  #refuses(peer: string): boolean {
    return this.#blocked.has(peer) || this.scores.isBanned(peer);
  }

  #pingAll(): void {
    for (const peer of this.connectedPeers()) {
      withTimeout(
        2_000,
        (signal) => this.node.services.ping.ping(peerIdFromString(peer), { signal }),
      )
        .then((ms) => this.scores.recordLatency(peer, ms))
        .catch(() => this.#delivered(peer, false));
    }
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    if (this.scores.isBanned(peer)) return stream.abort(new Error("banned"));
    const invalid = await serveRpc(
      stream,
      { peer, node: this.directory.nodeOf(peer) },
      this.#handlers,
      { bytesMax: this.#frameBytesMax, timeoutMs: this.#options.requestTimeoutMs ?? 5_000 },
    );
    if (invalid !== undefined) this.#invalid(peer, invalid, "Invalid request");
  }

  // ---- timers -------------------------------------------------------------

  #later(delayMs: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) action();
    }, delayMs);
    this.#timers.add(timer);
  }

  #every(intervalMs: number, action: () => void): void {
    const tick = () => {
      action();
      this.#later(intervalMs, tick);
    };
    this.#later(Math.min(intervalMs, 200), tick);
  }
}

/**
 * The simulated network: per-link latency, loss, duplication and
 * reordering, and partitions, all on virtual time and the seeded PRNG.
 *
 * Links are FIFO unless a reorder is drawn for a frame (a frame's delivery
 * time never precedes the previous frame's on the same link otherwise).
 * Frames in flight survive the sender's crash, as packets on a wire would;
 * frames that arrive at a node that is down are lost.
 *
 * @module
 */

import type { Random } from "../runtime/env.ts";
import { SwarmError } from "../runtime/errors.ts";
import { FRAME_BYTES_MAX_DEFAULT } from "../runtime/transport/frame_check.ts";
import { guardFrame } from "../runtime/transport/frame_codec.ts";
import type { Frame, FrameHandler, Transport } from "../runtime/transport/transport.ts";
import type { SimScheduler } from "./scheduler.ts";

/** Behaviour of one directed link. */
export interface LinkOptions {
  /** Minimum one-way latency. */
  latencyMinMs: number;
  /** Maximum one-way latency (uniform between min and max). */
  latencyMaxMs: number;
  /** Probability that a frame is lost. */
  dropRate: number;
  /** Probability that a frame is delivered twice. */
  duplicateRate: number;
  /** Probability that a frame may overtake earlier ones. */
  reorderRate: number;
}

/** Default link: 1–5 ms, lossless, in order. */
export const LINK_DEFAULT: LinkOptions = {
  latencyMinMs: 1,
  latencyMaxMs: 5,
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
};

/** Raised for invalid link settings or partition specs. */
export class SimNetworkError extends SwarmError {}

/** Counters of what the network did. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  droppedByPartition: number;
  droppedByLoss: number;
  droppedNodeDown: number;
  duplicated: number;
  reordered: number;
}

/** Validates link options, filling in defaults. */
export function linkOptions(
  partial: Partial<LinkOptions> | undefined,
  base: LinkOptions = LINK_DEFAULT,
): LinkOptions {
  const link = { ...base, ...partial };
  if (!(link.latencyMinMs >= 0 && link.latencyMaxMs >= link.latencyMinMs)) {
    throw new SimNetworkError(
      "E_LINK_LATENCY",
      `Link latency needs 0 <= min <= max, got ${link.latencyMinMs} and ${link.latencyMaxMs}`,
    );
  }
  for (const key of ["dropRate", "duplicateRate", "reorderRate"] as const) {
    if (!(link[key] >= 0 && link[key] <= 1)) {
      throw new SimNetworkError("E_LINK_RATE", `Link ${key} must be in [0, 1], got ${link[key]}`);
    }
  }
  return link;
}

/** All simulated nodes' links. */
export class SimNetwork {
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    droppedByPartition: 0,
    droppedByLoss: 0,
    droppedNodeDown: 0,
    duplicated: 0,
    reordered: 0,
  };
  readonly #scheduler: SimScheduler;
  readonly #random: Random;
  readonly #endpoints = new Map<string, SimTransport>();
  readonly #links = new Map<string, LinkOptions>();
  readonly #blocked = new Set<string>();
  readonly #lastDeliveryNs = new Map<string, bigint>();
  #defaultLink: LinkOptions;
  /** Largest encoded frame accepted by `send`, as on a real network. */
  frameBytesMax = FRAME_BYTES_MAX_DEFAULT;

  constructor(scheduler: SimScheduler, random: Random, defaultLink?: Partial<LinkOptions>) {
    this.#scheduler = scheduler;
    this.#random = random;
    this.#defaultLink = linkOptions(defaultLink);
  }

  /** Connects node `nodeId` (replacing a previous, crashed endpoint). */
  connect(nodeId: string): SimTransport {
    const endpoint = new SimTransport(nodeId, this);
    this.#endpoints.set(nodeId, endpoint);
    return endpoint;
  }

  /** Disconnects a node's endpoint (crash): frames in flight to it will be lost. */
  disconnect(endpoint: SimTransport): void {
    if (this.#endpoints.get(endpoint.nodeId) === endpoint) this.#endpoints.delete(endpoint.nodeId);
  }

  /** Sets the default link for every pair without its own setting. */
  setDefaultLink(options: Partial<LinkOptions>): void {
    this.#defaultLink = linkOptions(options, this.#defaultLink);
  }

  /** Sets the directed link `from → to`. */
  setLink(from: string, to: string, options: Partial<LinkOptions>): void {
    this.#links.set(linkKey(from, to), linkOptions(options, this.#linkOf(from, to)));
  }

  /** Removes the setting of the directed link `from → to` (it follows the default again). */
  clearLink(from: string, to: string): void {
    this.#links.delete(linkKey(from, to));
  }

  /** The default link. */
  get defaultLink(): LinkOptions {
    return this.#defaultLink;
  }

  /** Removes every per-link setting. */
  resetLinks(): void {
    this.#links.clear();
  }

  /**
   * Splits `nodes` into groups that cannot reach each other; nodes in no
   * group are isolated. Replaces any previous partition.
   */
  partition(groups: readonly (readonly string[])[], nodes: readonly string[]): void {
    const groupOf = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const node of group) {
        if (groupOf.has(node)) {
          throw new SimNetworkError("E_PARTITION", `Node ${node} is in two partition groups`);
        }
        groupOf.set(node, index);
      }
    });
    this.#blocked.clear();
    for (const from of nodes) {
      for (const to of nodes) {
        if (from === to) continue;
        const fromGroup = groupOf.get(from) ?? `alone:${from}`;
        const toGroup = groupOf.get(to) ?? `alone:${to}`;
        if (fromGroup !== toGroup) this.#blocked.add(linkKey(from, to));
      }
    }
    this.#scheduler.trace.note(
      "partition",
      groups.map((group) => `[${group.join(",")}]`).join(" "),
    );
  }

  /** Blocks or unblocks one directed link (for bridges and one-way faults). */
  block(from: string, to: string, blocked: boolean): void {
    if (blocked) this.#blocked.add(linkKey(from, to));
    else this.#blocked.delete(linkKey(from, to));
  }

  /** Removes every partition. */
  heal(): void {
    this.#blocked.clear();
    this.#scheduler.trace.note("heal", "all");
  }

  /** True when `from` can currently reach `to`. */
  reachable(from: string, to: string): boolean {
    return !this.#blocked.has(linkKey(from, to));
  }

  /** Routes a frame sent by `origin`. */
  route(origin: string, frame: Frame): void {
    if (frame.kind === "direct") return this.#send(origin, frame.to.node, frame);
    for (const endpoint of this.#endpoints.values()) {
      if (endpoint.nodeId !== origin && endpoint.subscribed(frame.topic)) {
        this.#send(origin, endpoint.nodeId, frame);
      }
    }
  }

  #send(from: string, to: string, frame: Frame): void {
    this.stats.sent++;
    if (this.#blocked.has(linkKey(from, to))) {
      this.stats.droppedByPartition++;
      return;
    }
    const link = this.#linkOf(from, to);
    if (link.dropRate > 0 && this.#random.float() < link.dropRate) {
      this.stats.droppedByLoss++;
      return;
    }
    const copies = link.duplicateRate > 0 && this.#random.float() < link.duplicateRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let copy = 0; copy < copies; copy++) this.#schedule(from, to, frame, link);
  }

  #schedule(from: string, to: string, frame: Frame, link: LinkOptions): void {
    const spanMs = link.latencyMaxMs - link.latencyMinMs;
    const latencyMs = link.latencyMinMs + (spanMs > 0 ? this.#random.float() * spanMs : 0);
    let deliverNs = this.#scheduler.nowNs + BigInt(Math.round(latencyMs * 1_000_000));
    const key = linkKey(from, to);
    const reorder = link.reorderRate > 0 && this.#random.float() < link.reorderRate;
    if (reorder) this.stats.reordered++;
    else {
      const previous = this.#lastDeliveryNs.get(key) ?? 0n;
      if (deliverNs < previous) deliverNs = previous;
      this.#lastDeliveryNs.set(key, deliverNs);
    }
    this.#scheduler.at(deliverNs, `net ${from}->${to}`, () => this.#deliver(to, frame));
  }

  #deliver(to: string, frame: Frame): void {
    const endpoint = this.#endpoints.get(to);
    if (endpoint === undefined) {
      this.stats.droppedNodeDown++;
      return;
    }
    this.stats.delivered++;
    endpoint.receive(frame);
  }

  #linkOf(from: string, to: string): LinkOptions {
    return this.#links.get(linkKey(from, to)) ?? this.#defaultLink;
  }
}

function linkKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

/** One node's endpoint on the simulated network. */
export class SimTransport implements Transport {
  readonly nodeId: string;
  readonly #network: SimNetwork;
  readonly #topics = new Set<string>();
  #handler: FrameHandler | undefined;
  #closed = false;

  constructor(nodeId: string, network: SimNetwork) {
    this.nodeId = nodeId;
    this.#network = network;
  }

  attach(handler: FrameHandler): void {
    this.#handler = handler;
  }

  send(frame: Frame): void {
    if (this.#closed) return;
    guardFrame(frame, this.#network.frameBytesMax);
    this.#network.route(this.nodeId, frame);
  }

  subscribe(topic: string): void {
    this.#topics.add(topic);
  }

  unsubscribe(topic: string): void {
    this.#topics.delete(topic);
  }

  /** Whether this node receives `topic`. */
  subscribed(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /** Hands an arriving frame to the node's system. */
  receive(frame: Frame): void {
    if (!this.#closed) this.#handler?.onFrame(frame);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#network.disconnect(this);
    return Promise.resolve();
  }
}

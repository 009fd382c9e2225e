/**
 * The in-process transport: several actor systems in one process, connected
 * through a hub. Frames are delivered synchronously and in order; payloads
 * are already wire copies, so nodes share no mutable state. Frames are
 * checked as a network transport would check them (shape, wire values,
 * size limit), so code that works here does not fail on libp2p.
 *
 * @module
 */

import { SwarmError } from "../errors.ts";
import { FRAME_BYTES_MAX_DEFAULT } from "./frame_check.ts";
import { guardFrame } from "./frame_codec.ts";
import type { Frame, FrameHandler, Transport } from "./transport.ts";

/** Raised for misuse of the hub (duplicate node ids, sending after close). */
export class InProcTransportError extends SwarmError {}

/** Options of {@linkcode InProcHub}. */
export interface InProcHubOptions {
  /** Largest encoded frame accepted by `send`, as on a real network. Default 1 MiB. */
  readonly frameBytesMax?: number;
}

/** Connects in-process nodes to each other. */
export class InProcHub {
  /** Largest encoded frame accepted by `send`. */
  readonly frameBytesMax: number;
  readonly #endpoints = new Map<string, InProcTransport>();
  readonly #subscribers = new Map<string, Set<InProcTransport>>();
  #undeliverable = 0;

  constructor(options: InProcHubOptions = {}) {
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
  }

  /** Creates the endpoint of node `nodeId`; each id may be connected once at a time. */
  connect(nodeId: string): InProcTransport {
    if (this.#endpoints.has(nodeId)) {
      throw new InProcTransportError(
        "E_NODE_ID_TAKEN",
        `Node ${nodeId} is already connected to this hub`,
      );
    }
    const endpoint = new InProcTransport(nodeId, this);
    this.#endpoints.set(nodeId, endpoint);
    return endpoint;
  }

  /** Frames sent to nodes that were not connected. */
  get undeliverable(): number {
    return this.#undeliverable;
  }

  /** Routes a frame from `origin`. */
  route(origin: InProcTransport, frame: Frame): void {
    if (frame.kind === "direct") {
      const target = this.#endpoints.get(frame.to.node);
      if (target === undefined) this.#undeliverable++;
      else target.receive(frame);
      return;
    }
    for (const endpoint of this.#subscribers.get(frame.topic) ?? []) {
      if (endpoint !== origin) endpoint.receive(frame);
    }
  }

  /** Registers interest of `endpoint` in `topic`. */
  subscribe(endpoint: InProcTransport, topic: string): void {
    let endpoints = this.#subscribers.get(topic);
    if (endpoints === undefined) this.#subscribers.set(topic, endpoints = new Set());
    endpoints.add(endpoint);
  }

  /** Withdraws interest of `endpoint` in `topic`. */
  unsubscribe(endpoint: InProcTransport, topic: string): void {
    const endpoints = this.#subscribers.get(topic);
    if (endpoints === undefined) return;
    endpoints.delete(endpoint);
    if (endpoints.size === 0) this.#subscribers.delete(topic);
  }

  /** Removes a closed endpoint. */
  disconnect(endpoint: InProcTransport): void {
    if (this.#endpoints.get(endpoint.nodeId) === endpoint) this.#endpoints.delete(endpoint.nodeId);
    for (const topic of [...this.#subscribers.keys()]) this.unsubscribe(endpoint, topic);
  }
}

/** One node's endpoint on an {@linkcode InProcHub}. */
export class InProcTransport implements Transport {
  readonly nodeId: string;
  readonly #hub: InProcHub;
  #handler: FrameHandler | undefined;
  #closed = false;

  constructor(nodeId: string, hub: InProcHub) {
    this.nodeId = nodeId;
    this.#hub = hub;
  }

  attach(handler: FrameHandler): void {
    this.#handler = handler;
  }

  send(frame: Frame): void {
    if (this.#closed) {
      throw new InProcTransportError(
        "E_TRANSPORT_CLOSED",
        `Cannot send from ${this.nodeId}: the transport is closed`,
      );
    }
    guardFrame(frame, this.#hub.frameBytesMax);
    this.#hub.route(this, frame);
  }

  subscribe(topic: string): void {
    this.#hub.subscribe(this, topic);
  }

  unsubscribe(topic: string): void {
    this.#hub.unsubscribe(this, topic);
  }

  /** Hands an arriving frame to the attached system. */
  receive(frame: Frame): void {
    if (!this.#closed) this.#handler?.onFrame(frame);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#hub.disconnect(this);
    return Promise.resolve();
  }
}

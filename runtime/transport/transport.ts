/**
 * The pluggable transport between nodes.
 *
 * Actor systems hand frames to a transport and receive frames from it; they
 * never know whether the peer is in the same process (in-process hub), on
 * virtual time (simulated network) or across a real network (libp2p). A
 * direct frame goes to one actor on one node; a topic frame goes to every
 * other node subscribed to the topic, which delivers it to its local
 * subscribers. Payloads are wire values ({@linkcode WireValue}): plain data
 * with actor references replaced by addresses, never live objects.
 *
 * @module
 */

import type { WireValue } from "../wire.ts";

/** Where an actor lives: its node and its path on that node. */
export interface Address {
  readonly node: string;
  readonly path: string;
}

/** A message to one actor on another node. */
export interface DirectFrame {
  readonly kind: "direct";
  readonly to: Address;
  readonly from: Address | undefined;
  readonly payload: WireValue;
}

/** A message to every subscriber of a topic on other nodes. */
export interface TopicFrame {
  readonly kind: "topic";
  readonly topic: string;
  readonly from: Address | undefined;
  readonly payload: WireValue;
}

/** Everything a transport carries. */
export type Frame = DirectFrame | TopicFrame;

/** The receiving side of a transport: the node's actor system. */
export interface FrameHandler {
  /** Called once per frame that arrives for this node. Must not throw. */
  onFrame(frame: Frame): void;
}

/** Moves frames between nodes. */
export interface Transport {
  /** The node this endpoint belongs to. */
  readonly nodeId: string;
  /** Sets the receiver of incoming frames (the node's actor system). */
  attach(handler: FrameHandler): void;
  /** Sends a frame; delivery is best effort and never throws for a lost peer. */
  send(frame: Frame): void;
  /** Starts receiving frames published on `topic`. */
  subscribe(topic: string): void;
  /** Stops receiving frames published on `topic`. */
  unsubscribe(topic: string): void;
  /** Leaves the network and releases resources. */
  close(): Promise<void>;
}

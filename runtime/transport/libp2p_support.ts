/**
 * Types and helpers of the libp2p transport: its options, its events, its
 * errors, and small adapters to gossipsub and abort signals.
 *
 * @module
 */

import { TopicValidatorResult } from "@libp2p/gossipsub";
import { SwarmError } from "../errors.ts";
import { hostDeadline } from "../host_deadline.ts";
import { FrameError } from "./frame_check.ts";
import type { IngressValidator, IngressVerdict } from "./ingress.ts";
import type { SwarmNodeOptions } from "./libp2p_node.ts";
import type { PeerScoreOptions } from "./peer_score.ts";
import type { ThreadRouting } from "./topics.ts";

/** Protocol of the direct-frame stream. */
export const FRAMES_PROTOCOL = "/can-swarm/frames/1.0.0";

/** Options of {@linkcode Libp2pTransport.start}. */
export interface Libp2pTransportOptions
  extends Omit<SwarmNodeOptions, "appScore" | "gater" | "pubsubMessageBytesMax"> {
  /** This node's id (actor addresses use it). */
  readonly nodeId: string;
  /** Name of the swarm; peers of another network are disconnected. Default `can-swarm`. */
  readonly network?: string;
  /** Largest encoded frame. Default 1 MiB. */
  readonly frameBytesMax?: number;
  /** How thread topics map onto gossipsub topics. Default sharded. */
  readonly threadRouting?: ThreadRouting;
  /** Peer scoring and banning. */
  readonly score?: Partial<PeerScoreOptions>;
  /** Inbound frames per second per peer, and burst. Default 5,000/s, burst 10,000. */
  readonly inboundRate?: { readonly perSecond: number; readonly burst: number };
  /** Frames (and bytes) queued per peer while its stream opens. Default 8,192 / 32 MiB. */
  readonly outboundQueue?: { readonly framesMax: number; readonly bytesMax: number };
  /** Interval of latency pings. Default 5,000 ms. */
  readonly pingIntervalMs?: number;
  /** Interval of node announcements. Default 3,000 ms. */
  readonly announceIntervalMs?: number;
  /**
   * Longest a topic frame waits for its publisher's earlier frames (gossip
   * can bring a missed frame late). Default 1,500 ms.
   */
  readonly reorderHoldMs?: number;
  /** Timeout of requests (and of stream opening). Default 5,000 ms. */
  readonly requestTimeoutMs?: number;
  /** Checks every inbound frame before delivery (envelope verification plugs in here). */
  readonly ingress?: IngressValidator;
  /** Observes transport events (bans, invalid frames) for logs. */
  readonly onEvent?: (event: TransportEvent) => void;
}

/** Something worth logging that happened in the transport. */
export type TransportEvent =
  | { type: "invalid-frame"; peer: string; code: string; message: string }
  | { type: "peer-banned"; peer: string; node: string | undefined; untilMs: number }
  | { type: "node-bound"; node: string; peer: string }
  /** A peer said hello on a new connection (authenticated by noise): a peer joined or came back. */
  | { type: "node-hello"; node: string; peer: string };

/** Raised by `send` after `close`. */
export class TransportClosedError extends SwarmError {
  constructor(message: string) {
    super("E_TRANSPORT_CLOSED", message);
  }
}

/** The part of the gossipsub router that takes asynchronous validation results. */
export interface ValidationReporter {
  reportMessageValidationResult(
    msgId: string,
    propagationSource: string,
    acceptance: TopicValidatorResult,
  ): void;
}

export function verdictResult(verdict: IngressVerdict): TopicValidatorResult {
  if (verdict === "accept") return TopicValidatorResult.Accept;
  return verdict === "reject" ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
}

/**
 * Runs `body` with an abort signal that fires after `timeoutMs`, or later by
 * as long as this process held the timer up (`host_deadline.ts`); never
 * holds the loop after.
 */
export async function withTimeout<T>(
  timeoutMs: number,
  body: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = hostDeadline(
    timeoutMs,
    () => controller.abort(new FrameError("E_TIMEOUT", `Timed out after ${timeoutMs} ms`)),
  );
  try {
    return await body(controller.signal);
  } finally {
    timer.clear();
  }
}

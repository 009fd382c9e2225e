/**
 * The gossip half of the libp2p transport's inbound path. Each gossipsub
 * message is decoded, checked and judged by the {@linkcode InboundGuard},
 * delivered in its publisher's order ({@linkcode OriginOrder}), and only then
 * reported to gossipsub, which forwards accepted messages to its mesh peers.
 *
 * Two things keep the latency of a delivery close to raw gossipsub's:
 *
 * - Delivery comes before forwarding. Gossipsub forwards an accepted message
 *   synchronously inside `reportMessageValidationResult` (an encode, an
 *   encryption and a socket write per mesh peer); reporting an accepted
 *   frame in a microtask after handing it to the actor system lets the
 *   subscribed actors run first, as a raw gossipsub listener would. What is
 *   forwarded is decided before: nothing unchecked is delivered or forwarded.
 * - No promise per frame when none is needed. When the check is synchronous
 *   (no ingress validator, or one that answers at once) and no earlier frame
 *   is still being checked, the frame is judged and delivered at once;
 *   otherwise it waits on a chain behind the frames before it, so deliveries
 *   always keep arrival order.
 *
 * @module
 */

import { TopicValidatorResult } from "@libp2p/gossipsub";
import type { CheckedFrame, InboundGuard } from "./_inbound_guard.ts";
import { type FrameOrigin, OriginOrder } from "./_origin_order.ts";
import type { ValidationReporter } from "./libp2p_support.ts";
import { gossipTopicOf, type ThreadRouting } from "./topics.ts";
import type { TopicFrame } from "./transport.ts";

/** What the gossip inbound path needs from its transport. */
export interface GossipInboundHooks {
  readonly routing: ThreadRouting;
  readonly guard: InboundGuard;
  /** Gossipsub, told the verdict of every message (it forwards accepted ones). */
  readonly reporter: ValidationReporter;
  /** Longest a frame waits for its publisher's earlier frames. */
  readonly holdMs: number;
  /** Hands an accepted frame, in order, to the node. */
  deliver(frame: TopicFrame): void;
  /** An offence by `peer`, with its error code. */
  invalid(peer: string, code: string, message: string): void;
  count(what: "topicReordered" | "topicGapsSkipped" | "deliveryErrors"): void;
  nowMs(): number;
  later(delayMs: number, action: () => void): void;
}

const IGNORED: CheckedFrame = { verdict: "ignore" };

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

function hexOf(bytes: Uint8Array): string {
  let text = "";
  for (let index = 0; index < bytes.length; index++) text += HEX[bytes[index]];
  return text;
}

/** Checks, orders, delivers and reports one node's gossip messages. */
export class GossipInbound {
  readonly #hooks: GossipInboundHooks;
  readonly #order: OriginOrder<TopicFrame>;
  /** Frames waiting on the chain (an async check, or behind one). */
  #waiting = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(hooks: GossipInboundHooks) {
    this.#hooks = hooks;
    this.#order = new OriginOrder<TopicFrame>({
      holdMs: hooks.holdMs,
      originsMax: 65_536,
      heldMax: 4_096,
      deliver: (frame) => hooks.deliver(frame),
      count: (what) => hooks.count(what === "reordered" ? "topicReordered" : "topicGapsSkipped"),
      nowMs: () => hooks.nowMs(),
      later: (delayMs, action) => hooks.later(delayMs, action),
    });
  }

  /** Frames delivered after waiting for earlier ones; gaps given up on. */
  get orderCounts(): { readonly reordered: number; readonly skipped: number } {
    return this.#order.counts;
  }

  /** Takes gossipsub message `msgId` on gossip topic `topic`, forwarded by peer `source`. */
  receive(topic: string, data: Uint8Array, msgId: string, source: string): void {
    let checked: CheckedFrame | Promise<CheckedFrame>;
    try {
      checked = this.#hooks.guard.check(data, source, "topic");
    } catch {
      checked = IGNORED;
    }
    if (this.#waiting === 0 && !(checked instanceof Promise)) {
      return this.#settle(topic, msgId, source, checked);
    }
    this.#waiting++;
    const settled = Promise.resolve(checked).catch(() => IGNORED);
    this.#tail = this.#tail.then(() => settled).then((result) => {
      this.#waiting--;
      this.#settle(topic, msgId, source, result);
    }).catch(() => this.#hooks.count("deliveryErrors"));
  }

  /** Judges a checked frame, delivers it if accepted, and tells gossipsub. */
  #settle(topic: string, msgId: string, source: string, checked: CheckedFrame): void {
    const hooks = this.#hooks;
    let verdict = checked.verdict;
    const frame = checked.frame;
    if (verdict === "accept" && frame?.kind === "topic") {
      if (gossipTopicOf(frame.topic, hooks.routing) !== topic) {
        hooks.invalid(source, "E_FRAME_MISROUTED", `Frame for ${frame.topic} came on ${topic}`);
        verdict = "reject";
      }
    } else if (verdict === "accept") verdict = "reject";
    const origin: FrameOrigin | undefined = checked.origin === undefined ? undefined : {
      key: `${checked.origin.node}|${hexOf(checked.origin.incarnation)}|${topic}`,
      sequence: checked.origin.sequence,
    };
    if (verdict !== "accept") {
      this.#report(msgId, source, resultOf(verdict));
      return this.#order.push(origin, undefined);
    }
    try {
      this.#order.push(origin, frame as TopicFrame);
    } catch {
      hooks.count("deliveryErrors");
    }
    queueMicrotask(() => this.#report(msgId, source, TopicValidatorResult.Accept));
  }

  #report(msgId: string, source: string, result: TopicValidatorResult): void {
    try {
      this.#hooks.reporter.reportMessageValidationResult(msgId, source, result);
    } catch {
      this.#hooks.count("deliveryErrors");
    }
  }
}

function resultOf(verdict: "ignore" | "reject"): TopicValidatorResult {
  return verdict === "reject" ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
}

/**
 * The inbound side of the libp2p transport: reads length-prefixed frames
 * off a peer's stream, limits how fast one peer may push frames (token
 * bucket), decodes and checks each frame, and asks the ingress validator.
 * Every offence is reported to the transport, which scores the peer. Frames
 * of one stream are delivered in the order they came, so a slow (async)
 * validator cannot reorder them; while checks are synchronous, no promise
 * is made per frame.
 *
 * @module
 */

import type { Stream } from "@libp2p/interface";
import { errorCode } from "../errors.ts";
import { decodeFrame, type TopicOrigin } from "./frame_codec.ts";
import type { IngressDecision, IngressValidator, IngressVerdict } from "./ingress.ts";
import { LengthPrefixedDecoder } from "./length_prefix.ts";
import { TokenBucket } from "./_token_bucket.ts";
import type { Frame } from "./transport.ts";

/** One flood offence is scored per this many refused frames. */
export const FLOOD_FRAMES_PER_OFFENCE = 100;

/** What the guard needs from its transport. */
export interface InboundGuardHooks {
  readonly nodeId: string;
  readonly frameBytesMax: number;
  readonly inboundRate: { readonly perSecond: number; readonly burst: number };
  readonly ingress: IngressValidator | undefined;
  isBanned(peer: string): boolean;
  nodeOf(peer: string): string | undefined;
  /** An offence by `peer`, with its error code. */
  invalid(peer: string, code: string, message: string): void;
  /** A frame refused by the rate limit; returns the total refused so far. */
  flooded(): number;
}

/** The checked outcome of one inbound frame. */
export interface CheckedFrame {
  readonly verdict: IngressVerdict;
  readonly frame?: Frame;
  /** The publisher's numbering of a topic frame. */
  readonly origin?: TopicOrigin;
}

const IGNORED: CheckedFrame = { verdict: "ignore" };

/** Guards one node's inbound frames. */
export class InboundGuard {
  readonly #hooks: InboundGuardHooks;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(hooks: InboundGuardHooks) {
    this.#hooks = hooks;
  }

  /**
   * Reads direct frames from `stream` of `peer` and hands accepted ones to
   * `deliver`, in order: at once while every check is synchronous, else
   * behind the frames still being checked.
   */
  readStream(stream: Stream, peer: string, deliver: (frame: Frame) => void): void {
    const decoder = new LengthPrefixedDecoder(this.#hooks.frameBytesMax);
    let chain = Promise.resolve();
    let waiting = 0;
    const settle = ({ verdict, frame }: CheckedFrame) => {
      try {
        if (verdict === "accept" && frame !== undefined) deliver(frame);
      } catch {
        // A delivery that throws loses that frame only.
      }
    };
    stream.addEventListener("message", (event) => {
      let messages: Uint8Array[];
      try {
        messages = decoder.push(event.data.subarray());
      } catch (error) {
        this.#hooks.invalid(peer, errorCode(error), (error as Error).message);
        stream.abort(error as Error);
        return;
      }
      for (const bytes of messages) {
        if (!this.#admit(peer)) continue;
        const checked = this.check(bytes, peer, "direct");
        if (waiting === 0 && !(checked instanceof Promise)) {
          settle(checked);
          continue;
        }
        waiting++;
        chain = chain.then(() => checked).then((result) => {
          waiting--;
          settle(result);
        }, () => void waiting--);
      }
    });
  }

  /**
   * Decodes and validates one inbound frame that arrived on the `expected`
   * path. Synchronous unless the ingress validator answers with a promise;
   * a validator that throws or rejects makes the frame ignored.
   */
  check(
    bytes: Uint8Array,
    peer: string,
    expected: Frame["kind"],
  ): CheckedFrame | Promise<CheckedFrame> {
    const hooks = this.#hooks;
    if (hooks.isBanned(peer)) return IGNORED;
    let frame: Frame;
    let origin: TopicOrigin | undefined;
    try {
      ({ frame, origin } = decodeFrame(bytes, hooks.frameBytesMax));
    } catch (error) {
      hooks.invalid(peer, errorCode(error), (error as Error).message);
      return { verdict: "reject" };
    }
    if (frame.kind !== expected || (frame.kind === "direct" && frame.to.node !== hooks.nodeId)) {
      hooks.invalid(
        peer,
        "E_FRAME_MISROUTED",
        `A ${frame.kind} frame arrived on the ${expected} path`,
      );
      return { verdict: "reject", origin };
    }
    if (hooks.ingress === undefined) return { verdict: "accept", frame, origin };
    let decision: IngressDecision | Promise<IngressDecision>;
    try {
      decision = hooks.ingress(frame, { peer, node: hooks.nodeOf(peer) });
    } catch {
      return IGNORED;
    }
    if (!(decision instanceof Promise)) return this.#judge(peer, decision, frame, origin);
    return decision.then(
      (answer) => this.#judge(peer, answer, frame, origin),
      () => IGNORED,
    );
  }

  #judge(
    peer: string,
    decision: IngressDecision,
    frame: Frame,
    origin: TopicOrigin | undefined,
  ): CheckedFrame {
    if (typeof decision !== "string") {
      this.#hooks.invalid(peer, decision.code, decision.message);
      return { verdict: "reject", frame, origin };
    }
    if (decision === "reject") {
      this.#hooks.invalid(peer, "E_INGRESS_REJECTED", "Ingress validator refused the frame");
    }
    return { verdict: decision, frame, origin };
  }

  /** Forgets a disconnected peer's rate state. */
  forget(peer: string): void {
    this.#buckets.delete(peer);
  }

  #admit(peer: string): boolean {
    let bucket = this.#buckets.get(peer);
    if (bucket === undefined) {
      const rate = this.#hooks.inboundRate;
      bucket = new TokenBucket(rate.perSecond, rate.burst, () => performance.now());
      this.#buckets.set(peer, bucket);
    }
    if (bucket.take()) return true;
    const dropped = this.#hooks.flooded();
    if (bucket.refused % FLOOD_FRAMES_PER_OFFENCE === 1) {
      this.#hooks.invalid(
        peer,
        "E_PEER_FLOOD",
        `Peer exceeded its inbound rate (${dropped} frames dropped)`,
      );
    }
    return false;
  }
}

/**
 * The outbound channel to one peer: a single long-lived stream carrying
 * length-prefixed direct frames in the order they were sent, so frames from
 * one sender to one peer arrive in order. Frames wait in a bounded queue
 * while the stream opens; when the queue is full the newest frame is dropped
 * and counted (drop-newest, like a full mailbox).
 *
 * When the stream's buffer is full the channel waits for it to drain. A
 * stream that closes meanwhile, or does not drain within
 * {@linkcode DRAIN_TIMEOUT_MS} (it is aborted then), ends the wait, and the
 * next frames go on a fresh stream: otherwise the channel would wait forever
 * and every later frame to the peer would only queue up.
 *
 * @module
 */

import type { Stream } from "@libp2p/interface";
import { lengthPrefixed } from "./length_prefix.ts";
import { closeWithin } from "./_stream_close.ts";

/** Longest wait for a full stream to drain before it is given up for a fresh one. */
export const DRAIN_TIMEOUT_MS = 30_000;

/** Longest wait for a graceful close of the stream when the channel closes (then it is aborted). */
const CLOSE_TIMEOUT_MS = 5_000;

/** Bounds of an outbound queue. */
export interface OutboundLimits {
  readonly framesMax: number;
  readonly bytesMax: number;
}

/** What the channel reports back to the transport. */
export interface OutboundHooks {
  /** Opens a fresh stream to the peer (direct dial, relay fallback). */
  open(): Promise<Stream>;
  /** A frame left the node (true) or was lost (false). */
  delivered(ok: boolean, count: number): void;
}

/** The ordered stream of direct frames to one peer. */
export class OutboundChannel {
  readonly #limits: OutboundLimits;
  readonly #hooks: OutboundHooks;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #stream: Stream | undefined;
  #opening = false;
  #closed = false;
  #waitingDrain = false;

  constructor(limits: OutboundLimits, hooks: OutboundHooks) {
    this.#limits = limits;
    this.#hooks = hooks;
  }

  /** Frames waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues an encoded frame; false when it was dropped because the queue is full. */
  enqueue(frame: Uint8Array): boolean {
    if (this.#closed) return false;
    const bytes = lengthPrefixed(frame);
    if (
      this.#queue.length >= this.#limits.framesMax ||
      this.#queuedBytes + bytes.length > this.#limits.bytesMax
    ) {
      this.#hooks.delivered(false, 1);
      return false;
    }
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    this.#pump();
    return true;
  }

  /** Closes the stream and drops what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dropQueue();
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) await closeWithin(stream, CLOSE_TIMEOUT_MS, "closing");
  }

  #pump(): void {
    if (this.#closed || this.#waitingDrain) return;
    const stream = this.#stream;
    if (stream === undefined || stream.status !== "open" || stream.writeStatus !== "writable") {
      this.#stream = undefined;
      this.#openStream();
      return;
    }
    let written = 0;
    try {
      while (this.#queue.length > 0) {
        const bytes = this.#queue.shift()!;
        this.#queuedBytes -= bytes.length;
        written++;
        if (!stream.send(bytes)) {
          this.#awaitDrain(stream);
          break;
        }
      }
    } catch {
      // The stream died under us: what was handed to it may be lost.
      this.#stream = undefined;
      this.#hooks.delivered(false, 1);
      written = Math.max(0, written - 1);
    }
    if (written > 0) this.#hooks.delivered(true, written);
  }

  /** Waits for `stream` to drain, or to close, or gives it up after the timeout. */
  #awaitDrain(stream: Stream): void {
    this.#waitingDrain = true;
    const timer = setTimeout(
      () => stream.abort(new Error(`Stream did not drain within ${DRAIN_TIMEOUT_MS} ms`)),
      DRAIN_TIMEOUT_MS,
    );
    Deno.unrefTimer(timer);
    const resume = () => {
      clearTimeout(timer);
      stream.removeEventListener("drain", resume);
      stream.removeEventListener("close", resume);
      this.#waitingDrain = false;
      this.#pump();
    };
    stream.addEventListener("drain", resume, { once: true });
    stream.addEventListener("close", resume, { once: true });
  }

  #openStream(): void {
    if (this.#opening || this.#queue.length === 0) return;
    this.#opening = true;
    this.#hooks.open().then(
      (stream) => {
        this.#opening = false;
        if (this.#closed) {
          stream.abort(new Error("channel closed"));
          return;
        }
        this.#stream = stream;
        stream.addEventListener("close", () => {
          if (this.#stream === stream) this.#stream = undefined;
        });
        this.#pump();
      },
      () => {
        this.#opening = false;
        this.#dropQueue();
      },
    );
  }

  #dropQueue(): void {
    if (this.#queue.length > 0) this.#hooks.delivered(false, this.#queue.length);
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}

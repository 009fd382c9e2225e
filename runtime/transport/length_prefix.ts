/**
 * Length-prefixed framing for byte streams: each message is a 4-byte
 * big-endian length followed by that many bytes. The decoder refuses a
 * declared length over its limit before buffering a byte of the body, so a
 * peer cannot make a node hold more than one maximum-size message per stream.
 *
 * @module
 */

import { FrameError } from "./frame_check.ts";

/** Bytes of the length prefix. */
export const LENGTH_PREFIX_BYTES = 4;

/** Prefixes `body` with its length. */
export function lengthPrefixed(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, LENGTH_PREFIX_BYTES);
  return out;
}

/** Splits a byte stream into messages of at most `messageBytesMax` bytes. */
export class LengthPrefixedDecoder {
  readonly #messageBytesMax: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #expected = -1;

  constructor(messageBytesMax: number) {
    this.#messageBytesMax = messageBytesMax;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * Adds received bytes and returns every message they complete.
   *
   * @throws {FrameError} `E_FRAME_TOO_LARGE` when a prefix declares a
   * message over the limit; the stream is unusable afterwards.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const messages: Uint8Array[] = [];
    while (true) {
      if (this.#expected < 0) {
        if (this.#buffered < LENGTH_PREFIX_BYTES) return messages;
        const prefix = this.#take(LENGTH_PREFIX_BYTES);
        this.#expected = new DataView(prefix.buffer, prefix.byteOffset).getUint32(0);
        if (this.#expected > this.#messageBytesMax) {
          throw new FrameError(
            "E_FRAME_TOO_LARGE",
            `Cannot accept message: declared length ${this.#expected} exceeds the limit of ${this.#messageBytesMax}`,
          );
        }
      }
      if (this.#buffered < this.#expected) return messages;
      messages.push(this.#take(this.#expected));
      this.#expected = -1;
    }
  }

  #take(length: number): Uint8Array {
    const out = new Uint8Array(length);
    let offset = 0;
    while (offset < length) {
      const head = this.#chunks[0];
      const needed = length - offset;
      if (head.length <= needed) {
        out.set(head, offset);
        offset += head.length;
        this.#chunks.shift();
      } else {
        out.set(head.subarray(0, needed), offset);
        this.#chunks[0] = head.subarray(needed);
        offset += needed;
      }
    }
    this.#buffered -= length;
    return out;
  }
}

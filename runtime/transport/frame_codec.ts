/**
 * The binary encoding of transport frames: CBOR (RFC 8949) with two tags
 * for what JSON cannot carry, so every {@linkcode WireValue} crosses a real
 * network unchanged.
 *
 * - `bigint` is always tagged (2 positive / 3 negative bignum), so `5n`
 *   arrives as `5n`, not as the number `5`;
 * - {@linkcode WireRef} (an actor address) is tag 39_277 over `[node, path]`;
 * - `Uint8Array` is a CBOR byte string, `undefined` the CBOR simple value.
 *
 * Decoding is strict: anything that is not a frame of the current version,
 * or that holds a value no sender could have produced, is refused with a
 * {@linkcode FrameError} whose `code` says why. Nothing a peer sends can
 * make the decoder throw anything else.
 *
 * @module
 */

import { decode, encode, Token, Type } from "cborg";
import { WIRE_DEPTH_MAX, WireRef, type WireValue } from "../wire.ts";
import type { Address, DirectFrame, Frame, TopicFrame } from "./transport.ts";
import {
  checkFrame,
  FRAME_BYTES_MAX_DEFAULT,
  FrameError,
  frameSizeUpperBound,
} from "./frame_check.ts";

/** CBOR tag of an actor address (first-come-first-served range, unassigned). */
export const WIRE_REF_TAG = 39_277;
/** Version of the frame layout. */
export const FRAME_VERSION = 1;

const TAG_BIGINT_POSITIVE = 2;
const TAG_BIGINT_NEGATIVE = 3;
const KIND_DIRECT = 0;
const KIND_TOPIC = 1;

/**
 * Extra fields a topic frame carries on a real network: who published it,
 * that publisher's incarnation and a sequence number (per incarnation and
 * gossip topic). They make two publications of equal payloads distinct
 * messages, so content-hash message ids deduplicate copies, never repeats,
 * and they let a receiver restore each publisher's order.
 */
export interface TopicOrigin {
  readonly node: string;
  readonly incarnation: Uint8Array;
  readonly sequence: number;
}

/** A decoded frame plus its topic origin (topic frames only). */
export interface DecodedFrame {
  readonly frame: Frame;
  readonly origin: TopicOrigin | undefined;
}

const typeEncoders = {
  bigint: (value: bigint) => {
    const negative = value < 0n;
    return [
      new Token(Type.tag, negative ? TAG_BIGINT_NEGATIVE : TAG_BIGINT_POSITIVE),
      new Token(Type.bytes, bigintToBytes(negative ? -1n - value : value)),
    ];
  },
  number: (value: number) => Object.is(value, -0) ? [new Token(Type.float, -0)] : null,
  Object: (value: unknown) => {
    if (!(value instanceof WireRef)) return null;
    return [
      new Token(Type.tag, WIRE_REF_TAG),
      new Token(Type.array, 2),
      new Token(Type.string, value.node),
      new Token(Type.string, value.path),
    ];
  },
};

const decodeOptions = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: true,
  allowNaN: true,
  allowInfinity: true,
  allowBigInt: true,
  rejectDuplicateMapKeys: true,
  tags: Object.assign([] as ((decode: () => unknown) => unknown)[], {
    [TAG_BIGINT_POSITIVE]: (inner: () => unknown) => bytesToBigint(inner()),
    [TAG_BIGINT_NEGATIVE]: (inner: () => unknown) => -1n - bytesToBigint(inner()),
    [WIRE_REF_TAG]: (inner: () => unknown) => wireRefFrom(inner()),
  }),
};

/**
 * Encodes a frame; topic frames also carry their `origin`.
 *
 * @example
 * ```ts
 * const bytes = encodeFrame({ kind: "topic", topic: "news", from: undefined, payload: 1n }, origin);
 * ```
 */
export function encodeFrame(frame: Frame, origin?: TopicOrigin): Uint8Array {
  const from = frame.from === undefined ? null : [frame.from.node, frame.from.path];
  const layout = frame.kind === "direct"
    ? [FRAME_VERSION, KIND_DIRECT, [frame.to.node, frame.to.path], from, frame.payload]
    : [
      FRAME_VERSION,
      KIND_TOPIC,
      frame.topic,
      from,
      frame.payload,
      origin?.node ?? "",
      origin?.incarnation ?? new Uint8Array(0),
      origin?.sequence ?? 0,
    ];
  try {
    return encode(layout, { typeEncoders });
  } catch (error) {
    throw new FrameError(
      "E_FRAME_ENCODE",
      `Cannot encode frame: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Decodes and validates a frame of at most `frameBytesMax` bytes.
 *
 * @throws {FrameError} `E_FRAME_TOO_LARGE`, `E_FRAME_CBOR` (not CBOR),
 * `E_FRAME_SHAPE` (CBOR, but not a frame), `E_FRAME_VERSION`, `E_FRAME_VALUE`.
 */
export function decodeFrame(
  bytes: Uint8Array,
  frameBytesMax = FRAME_BYTES_MAX_DEFAULT,
): DecodedFrame {
  if (bytes.length > frameBytesMax) {
    throw new FrameError(
      "E_FRAME_TOO_LARGE",
      `Cannot accept frame: ${bytes.length} bytes exceeds the limit of ${frameBytesMax}`,
    );
  }
  let layout: unknown;
  try {
    layout = decode(bytes, decodeOptions);
  } catch (error) {
    if (error instanceof FrameError) throw error;
    throw new FrameError(
      "E_FRAME_CBOR",
      `Cannot decode frame of ${bytes.length} bytes: ${(error as Error).message}`,
    );
  }
  const decoded = layoutToFrame(layout);
  try {
    checkFrame(decoded.frame);
  } catch (error) {
    const detail = (error as Error).message.replace(/^Cannot send frame: /, "");
    throw new FrameError("E_FRAME_VALUE", `Cannot accept frame: ${detail}`);
  }
  return decoded;
}

function layoutToFrame(layout: unknown): DecodedFrame {
  if (!Array.isArray(layout) || layout.length < 5) {
    throw shapeError("expected an array of at least 5 items");
  }
  if (layout[0] !== FRAME_VERSION) {
    throw new FrameError(
      "E_FRAME_VERSION",
      `Cannot accept frame: version must be ${FRAME_VERSION}, got ${String(layout[0])}`,
    );
  }
  const from = layout[3] === null ? undefined : addressFrom(layout[3], "from");
  const payload = checkValue(layout[4], 0);
  if (layout[1] === KIND_DIRECT && layout.length === 5) {
    const frame: DirectFrame = { kind: "direct", to: addressFrom(layout[2], "to"), from, payload };
    return { frame, origin: undefined };
  }
  if (layout[1] === KIND_TOPIC && layout.length === 8) {
    const [, , topic, , , node, incarnation, sequence] = layout;
    if (typeof topic !== "string") throw shapeError("topic must be a string");
    if (typeof node !== "string" || !(incarnation instanceof Uint8Array)) {
      throw shapeError("topic origin must be a node id and incarnation bytes");
    }
    if (!Number.isSafeInteger(sequence) || (sequence as number) < 0) {
      throw shapeError(`topic sequence must be an integer >= 0, got ${String(sequence)}`);
    }
    const frame: TopicFrame = { kind: "topic", topic, from, payload };
    return { frame, origin: { node, incarnation, sequence: sequence as number } };
  }
  throw shapeError(`unknown kind ${String(layout[1])} with ${layout.length} items`);
}

function addressFrom(value: unknown, field: string): Address {
  if (
    !Array.isArray(value) || value.length !== 2 || typeof value[0] !== "string" ||
    typeof value[1] !== "string"
  ) {
    throw shapeError(`${field} must be [node, path]`);
  }
  return { node: value[0], path: value[1] };
}

/** Checks a decoded CBOR value is a wire value (no maps with odd keys, bounded depth). */
function checkValue(value: unknown, depth: number): WireValue {
  if (depth > WIRE_DEPTH_MAX) {
    throw new FrameError(
      "E_FRAME_VALUE",
      `Cannot accept frame: payload nests deeper than ${WIRE_DEPTH_MAX} levels`,
    );
  }
  if (typeof value !== "object" || value === null) return value as WireValue;
  if (value instanceof Uint8Array || value instanceof WireRef) return value;
  if (Array.isArray(value)) {
    for (const item of value) checkValue(item, depth + 1);
    return value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    throw new FrameError("E_FRAME_VALUE", "Cannot accept frame: payload holds a non-wire value");
  }
  for (const item of Object.values(value)) checkValue(item, depth + 1);
  return value as WireValue;
}

function wireRefFrom(value: unknown): WireRef {
  if (
    !Array.isArray(value) || value.length !== 2 || typeof value[0] !== "string" ||
    typeof value[1] !== "string"
  ) {
    throw shapeError(`tag ${WIRE_REF_TAG} must wrap [node, path]`);
  }
  return new WireRef(value[0], value[1]);
}

function bytesToBigint(value: unknown): bigint {
  if (!(value instanceof Uint8Array)) throw shapeError("a bignum tag must wrap a byte string");
  let result = 0n;
  for (const byte of value) result = (result << 8n) | BigInt(byte);
  return result;
}

function bigintToBytes(value: bigint): Uint8Array {
  const bytes: number[] = [];
  while (value > 0n) {
    bytes.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  return Uint8Array.from(bytes);
}

function shapeError(detail: string): FrameError {
  return new FrameError("E_FRAME_SHAPE", `Cannot accept frame: ${detail}`);
}

/**
 * Checks a frame before it is sent: well formed and at most `frameBytesMax`
 * bytes once encoded. Every transport calls it in `send`, so the in-process
 * and simulated transports refuse exactly what the network would.
 *
 * @throws {FrameError} `E_FRAME_INVALID` or `E_FRAME_TOO_LARGE`.
 */
export function guardFrame(frame: Frame, frameBytesMax = FRAME_BYTES_MAX_DEFAULT): void {
  checkFrame(frame);
  if (frameSizeUpperBound(frame, frameBytesMax) <= frameBytesMax) return;
  const size = encodeFrame(frame, {
    node: "x".repeat(128),
    incarnation: new Uint8Array(8),
    sequence: Number.MAX_SAFE_INTEGER,
  }).length;
  if (size > frameBytesMax) throw frameTooLarge(size, frameBytesMax);
}

/** The error for a frame over the size limit. */
export function frameTooLarge(size: number, frameBytesMax: number): FrameError {
  return new FrameError(
    "E_FRAME_TOO_LARGE",
    `Cannot send frame: ${size} bytes exceeds the limit of ${frameBytesMax}`,
  );
}

/** Encodes any wire value with the frame tags (RPC bodies, announcements). */
export function encodeWire(value: WireValue): Uint8Array {
  try {
    return encode(value, { typeEncoders });
  } catch (error) {
    throw new FrameError(
      "E_FRAME_ENCODE",
      `Cannot encode value: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Decodes a wire value encoded by {@linkcode encodeWire}.
 *
 * @throws {FrameError} `E_FRAME_CBOR` or `E_FRAME_VALUE`.
 */
export function decodeWire(bytes: Uint8Array): WireValue {
  let value: unknown;
  try {
    value = decode(bytes, decodeOptions);
  } catch (error) {
    if (error instanceof FrameError) throw error;
    throw new FrameError(
      "E_FRAME_CBOR",
      `Cannot decode value of ${bytes.length} bytes: ${(error as Error).message}`,
    );
  }
  return checkValue(value, 0);
}

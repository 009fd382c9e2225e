/**
 * The fast path of envelope decoding: reads the top-level map of an
 * envelope straight from its bytes when they are exactly in canonical form,
 * decodes only the payload with `@ipld/dag-cbor`, and cuts the signing bytes
 * out of the input instead of re-encoding them.
 *
 * It never decides that an envelope is bad: on anything unexpected (an
 * unknown key, a wrong type, a non-shortest head, invalid UTF-8, trailing
 * bytes) it returns undefined and the caller takes the general path, which
 * produces the precise typed error. So this file can only make decoding
 * faster, never change its answer; the property and fuzz tests run both.
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import { CANONICAL_KEY_ORDER } from "./_canonical.ts";

/** What the fast path read. */
export interface FastDecoded {
  /** Top-level values by key (payload decoded), for the schema check. */
  readonly record: Record<string, unknown>;
  /** The payload's canonical bytes (a view into the input). */
  readonly payloadBytes: Uint8Array;
  /** The canonical bytes without the `sig` entry. */
  readonly signingBytes: Uint8Array;
}

type Kind = "uint" | "bytes" | "text" | "payload";

const KIND: Record<string, Kind> = {
  v: "uint",
  ts: "uint",
  sig: "bytes",
  kind: "text",
  epoch: "uint",
  fence: "uint",
  nonce: "bytes",
  trace: "text",
  policy: "text",
  sender: "text",
  thread: "text",
  lamport: "uint",
  payload: "payload",
  evalDigest: "text",
};
const TEXT = new TextDecoder("utf-8", { fatal: true });
const NESTING_MAX = 64;

interface Head {
  readonly major: number;
  readonly value: number | bigint;
  readonly next: number;
}

/** Reads a CBOR head that must be in shortest form; undefined otherwise. */
function readHead(bytes: Uint8Array, at: number): Head | undefined {
  if (at >= bytes.length) return undefined;
  const initial = bytes[at];
  const major = initial >> 5;
  const additional = initial & 0x1f;
  if (additional < 24) return { major, value: additional, next: at + 1 };
  const size = additional === 24
    ? 1
    : additional === 25
    ? 2
    : additional === 26
    ? 4
    : additional === 27
    ? 8
    : 0;
  if (size === 0 || at + 1 + size > bytes.length) return undefined;
  let value: number | bigint = 0;
  if (size === 8) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 8);
    const big = view.getBigUint64(0);
    value = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  } else {
    for (let index = 1; index <= size; index++) value = (value as number) * 256 + bytes[at + index];
  }
  const minimum = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000;
  if (value < minimum) return undefined;
  return { major, value, next: at + 1 + size };
}

/** The end offset of the (definite-length) CBOR item at `at`; undefined if unsupported. */
function skipItem(bytes: Uint8Array, at: number, depth: number): number | undefined {
  if (depth > NESTING_MAX || at >= bytes.length) return undefined;
  if (bytes[at] >> 5 === 7) {
    // false, true, null, and float64 only (DAG-CBOR); anything else falls back.
    if (bytes[at] >= 0xf4 && bytes[at] <= 0xf6) return at + 1;
    return bytes[at] === 0xfb && at + 9 <= bytes.length ? at + 9 : undefined;
  }
  const head = readHead(bytes, at);
  if (head === undefined || typeof head.value === "bigint") {
    return head !== undefined && head.major <= 1 ? head.next : undefined;
  }
  const { major, value, next } = head;
  switch (major) {
    case 0:
    case 1:
      return next;
    case 2:
    case 3:
      return next + value <= bytes.length ? next + value : undefined;
    case 4:
    case 5: {
      let position: number | undefined = next;
      for (
        let index = 0;
        index < value * (major === 5 ? 2 : 1) && position !== undefined;
        index++
      ) {
        position = skipItem(bytes, position, depth + 1);
      }
      return position;
    }
    default:
      return value === 42 ? skipItem(bytes, next, depth + 1) : undefined;
  }
}

function readText(bytes: Uint8Array, start: number, end: number): string | undefined {
  let ascii = true;
  for (let index = start; index < end && ascii; index++) ascii = bytes[index] < 0x80;
  if (ascii) {
    let text = "";
    for (let index = start; index < end; index++) text += String.fromCharCode(bytes[index]);
    return text;
  }
  try {
    return TEXT.decode(bytes.subarray(start, end));
  } catch {
    return undefined;
  }
}

/** Reads one top-level value of `kind` at `at`; undefined when it is not the expected shape. */
function readValue(
  bytes: Uint8Array,
  at: number,
  kind: Kind,
): { value: unknown; next: number } | undefined {
  if (kind === "payload") {
    const end = skipItem(bytes, at, 0);
    if (end === undefined || (bytes[at] >> 5 !== 5 && bytes[at] !== 0xd8)) return undefined;
    const slice = bytes.subarray(at, end);
    let value: unknown;
    try {
      value = dagCbor.decode(slice);
    } catch {
      return undefined;
    }
    return { value, next: end };
  }
  const head = readHead(bytes, at);
  if (head === undefined) return undefined;
  const expected = kind === "uint" ? 0 : kind === "bytes" ? 2 : 3;
  if (head.major !== expected) return undefined;
  if (kind === "uint") return { value: head.value, next: head.next };
  const end = head.next + Number(head.value);
  if (typeof head.value === "bigint" || end > bytes.length) return undefined;
  if (kind === "bytes") return { value: bytes.subarray(head.next, end), next: end };
  const text = readText(bytes, head.next, end);
  return text === undefined ? undefined : { value: text, next: end };
}

/**
 * Reads a canonical envelope's top level, or returns undefined so the
 * caller uses the general path.
 */
export function fastDecodeEnvelope(bytes: Uint8Array): FastDecoded | undefined {
  const entries = bytes[0] - 0xa0;
  if (!(entries > 0 && entries < 24)) return undefined;
  const record: Record<string, unknown> = {};
  let position = 1;
  let keyIndex = 0;
  let payload: [number, number] | undefined;
  let signature: [number, number] | undefined;
  for (let entry = 0; entry < entries; entry++) {
    const keyHead = bytes[position];
    const keyLength = keyHead - 0x60;
    if (!(keyLength > 0 && keyLength < 24)) return undefined;
    const key = readText(bytes, position + 1, position + 1 + keyLength);
    // Keys must appear in canonical order, each at most once.
    while (keyIndex < CANONICAL_KEY_ORDER.length && CANONICAL_KEY_ORDER[keyIndex] !== key) {
      keyIndex++;
    }
    if (key === undefined || keyIndex === CANONICAL_KEY_ORDER.length) return undefined;
    keyIndex++;
    const entryStart = position;
    const valueAt = position + 1 + keyLength;
    const read = readValue(bytes, valueAt, KIND[key]);
    if (read === undefined) return undefined;
    record[key] = read.value;
    if (key === "payload") payload = [valueAt, read.next];
    if (key === "sig") signature = [entryStart, read.next];
    position = read.next;
  }
  if (position !== bytes.length || payload === undefined || signature === undefined) {
    return undefined;
  }
  return {
    record,
    payloadBytes: bytes.subarray(payload[0], payload[1]),
    signingBytes: withoutEntry(bytes, signature[0], signature[1]),
  };
}

/** The map without one entry: one fewer in the head, the entry's bytes cut out. */
function withoutEntry(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(bytes.length - (end - start));
  out[0] = bytes[0] - 1;
  out.set(bytes.subarray(1, start), 1);
  out.set(bytes.subarray(end), start);
  return out;
}

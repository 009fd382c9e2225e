/**
 * The envelope's canonical DAG-CBOR, written directly.
 *
 * The top level of an envelope has fixed, typed fields, so its bytes are
 * written here into one exactly sized buffer, without a generic encoder
 * walk; the payload (arbitrary data) is encoded once by `@ipld/dag-cbor` and
 * copied in. The result is byte-identical to `dagCbor.encode(envelope)` —
 * keys sorted length-first then bytewise, shortest integer heads — which a
 * property test checks against the library on random envelopes. Signing
 * input and wire form are both assembled from the same encoded payload, so
 * a payload is encoded once per envelope.
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import type { EnvelopeFields, Payload } from "./types.ts";
import { encodePlain } from "./_plain_cbor.ts";

/** Envelope keys in DAG-CBOR order: by length, then bytewise. */
export const CANONICAL_KEY_ORDER = [
  "v",
  "ts",
  "sig",
  "kind",
  "epoch",
  "fence",
  "nonce",
  "trace",
  "policy",
  "sender",
  "thread",
  "lamport",
  "payload",
  "evalDigest",
] as const;

const TEXT = new TextEncoder();
const MAJOR_UINT = 0;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_MAP = 5;

/**
 * Where the `sig` entry goes in an envelope's canonical map: right after the
 * `v` and `ts` entries (the only shorter keys). Reads the `ts` head from the
 * bytes: `[map head][61 76 01][62 74 73][ts head+argument]`.
 */
function signatureOffset(bytes: Uint8Array): number {
  const additional = bytes[7] & 0x1f;
  const tsLength = additional < 24
    ? 1
    : additional === 24
    ? 2
    : additional === 25
    ? 3
    : additional === 26
    ? 5
    : 9;
  return 7 + tsLength;
}

/** The `sig` entry: key `sig`, a 64-byte byte-string head, the signature. */
const SIG_ENTRY_HEAD = Uint8Array.from([0x63, 0x73, 0x69, 0x67, 0x58, 0x40]);

/**
 * The canonical signed bytes from the canonical unsigned bytes and a 64-byte
 * signature, by inserting the `sig` entry (no re-encoding).
 */
export function insertSignature(signingBytes: Uint8Array, sig: Uint8Array): Uint8Array {
  const at = signatureOffset(signingBytes);
  const out = new Uint8Array(signingBytes.length + SIG_ENTRY_HEAD.length + sig.length);
  out[0] = signingBytes[0] + 1;
  out.set(signingBytes.subarray(1, at), 1);
  out.set(SIG_ENTRY_HEAD, at);
  out.set(sig, at + SIG_ENTRY_HEAD.length);
  out.set(signingBytes.subarray(at), at + SIG_ENTRY_HEAD.length + sig.length);
  return out;
}

/**
 * True when `bytes` are exactly `signingBytes` with the 64-byte signature
 * `sig` inserted, i.e. the canonical signed form (compared without copying).
 */
export function isSignedForm(
  bytes: Uint8Array,
  signingBytes: Uint8Array,
  sig: Uint8Array,
): boolean {
  const at = signatureOffset(signingBytes);
  const entry = SIG_ENTRY_HEAD.length + sig.length;
  if (bytes.length !== signingBytes.length + entry || bytes[0] !== signingBytes[0] + 1) {
    return false;
  }
  for (let index = 1; index < at; index++) if (bytes[index] !== signingBytes[index]) return false;
  for (let index = 0; index < SIG_ENTRY_HEAD.length; index++) {
    if (bytes[at + index] !== SIG_ENTRY_HEAD[index]) return false;
  }
  for (let index = 0; index < sig.length; index++) {
    if (bytes[at + SIG_ENTRY_HEAD.length + index] !== sig[index]) return false;
  }
  for (let index = at; index < signingBytes.length; index++) {
    if (bytes[index + entry] !== signingBytes[index]) return false;
  }
  return true;
}

/**
 * Encodes a payload (inline map or CID link): plain data on the fast path,
 * anything else (bytes, CIDs, bigints) with the DAG-CBOR library.
 */
export function encodePayload(payload: Payload): Uint8Array {
  return encodePlain(payload) ?? dagCbor.encode(payload);
}

type Value =
  | { readonly kind: "uint"; readonly value: number | bigint }
  | { readonly kind: "bytes"; readonly value: Uint8Array }
  | { readonly kind: "ascii"; readonly value: string }
  | { readonly kind: "text"; readonly value: Uint8Array }
  | { readonly kind: "raw"; readonly value: Uint8Array };

/**
 * Assembles the canonical bytes of `envelope`, with or without its `sig`,
 * around an already encoded payload.
 */
export function assembleEnvelope(
  envelope: EnvelopeFields & { readonly sig?: Uint8Array },
  payloadBytes: Uint8Array,
  withSignature: boolean,
): Uint8Array {
  const entries: [string, Value][] = [
    ["v", { kind: "uint", value: envelope.v }],
    ["ts", { kind: "uint", value: envelope.ts }],
  ];
  if (withSignature) entries.push(["sig", { kind: "bytes", value: envelope.sig as Uint8Array }]);
  entries.push(["kind", text(envelope.kind)]);
  if (envelope.epoch !== undefined) {
    entries.push(["epoch", { kind: "uint", value: envelope.epoch }]);
  }
  if (envelope.fence !== undefined) {
    entries.push(["fence", { kind: "uint", value: envelope.fence }]);
  }
  entries.push(["nonce", { kind: "bytes", value: envelope.nonce }]);
  if (envelope.trace !== undefined) entries.push(["trace", text(envelope.trace)]);
  entries.push(
    ["policy", text(envelope.policy)],
    ["sender", text(envelope.sender)],
    ["thread", text(envelope.thread)],
    ["lamport", { kind: "uint", value: envelope.lamport }],
    ["payload", { kind: "raw", value: payloadBytes }],
  );
  if (envelope.evalDigest !== undefined) entries.push(["evalDigest", text(envelope.evalDigest)]);
  let size = headSize(entries.length);
  for (const [key, value] of entries) size += headSize(key.length) + key.length + valueSize(value);
  const out = new Uint8Array(size);
  let offset = writeHead(out, 0, MAJOR_MAP, entries.length);
  for (const [key, value] of entries) {
    offset = writeHead(out, offset, MAJOR_TEXT, key.length);
    for (let index = 0; index < key.length; index++) out[offset++] = key.charCodeAt(index);
    offset = writeValue(out, offset, value);
  }
  return out;
}

/** ASCII strings (almost all of them) are written byte by byte; others go through UTF-8. */
function text(value: string): Value {
  for (let index = 0; index < value.length; index++) {
    if (value.charCodeAt(index) > 0x7f) return { kind: "text", value: TEXT.encode(value) };
  }
  return { kind: "ascii", value };
}

function valueSize(value: Value): number {
  if (value.kind === "uint") return headSize(value.value);
  if (value.kind === "raw" || value.kind === "ascii") {
    return (value.kind === "ascii" ? headSize(value.value.length) : 0) + value.value.length;
  }
  return headSize(value.value.length) + value.value.length;
}

function writeValue(out: Uint8Array, offset: number, value: Value): number {
  if (value.kind === "uint") return writeHead(out, offset, MAJOR_UINT, value.value);
  if (value.kind === "raw") {
    out.set(value.value, offset);
    return offset + value.value.length;
  }
  if (value.kind === "ascii") {
    let next = writeHead(out, offset, MAJOR_TEXT, value.value.length);
    for (let index = 0; index < value.value.length; index++) {
      out[next++] = value.value.charCodeAt(index);
    }
    return next;
  }
  const major = value.kind === "bytes" ? MAJOR_BYTES : MAJOR_TEXT;
  const next = writeHead(out, offset, major, value.value.length);
  out.set(value.value, next);
  return next + value.value.length;
}

/** Bytes of a CBOR head for `argument` in its shortest form. */
function headSize(argument: number | bigint): number {
  if (typeof argument === "bigint") return argument > 0xffffffffn ? 9 : headSize(Number(argument));
  if (argument < 24) return 1;
  if (argument < 0x100) return 2;
  if (argument < 0x10000) return 3;
  if (argument < 0x100000000) return 5;
  return 9;
}

/** Writes a CBOR head (major type, shortest argument) at `offset`; returns the next offset. */
function writeHead(
  out: Uint8Array,
  offset: number,
  major: number,
  argument: number | bigint,
): number {
  const top = major << 5;
  if (typeof argument === "bigint") {
    if (argument <= 0xffffffffn) return writeHead(out, offset, major, Number(argument));
    out[offset] = top | 27;
    writeUint32(out, offset + 1, Number(argument >> 32n));
    writeUint32(out, offset + 5, Number(argument & 0xffffffffn));
    return offset + 9;
  }
  if (argument < 24) {
    out[offset] = top | argument;
    return offset + 1;
  }
  if (argument < 0x100) {
    out[offset] = top | 24;
    out[offset + 1] = argument;
    return offset + 2;
  }
  if (argument < 0x10000) {
    out[offset] = top | 25;
    out[offset + 1] = argument >>> 8;
    out[offset + 2] = argument & 0xff;
    return offset + 3;
  }
  if (argument < 0x100000000) {
    out[offset] = top | 26;
    writeUint32(out, offset + 1, argument);
    return offset + 5;
  }
  // Safe integers above 2^32 (Lamport values, epochs): split without BigInt.
  out[offset] = top | 27;
  writeUint32(out, offset + 1, Math.floor(argument / 0x100000000));
  writeUint32(out, offset + 5, argument >>> 0);
  return offset + 9;
}

function writeUint32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

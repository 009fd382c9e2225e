/**
 * Field-by-field validation of an envelope record, shared by decoding
 * (untrusted bytes) and signing (local drafts), so both sides agree on
 * exactly one format.
 *
 * @module
 */

import { CID } from "multiformats/cid";
import { ENVELOPE_ERROR_CODES, EnvelopeError } from "./errors.ts";
import { type Envelope, ENVELOPE_VERSION, type EnvelopeFields, type Payload } from "./types.ts";
import { isVerb } from "./verbs.ts";

/** Longest thread id, in UTF-16 code units. */
export const THREAD_LENGTH_MAX = 256;
/** Longest sender DID. */
export const SENDER_LENGTH_MAX = 256;
/** Longest policy hash or evaluation digest string. */
export const DIGEST_LENGTH_MAX = 128;
/** Shortest and longest nonce, in bytes. */
export const NONCE_BYTES_MIN = 8;
export const NONCE_BYTES_MAX = 64;
/** Length of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** Multicodec of DAG-CBOR, the only codec a payload reference may name. */
export const DAG_CBOR_CODE = 0x71;
/** Multihash code of sha2-256, the only hash a payload reference may use. */
export const SHA2_256_CODE = 0x12;

const TS_MAX = (1n << 64n) - 1n;
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  "v",
  "kind",
  "thread",
  "sender",
  "lamport",
  "ts",
  "nonce",
  "payload",
  "policy",
  "evalDigest",
  "epoch",
  "fence",
  "trace",
  "sig",
]);

/**
 * Checks `record` field by field and returns a typed envelope (with `ts` as
 * a bigint). Order of checks: version, unknown fields, then each field.
 */
export function checkEnvelopeRecord(
  record: Record<string, unknown>,
  withSignature: boolean,
): EnvelopeFields & { sig?: Uint8Array } {
  checkVersion(record.v);
  for (const key in record) {
    if (!KNOWN_FIELDS.has(key) || (key === "sig" && !withSignature)) {
      fail(
        ENVELOPE_ERROR_CODES.fieldUnknown,
        `Cannot accept envelope: unknown field '${key.slice(0, 64)}'`,
      );
    }
  }
  if (!isVerb(record.kind)) {
    if (typeof record.kind !== "string") typeError("kind", "a verb string", record.kind);
    fail(
      ENVELOPE_ERROR_CODES.kind,
      `Cannot accept envelope: kind '${record.kind.slice(0, 64)}' is not a protocol verb`,
    );
  }
  const fields: EnvelopeFields & { sig?: Uint8Array } = {
    v: ENVELOPE_VERSION,
    kind: record.kind,
    thread: text(record.thread, "thread", THREAD_LENGTH_MAX),
    sender: senderText(record.sender),
    lamport: lamport(record.lamport),
    ts: timestamp(record.ts),
    nonce: bytes(record.nonce, "nonce", NONCE_BYTES_MIN, NONCE_BYTES_MAX),
    payload: payload(record.payload),
    policy: text(record.policy, "policy", DIGEST_LENGTH_MAX),
    ...optional(record),
  };
  if (withSignature) {
    fields.sig = bytes(record.sig, "sig", SIGNATURE_BYTES, SIGNATURE_BYTES);
  }
  return fields;
}

/** Narrows a checked record with a signature to an {@linkcode Envelope}. */
export function asEnvelope(fields: EnvelopeFields & { sig?: Uint8Array }): Envelope {
  return fields as Envelope;
}

function optional(record: Record<string, unknown>): Partial<EnvelopeFields> {
  const out: { evalDigest?: string; epoch?: number; fence?: number; trace?: string } = {};
  if (record.evalDigest !== undefined) {
    out.evalDigest = text(record.evalDigest, "evalDigest", DIGEST_LENGTH_MAX);
  }
  if (record.epoch !== undefined) out.epoch = counter(record.epoch, "epoch");
  if (record.fence !== undefined) out.fence = counter(record.fence, "fence");
  if (record.trace !== undefined) {
    if (typeof record.trace !== "string" || !TRACEPARENT.test(record.trace)) {
      typeError("trace", "a W3C traceparent", record.trace);
    }
    out.trace = record.trace;
  }
  return out;
}

function checkVersion(value: unknown): void {
  if (value === ENVELOPE_VERSION) return;
  if (typeof value === "number" && Number.isInteger(value)) {
    fail(
      ENVELOPE_ERROR_CODES.version,
      `Cannot accept envelope: unknown version ${value}, this node reads version ${ENVELOPE_VERSION}`,
    );
  }
  typeError("v", "an integer version", value);
}

function text(value: unknown, field: string, lengthMax: number): string {
  if (
    typeof value !== "string" || value.length === 0 || value.length > lengthMax ||
    !(value as unknown as { isWellFormed(): boolean }).isWellFormed()
  ) {
    typeError(field, `a well-formed string of 1 to ${lengthMax} characters`, value);
  }
  return value;
}

function senderText(value: unknown): string {
  const sender = text(value, "sender", SENDER_LENGTH_MAX);
  if (!sender.startsWith("did:")) typeError("sender", "a DID", value);
  return sender;
}

function lamport(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    typeError("lamport", "a safe integer", value);
  }
  if (value <= 0) {
    fail(
      ENVELOPE_ERROR_CODES.lamport,
      `Cannot accept envelope: lamport must be > 0, got ${value}`,
    );
  }
  return value;
}

function counter(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    typeError(field, "a safe integer >= 0", value);
  }
  return value;
}

function timestamp(value: unknown): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n && value <= TS_MAX) return value;
  return typeError("ts", "an unsigned 64-bit integer of nanoseconds", value);
}

function bytes(value: unknown, field: string, minimum: number, maximum: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < minimum || value.length > maximum) {
    typeError(
      field,
      minimum === maximum ? `${minimum} bytes` : `${minimum} to ${maximum} bytes`,
      value,
    );
  }
  return value;
}

function payload(value: unknown): Payload {
  const cid = CID.asCID(value);
  if (cid !== null) {
    if (
      cid !== value || cid.version !== 1 || cid.code !== DAG_CBOR_CODE ||
      cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== 32
    ) {
      typeError("payload", "a CIDv1 (dag-cbor, sha2-256) reference or a map", value);
    }
    return cid;
  }
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
  ) {
    typeError("payload", "a map or a CID reference", value);
  }
  return value as Payload;
}

function typeError(field: string, expected: string, value: unknown): never {
  return fail(
    ENVELOPE_ERROR_CODES.fieldType,
    value === undefined
      ? `Cannot accept envelope: field '${field}' is missing, expected ${expected}`
      : `Cannot accept envelope: field '${field}' must be ${expected}, got ${describe(value)}`,
  );
}

function fail(code: EnvelopeError["code"], message: string): never {
  throw new EnvelopeError(code, message);
}

/** Names a value for an error message without dumping it. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `'${value.slice(0, 64)}'${value.length > 64 ? "…" : ""}`;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return `${typeof value} ${String(value)}`;
  }
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return typeof value === "object" ? "a map" : typeof value;
}

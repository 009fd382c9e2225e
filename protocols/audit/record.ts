/**
 * Audit records: one per envelope a node published (`out`) or delivered
 * (`in`), chained by hash and signed by the node.
 *
 A record is the canonical DAG-CBOR map `{body, sig}`: `body` holds the
 * canonical DAG-CBOR bytes of `{v, seq, thread, dir, env, prev, node}` and
 * `sig` is the node's Ed25519 signature over exactly those bytes. `env` is
 * the envelope's canonical bytes, `seq` the record's position in the
 * thread's log, `prev` the sha2-256 of the previous record's bytes (32 zero
 * bytes for the first). Carrying the signed bytes as bytes means checking a
 * record never re-encodes it, which keeps replay fast. Changing, dropping,
 * inserting or reordering any record breaks the chain or a signature.
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import { sha256 } from "multiformats/hashes/sha2";
import type { Identity } from "../identity/identity.ts";
import { AUDIT_ERROR_CODES, AuditError } from "./errors.ts";

/** Format version of audit records. */
export const AUDIT_RECORD_VERSION = 1;
/** `prev` of the first record of a log. */
export const AUDIT_GENESIS_PREV: Uint8Array = new Uint8Array(32);

/** Whether the node published the envelope (`out`) or had it delivered (`in`). */
export type AuditDirection = "out" | "in";

/** Every field of a record but the signature. */
export interface AuditRecordFields {
  readonly v: typeof AUDIT_RECORD_VERSION;
  readonly seq: number;
  readonly thread: string;
  readonly dir: AuditDirection;
  /** The envelope's canonical bytes. */
  readonly env: Uint8Array;
  readonly prev: Uint8Array;
  /** DID of the node that wrote the record. */
  readonly node: string;
}

/** A signed record with its bytes and hash. */
export interface AuditRecord extends AuditRecordFields {
  readonly sig: Uint8Array;
  /** Canonical DAG-CBOR of the whole record: what the log stores. */
  readonly bytes: Uint8Array;
  /** Canonical DAG-CBOR without `sig`: what the node signed. */
  readonly signingBytes: Uint8Array;
  /** sha2-256 of `bytes`: the next record's `prev`. */
  readonly hash: Uint8Array;
}

const BODY_FIELDS = ["v", "seq", "thread", "dir", "env", "prev", "node"];

/** Signs record fields as `identity` (which must be `fields.node`). */
export async function signAuditRecord(
  fields: AuditRecordFields,
  identity: Identity,
): Promise<AuditRecord> {
  if (fields.node !== identity.did) {
    throw new AuditError(
      AUDIT_ERROR_CODES.node,
      `Cannot sign audit record: node ${fields.node} is not the signer ${identity.did}`,
    );
  }
  const body = bodyOf(fields);
  const signingBytes = dagCbor.encode(body);
  const sig = await identity.sign(signingBytes);
  const bytes = dagCbor.encode({ body: signingBytes, sig });
  return Object.freeze({ ...body, sig, bytes, signingBytes, hash: recordHash(bytes) });
}

/**
 * Decodes a record from its bytes, checking every field and the canonical
 * form; throws {@linkcode AuditError} `E_AUDIT_RECORD`. Does not check the
 * signature or the chain.
 */
export function decodeAuditRecord(bytes: Uint8Array): AuditRecord {
  const outer = splitOuter(bytes);
  if (outer === undefined) bad("is not a canonical DAG-CBOR map of exactly body and sig");
  const { body: signingBytes, sig } = outer;
  const record = decodeMap(signingBytes, "body is");
  for (const key of Object.keys(record)) {
    if (!BODY_FIELDS.includes(key)) bad(`body has unknown field '${key.slice(0, 64)}'`);
  }
  if (record.v !== AUDIT_RECORD_VERSION) bad(`has version ${String(record.v)}, expected 1`);
  if (!Number.isSafeInteger(record.seq) || (record.seq as number) < 0) bad("has no valid seq");
  if (typeof record.thread !== "string" || record.thread.length === 0) bad("has no thread");
  if (record.dir !== "out" && record.dir !== "in") bad(`has direction ${String(record.dir)}`);
  if (!(record.env instanceof Uint8Array) || record.env.length === 0) bad("has no envelope bytes");
  if (!(record.prev instanceof Uint8Array) || record.prev.length !== 32) bad("has no 32-byte prev");
  if (typeof record.node !== "string" || !record.node.startsWith("did:")) bad("has no node DID");
  const body = bodyOf(record as unknown as AuditRecordFields);
  return { ...body, sig, bytes, signingBytes, hash: recordHash(bytes) };
}

/** Map of two entries, then key `sig` and a 64-byte byte-string head. */
const SIG_ENTRY = [0xa2, 0x63, 0x73, 0x69, 0x67, 0x58, 0x40];
/** Key `body`. */
const BODY_KEY = [0x64, 0x62, 0x6f, 0x64, 0x79];

/**
 * Splits a record's outer map without a generic decode (no copies). DAG-CBOR
 * sorts keys by length, so the only canonical form of `{body, sig}` is
 * `a2 63 "sig" 58 40 <64 bytes> 64 "body" <shortest bytes head> <body>`.
 */
function splitOuter(bytes: Uint8Array): { body: Uint8Array; sig: Uint8Array } | undefined {
  const bodyKeyAt = SIG_ENTRY.length + 64;
  const at = bodyKeyAt + BODY_KEY.length;
  if (!(bytes instanceof Uint8Array) || bytes.length <= at) return undefined;
  for (let index = 0; index < SIG_ENTRY.length; index++) {
    if (bytes[index] !== SIG_ENTRY[index]) return undefined;
  }
  for (let index = 0; index < BODY_KEY.length; index++) {
    if (bytes[bodyKeyAt + index] !== BODY_KEY[index]) return undefined;
  }
  const additional = bytes[at] - 0x40;
  let length: number;
  let headLength: number;
  if (additional >= 0 && additional < 24) [length, headLength] = [additional, 1];
  else if (additional === 24) [length, headLength] = [bytes[at + 1], 2];
  else if (additional === 25) [length, headLength] = [(bytes[at + 1] << 8) | bytes[at + 2], 3];
  else if (additional === 26) {
    length = bytes[at + 1] * 0x1000000 +
      ((bytes[at + 2] << 16) | (bytes[at + 3] << 8) | bytes[at + 4]);
    headLength = 5;
  } else return undefined;
  const shortest = length < 24 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
  if (headLength !== shortest || bytes.length !== at + headLength + length) return undefined;
  return {
    body: bytes.subarray(at + headLength),
    sig: bytes.subarray(SIG_ENTRY.length, bodyKeyAt),
  };
}

/** Decodes a map; `part` starts the error detail ("is" or "body is"). */
function decodeMap(bytes: Uint8Array, part: string): Record<string, unknown> {
  let decoded: unknown;
  try {
    decoded = dagCbor.decode(bytes);
  } catch (error) {
    bad(`${part} not valid DAG-CBOR (${(error as Error).message.split("\n")[0]})`);
  }
  if (
    typeof decoded !== "object" || decoded === null || Array.isArray(decoded) ||
    decoded instanceof Uint8Array
  ) {
    bad(`${part} not a map`);
  }
  return decoded as Record<string, unknown>;
}

/** sha2-256 of a record's bytes. */
export function recordHash(bytes: Uint8Array): Uint8Array {
  return (sha256.digest(bytes) as { digest: Uint8Array }).digest;
}

/** Byte equality. */
export function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

function bodyOf(fields: AuditRecordFields): AuditRecordFields {
  return {
    v: AUDIT_RECORD_VERSION,
    seq: fields.seq,
    thread: fields.thread,
    dir: fields.dir,
    env: fields.env,
    prev: fields.prev,
    node: fields.node,
  };
}

function bad(detail: string): never {
  throw new AuditError(AUDIT_ERROR_CODES.record, `Audit record ${detail}`);
}

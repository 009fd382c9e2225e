/**
 * Audit records: one per envelope a node published (`out`) or delivered
 * (`in`), chained by hash and signed by the node.
 *
 * A record is the canonical DAG-CBOR map
 * `{v, seq, thread, dir, env, prev, node, sig}` where `env` is the
 * envelope's canonical bytes, `seq` its position in the thread's log,
 * `prev` the sha2-256 of the previous record's bytes (32 zero bytes for the
 * first) and `sig` the node's Ed25519 signature over the same map without
 * `sig`. Changing, dropping, inserting or reordering any record breaks the
 * chain or a signature.
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

const FIELDS = ["v", "seq", "thread", "dir", "env", "prev", "node", "sig"];

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
  const bytes = dagCbor.encode({ ...body, sig });
  return Object.freeze({ ...body, sig, bytes, signingBytes, hash: recordHash(bytes) });
}

/**
 * Decodes a record from its bytes, checking every field and the canonical
 * form; throws {@linkcode AuditError} `E_AUDIT_RECORD`. Does not check the
 * signature or the chain.
 */
export function decodeAuditRecord(bytes: Uint8Array): AuditRecord {
  let decoded: unknown;
  try {
    decoded = dagCbor.decode(bytes);
  } catch (error) {
    bad(`is not valid DAG-CBOR (${(error as Error).message.split("\n")[0]})`);
  }
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded)) {
    bad("is not a map");
  }
  const record = decoded as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FIELDS.includes(key)) bad(`has unknown field '${key}'`);
  }
  if (record.v !== AUDIT_RECORD_VERSION) bad(`has version ${String(record.v)}, expected 1`);
  if (!Number.isSafeInteger(record.seq) || (record.seq as number) < 0) bad("has no valid seq");
  if (typeof record.thread !== "string" || record.thread.length === 0) bad("has no thread");
  if (record.dir !== "out" && record.dir !== "in") bad(`has direction ${String(record.dir)}`);
  if (!(record.env instanceof Uint8Array) || record.env.length === 0) bad("has no envelope bytes");
  if (!(record.prev instanceof Uint8Array) || record.prev.length !== 32) bad("has no 32-byte prev");
  if (typeof record.node !== "string" || !record.node.startsWith("did:")) bad("has no node DID");
  if (!(record.sig instanceof Uint8Array) || record.sig.length !== 64) bad("has no 64-byte sig");
  const fields = record as unknown as AuditRecordFields & { sig: Uint8Array };
  const body = bodyOf(fields);
  const signingBytes = dagCbor.encode(body);
  const canonical = dagCbor.encode({ ...body, sig: fields.sig });
  if (!sameBytes(canonical, bytes)) bad("is not canonical DAG-CBOR");
  return { ...body, sig: fields.sig, bytes, signingBytes, hash: recordHash(bytes) };
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

/**
 * The one concrete {@linkcode SignedEnvelope}: fields plus cached canonical
 * bytes. Only this folder constructs it (from checked fields), so an
 * instance is always internally consistent: `bytes` is the canonical
 * encoding of the fields and `signingBytes` that encoding without `sig`.
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { createHash } from "node:crypto";
import type { Envelope, Payload, SignedEnvelope } from "./types.ts";
import type { Verb } from "./verbs.ts";

/** A checked envelope with its canonical encodings. */
export class SignedEnvelopeRecord implements SignedEnvelope {
  readonly v: 1;
  readonly kind: Verb;
  readonly thread: string;
  readonly sender: string;
  readonly lamport: number;
  readonly ts: bigint;
  readonly nonce: Uint8Array;
  readonly payload: Payload;
  readonly policy: string;
  declare readonly evalDigest?: string;
  declare readonly epoch?: number;
  declare readonly fence?: number;
  declare readonly trace?: string;
  readonly sig: Uint8Array;
  readonly bytes: Uint8Array;
  readonly signingBytes: Uint8Array;
  readonly payloadSize: number;
  #cid: CID | undefined;
  #id: string | undefined;

  constructor(
    envelope: Envelope,
    encoded: { bytes: Uint8Array; signingBytes: Uint8Array; payloadSize: number },
  ) {
    this.v = envelope.v;
    this.kind = envelope.kind;
    this.thread = envelope.thread;
    this.sender = envelope.sender;
    this.lamport = envelope.lamport;
    this.ts = envelope.ts;
    this.nonce = envelope.nonce;
    this.payload = envelope.payload;
    this.policy = envelope.policy;
    if (envelope.evalDigest !== undefined) this.evalDigest = envelope.evalDigest;
    if (envelope.epoch !== undefined) this.epoch = envelope.epoch;
    if (envelope.fence !== undefined) this.fence = envelope.fence;
    if (envelope.trace !== undefined) this.trace = envelope.trace;
    this.sig = envelope.sig;
    this.bytes = encoded.bytes;
    this.signingBytes = encoded.signingBytes;
    this.payloadSize = encoded.payloadSize;
    Object.freeze(this);
  }

  get cid(): CID {
    return this.#cid ??= envelopeCid(this.bytes);
  }

  get id(): string {
    return this.#id ??= envelopeId(this.bytes);
  }

  /** A JSON-friendly view for logs: bytes as hex, bigints as strings, the id included. */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      v: this.v,
      kind: this.kind,
      thread: this.thread,
      sender: this.sender,
      lamport: this.lamport,
      ts: this.ts.toString(),
      nonce: toHex(this.nonce),
      policy: this.policy,
      evalDigest: this.evalDigest,
      epoch: this.epoch,
      fence: this.fence,
      trace: this.trace,
      payloadSize: this.payloadSize,
    };
  }
}

/** CIDv1 (dag-cbor, sha2-256) of canonical envelope bytes. */
export function envelopeCid(bytes: Uint8Array): CID {
  return CID.createV1(
    dagCbor.code,
    sha256.digest(bytes) as Awaited<ReturnType<typeof sha256.digest>>,
  );
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
/** The CIDv1 prefix of an envelope id: version 1, dag-cbor (0x71), sha2-256 (0x12), 32 bytes. */
const CID_PREFIX = [0x01, dagCbor.code, 0x12, 0x20];

/**
 * The id of canonical envelope bytes: the string form (multibase base32,
 * `b…`) of `envelopeCid(bytes)`, made directly from the SHA-256 digest.
 * This is the hottest hash of the swarm; it is about twice as fast as
 * building the CID and printing it.
 */
export function envelopeId(bytes: Uint8Array): string {
  const digest = createHash("sha256").update(bytes).digest();
  let out = "b";
  let buffer = 0;
  let bits = 0;
  for (let index = 0; index < CID_PREFIX.length + digest.length; index++) {
    buffer = ((buffer & 0xff) << 8) |
      (index < CID_PREFIX.length ? CID_PREFIX[index] : digest[index - CID_PREFIX.length]);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let index = 0; index < bytes.length; index++) out += HEX[bytes[index]];
  return out;
}

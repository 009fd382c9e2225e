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
import { hash } from "node:crypto";
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

const BASE32 = Array.from("abcdefghijklmnopqrstuvwxyz234567", (char) => char.charCodeAt(0));
/**
 * The CIDv1 prefix of an envelope id in hex digits: version 1, dag-cbor
 * (0x71), sha2-256 (0x12), 32 bytes (0x20).
 */
const CID_PREFIX_NIBBLES = [0, 1, 7, 1, 1, 2, 2, 0];
/** "b" (multibase base32), then 58 characters for the 36 bytes of the CID. */
const ID_CHARS = 59;

/**
 * The id of canonical envelope bytes: the string form (multibase base32,
 * `b…`) of `envelopeCid(bytes)`, made directly from the SHA-256 digest.
 * This is the hottest hash of the swarm; the digest is taken as hex, which
 * allocates no buffer, and the id is about twice as fast as building the
 * CID and printing it.
 */
export function envelopeId(bytes: Uint8Array): string {
  const hex = hash("sha256", bytes, "hex");
  const codes = new Array<number>(ID_CHARS);
  codes[0] = 0x62; // "b"
  let at = 1;
  let buffer = 0;
  let bits = 0;
  for (let index = 0; index < CID_PREFIX_NIBBLES.length + hex.length; index++) {
    const nibble = index < CID_PREFIX_NIBBLES.length
      ? CID_PREFIX_NIBBLES[index]
      : hexValue(hex.charCodeAt(index - CID_PREFIX_NIBBLES.length));
    buffer = ((buffer & 0xf) << 4) | nibble;
    bits += 4;
    if (bits >= 5) {
      bits -= 5;
      codes[at++] = BASE32[(buffer >>> bits) & 31];
    }
  }
  codes[at] = BASE32[(buffer << (5 - bits)) & 31];
  return String.fromCharCode(...codes);
}

/** The value of a lower-case hex digit's character code. */
function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let index = 0; index < bytes.length; index++) out += HEX[bytes[index]];
  return out;
}

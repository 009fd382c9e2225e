/**
 * The envelope's fields (DESIGN.md §4) and the values a payload may hold.
 *
 * @module
 */

import type { CID } from "multiformats/cid";
import type { Verb } from "./verbs.ts";

/** The envelope format version this code reads and writes. */
export const ENVELOPE_VERSION = 1;

/** A value of the IPLD data model, i.e. what DAG-CBOR can carry in a payload. */
export type IpldValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | CID
  | readonly IpldValue[]
  | PayloadMap;

/** A verb-specific payload object. */
export interface PayloadMap {
  readonly [key: string]: IpldValue;
}

/** An inline payload, or a CID reference to it in the content store. */
export type Payload = PayloadMap | CID;

/** Every field of an envelope except the signature. */
export interface EnvelopeFields {
  /** Format version, {@linkcode ENVELOPE_VERSION}. */
  readonly v: typeof ENVELOPE_VERSION;
  readonly kind: Verb;
  /** Thread (conversation) id. */
  readonly thread: string;
  /** `did:key` of the signer. */
  readonly sender: string;
  /** The sender's Lamport clock after its tick; > 0. */
  readonly lamport: number;
  /** Sender's clock in ns; informational, never trusted for safety. */
  readonly ts: bigint;
  /** Random per envelope; replay protection. */
  readonly nonce: Uint8Array;
  readonly payload: Payload;
  /** Hash of the policy capsule the sender evaluated under. */
  readonly policy: string;
  /** hash(input ‖ decision ‖ policy hash), where a gate produced one. */
  readonly evalDigest?: string;
  readonly epoch?: number;
  readonly fence?: number;
  /** W3C traceparent. */
  readonly trace?: string;
}

/** A complete envelope: its fields and the Ed25519 signature over them. */
export interface Envelope extends EnvelopeFields {
  readonly sig: Uint8Array;
}

/**
 * A decoded or freshly signed envelope with its canonical bytes cached, so
 * nothing is encoded twice. Do not mutate its fields or payload.
 */
export interface SignedEnvelope extends Envelope {
  /** Canonical DAG-CBOR of the whole envelope: what travels and what is logged. */
  readonly bytes: Uint8Array;
  /** Canonical DAG-CBOR of every field except `sig`: what the signature covers. */
  readonly signingBytes: Uint8Array;
  /** Bytes of the encoded payload (the CID link when the payload is a reference). */
  readonly payloadSize: number;
  /** CIDv1 (dag-cbor, sha2-256) of `bytes`. */
  readonly cid: CID;
  /** `cid` as a base32 string: the envelope id. */
  readonly id: string;
}

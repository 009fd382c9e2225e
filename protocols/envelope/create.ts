/**
 * Making envelopes: fill in the sender, Lamport value, time and nonce,
 * move a large payload to the content store, encode once, sign once.
 *
 * @module
 */

import type { CID } from "multiformats/cid";
import type { ContentStore } from "../../runtime/store/content_store.ts";
import type { Identity } from "../identity/identity.ts";
import { assembleEnvelope, encodePayload, insertSignature } from "./_canonical.ts";
import { checkEnvelopeRecord, describe } from "./_schema.ts";
import { SignedEnvelopeRecord } from "./_signed.ts";
import { PAYLOAD_MAX_BYTES_DEFAULT } from "./codec.ts";
import { ENVELOPE_ERROR_CODES, EnvelopeError } from "./errors.ts";
import type { LamportClock } from "./lamport.ts";
import { PAYLOAD_INLINE_MAX_BYTES_DEFAULT, storePayload } from "./payload_ref.ts";
import {
  ENVELOPE_VERSION,
  type EnvelopeFields,
  type PayloadMap,
  type SignedEnvelope,
} from "./types.ts";
import type { Verb } from "./verbs.ts";

/** Nonce length of envelopes made here. */
export const NONCE_BYTES = 16;

/** What the caller decides about an envelope; the signer fills in the rest. */
export interface EnvelopeDraft {
  readonly kind: Verb;
  readonly thread: string;
  readonly payload: PayloadMap | CID;
  /** Hash of the policy capsule the sender evaluated under. */
  readonly policy: string;
  readonly evalDigest?: string;
  readonly epoch?: number;
  readonly fence?: number;
  /** W3C traceparent of the current span. */
  readonly trace?: string;
}

/**
 * Time and randomness for a new envelope. An `ActorContext` fits as is, so
 * simulated envelopes get virtual time and seeded nonces.
 */
export interface EnvelopeEntropy {
  /** Current time in ns. */
  now(): bigint;
  /** Random bytes (seeded in simulation). */
  randomBytes(length: number): Uint8Array;
}

/** Options of {@linkcode EnvelopeSigner}. */
export interface EnvelopeSignerOptions {
  /** Inline payload cap; larger payloads need a content store. Default 64 KiB. */
  readonly payloadMaxBytes?: number;
  /** Where payloads over `inlinePayloadMaxBytes` go; without it they stay inline up to the cap. */
  readonly cas?: ContentStore;
  /** Payloads encoding to more bytes go to `cas`. Default 16 KiB. */
  readonly inlinePayloadMaxBytes?: number;
}

/** Signs envelopes for one identity with one Lamport clock. */
export class EnvelopeSigner {
  readonly #identity: Identity;
  readonly #clock: LamportClock;
  readonly #payloadMaxBytes: number;
  readonly #inlineMaxBytes: number;
  readonly #cas: ContentStore | undefined;

  constructor(identity: Identity, clock: LamportClock, options?: EnvelopeSignerOptions) {
    this.#identity = identity;
    this.#clock = clock;
    this.#payloadMaxBytes = options?.payloadMaxBytes ?? PAYLOAD_MAX_BYTES_DEFAULT;
    this.#inlineMaxBytes = options?.inlinePayloadMaxBytes ?? PAYLOAD_INLINE_MAX_BYTES_DEFAULT;
    this.#cas = options?.cas;
  }

  /** The DID envelopes are signed as. */
  get did(): string {
    return this.#identity.did;
  }

  /**
   * Ticks the clock and returns the signed envelope for `draft`.
   *
   * @example
   * ```ts
   * const envelope = await signer.sign(
   *   { kind: "NEED", thread: needId, payload: { needId }, policy: capsuleHash },
   *   ctx,
   * );
   * ctx.publish(topic, envelope.bytes);
   * ```
   */
  async sign(draft: EnvelopeDraft, entropy: EnvelopeEntropy): Promise<SignedEnvelope> {
    const probe = checkEnvelopeRecord({
      ...draft,
      v: ENVELOPE_VERSION,
      sender: this.#identity.did,
      lamport: 1,
      ts: 0n,
      nonce: new Uint8Array(NONCE_BYTES),
    }, false);
    let payloadBytes = encodeDraftPayload(probe);
    let payload = probe.payload;
    if (this.#cas !== undefined && payloadBytes.length > this.#inlineMaxBytes) {
      payload = await storePayload(payloadBytes, this.#cas);
      payloadBytes = encodePayload(payload);
    }
    checkPayloadSize(payloadBytes, this.#payloadMaxBytes);
    const lamport = await this.#clock.tick();
    const fields: EnvelopeFields = {
      ...probe,
      payload,
      lamport,
      ts: entropy.now(),
      nonce: entropy.randomBytes(NONCE_BYTES),
    };
    return await signChecked(fields, payloadBytes, this.#identity, this.#payloadMaxBytes);
  }
}

/** Options of {@linkcode signEnvelope}. */
export interface SignEnvelopeOptions {
  /** Inline payload cap; default 64 KiB. */
  readonly payloadMaxBytes?: number;
}

/**
 * Signs complete fields as they are (no clock, no content store): the
 * low-level path for tests, tools and replays. `fields.sender` must be the
 * identity's DID.
 */
export async function signEnvelope(
  fields: EnvelopeFields,
  identity: Identity,
  options?: SignEnvelopeOptions,
): Promise<SignedEnvelope> {
  const checked = checkEnvelopeRecord(fields as unknown as Record<string, unknown>, false);
  return await signChecked(
    checked,
    encodeDraftPayload(checked),
    identity,
    options?.payloadMaxBytes ?? PAYLOAD_MAX_BYTES_DEFAULT,
  );
}

async function signChecked(
  fields: EnvelopeFields,
  payloadBytes: Uint8Array,
  identity: Identity,
  payloadMaxBytes: number,
): Promise<SignedEnvelope> {
  if (fields.sender !== identity.did) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.senderKey,
      `Cannot sign envelope: sender ${fields.sender} is not the signing identity ${identity.did}`,
    );
  }
  checkPayloadSize(payloadBytes, payloadMaxBytes);
  const signingBytes = assembleEnvelope(fields, payloadBytes, false);
  const sig = await identity.sign(signingBytes);
  const envelope = { ...fields, sig };
  return new SignedEnvelopeRecord(envelope, {
    bytes: insertSignature(signingBytes, sig),
    signingBytes,
    payloadSize: payloadBytes.length,
  });
}

function checkPayloadSize(payloadBytes: Uint8Array, payloadMaxBytes: number): void {
  if (payloadBytes.length > payloadMaxBytes) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.payloadSize,
      `Cannot sign envelope: payload of ${payloadBytes.length} bytes exceeds the ${payloadMaxBytes}-byte cap (configure a content store to send it by reference)`,
    );
  }
}

function encodeDraftPayload(fields: EnvelopeFields): Uint8Array {
  try {
    return encodePayload(fields.payload);
  } catch (error) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.fieldType,
      `Cannot sign envelope: payload ${describe(fields.payload)} cannot be encoded as DAG-CBOR (${
        (error as Error).message
      })`,
    );
  }
}

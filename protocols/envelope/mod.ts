/**
 * Signed, content-addressed envelopes (DESIGN.md §4): every message in CAN
 * Swarm. Canonical DAG-CBOR, CIDv1 ids, Ed25519 signatures, a persisted
 * Lamport clock, a bounded replay cache and large payloads by CID.
 *
 * @example
 * ```ts
 * import { EnvelopeSigner, LamportClock, verifyEnvelope } from "./protocols/envelope/mod.ts";
 * const signer = new EnvelopeSigner(identity, await LamportClock.open(ctx.store));
 * const envelope = await signer.sign({ kind: "NEED", thread, payload, policy }, ctx);
 * const result = await verifyEnvelope(envelope.bytes, { policy, replay, nowNs: ctx.now() });
 * ```
 *
 * @module
 */

export * from "./verbs.ts";
export * from "./errors.ts";
export * from "./types.ts";
export {
  DAG_CBOR_CODE,
  DIGEST_LENGTH_MAX,
  NONCE_BYTES_MAX,
  NONCE_BYTES_MIN,
  SENDER_LENGTH_MAX,
  SHA2_256_CODE,
  SIGNATURE_BYTES,
  THREAD_LENGTH_MAX,
} from "./_schema.ts";
export { envelopeCid, envelopeId, toHex } from "./_signed.ts";
export {
  decodeEnvelope,
  type DecodeOptions,
  encodedPayloadSize,
  encodeEnvelope,
  ENVELOPE_OVERHEAD_MAX_BYTES,
  equalBytes,
  PAYLOAD_MAX_BYTES_DEFAULT,
  sealEnvelope,
} from "./codec.ts";
export * from "./create.ts";
export * from "./verify.ts";
export * from "./lamport.ts";
export * from "./replay_cache.ts";
export * from "./payload_ref.ts";

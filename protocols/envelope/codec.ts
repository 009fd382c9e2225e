/**
 * Decoding envelopes from untrusted bytes and encoding them canonically.
 *
 * Decoding checks, in order: the input is bytes within the size bound, it
 * is DAG-CBOR, the top level is a map, the version is known, there are no
 * unknown fields, every field has its type, and the bytes are the canonical
 * encoding of what they decode to (so one envelope has exactly one byte
 * form and one id). Every failure is an {@linkcode EnvelopeError}; nothing
 * else escapes, whatever the input.
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import { assembleEnvelope, encodePayload, insertSignature, isSignedForm } from "./_canonical.ts";
import { asEnvelope, checkEnvelopeRecord, describe } from "./_schema.ts";
import { type FastDecoded, fastDecodeEnvelope } from "./_fast_decode.ts";
import { SignedEnvelopeRecord } from "./_signed.ts";
import { ENVELOPE_ERROR_CODES, EnvelopeError } from "./errors.ts";
import type { Envelope, PayloadMap, SignedEnvelope } from "./types.ts";

/** Default cap on an inline payload's encoded size: 64 KiB. */
export const PAYLOAD_MAX_BYTES_DEFAULT = 64 * 1024;
/**
 * Upper bound on everything in an envelope but the payload (bounded fields:
 * thread, sender, policy, digests, nonce, signature, trace). Input longer
 * than cap + this is refused before decoding.
 */
export const ENVELOPE_OVERHEAD_MAX_BYTES = 2 * 1024;

/** Options of {@linkcode decodeEnvelope}. */
export interface DecodeOptions {
  /** Inline payload cap that bounds the accepted input size; default 64 KiB. */
  readonly payloadMaxBytes?: number;
}

/**
 * Decodes and structurally checks an envelope. Does not verify the
 * signature or any receiver policy: use `verifyEnvelope` for that.
 *
 * @example
 * ```ts
 * const envelope = decodeEnvelope(bytes); // throws EnvelopeError on bad input
 * envelope.id; // "bafyrei…"
 * ```
 */
export function decodeEnvelope(bytes: Uint8Array, options?: DecodeOptions): SignedEnvelope {
  if (!(bytes instanceof Uint8Array)) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.encoding,
      `Cannot decode envelope: expected bytes, got ${describe(bytes)}`,
    );
  }
  const payloadMaxBytes = options?.payloadMaxBytes ?? PAYLOAD_MAX_BYTES_DEFAULT;
  if (bytes.length > payloadMaxBytes + ENVELOPE_OVERHEAD_MAX_BYTES) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.payloadSize,
      `Cannot accept envelope: ${bytes.length} bytes exceeds the ${payloadMaxBytes}-byte payload cap plus ${ENVELOPE_OVERHEAD_MAX_BYTES} bytes of fields`,
    );
  }
  const fast = fastDecodeEnvelope(bytes);
  return fast !== undefined ? fromFastPath(bytes, fast) : decodeGeneral(bytes);
}

/**
 * The general decoding path: any DAG-CBOR, checked field by field, then for
 * canonical form. Exported for the tests that prove the fast path agrees
 * with it; `mod.ts` does not re-export it.
 */
export function decodeGeneral(bytes: Uint8Array): SignedEnvelope {
  const record = decodeMap(bytes);
  const envelope = asEnvelope(checkEnvelopeRecord(record, true));
  const payloadBytes = encodeOrFail(envelope);
  const signingBytes = assembleEnvelope(envelope, payloadBytes, false);
  if (!isSignedForm(bytes, signingBytes, envelope.sig)) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.encoding,
      `Cannot accept envelope: its ${bytes.length} bytes are not canonical DAG-CBOR (canonical form is ${
        signingBytes.length + 70
      } bytes)`,
    );
  }
  return new SignedEnvelopeRecord(envelope, {
    bytes,
    signingBytes,
    payloadSize: payloadBytes.length,
  });
}

/** Finishes a fast-path decode: field checks and the payload's canonical form. */
function fromFastPath(bytes: Uint8Array, fast: FastDecoded): SignedEnvelope {
  const envelope = asEnvelope(checkEnvelopeRecord(fast.record, true));
  const payloadBytes = encodeOrFail(envelope);
  if (!equalBytes(payloadBytes, fast.payloadBytes)) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.encoding,
      `Cannot accept envelope: its payload is not canonical DAG-CBOR (${fast.payloadBytes.length} bytes, canonical form is ${payloadBytes.length})`,
    );
  }
  return new SignedEnvelopeRecord(envelope, {
    bytes,
    signingBytes: fast.signingBytes,
    payloadSize: payloadBytes.length,
  });
}

/**
 * Checks a locally built envelope object (all fields including `sig`) and
 * returns it with its canonical encodings; throws {@linkcode EnvelopeError}.
 */
export function sealEnvelope(envelope: Envelope): SignedEnvelope {
  if (envelope instanceof SignedEnvelopeRecord) return envelope;
  const checked = asEnvelope(
    checkEnvelopeRecord(envelope as unknown as Record<string, unknown>, true),
  );
  const payloadBytes = encodeOrFail(checked);
  const signingBytes = assembleEnvelope(checked, payloadBytes, false);
  return new SignedEnvelopeRecord(checked, {
    bytes: insertSignature(signingBytes, checked.sig),
    signingBytes,
    payloadSize: payloadBytes.length,
  });
}

/**
 * The canonical bytes of `envelope`: byte-identical to
 * `dagCbor.encode(envelope)`, and what `decodeEnvelope` accepts.
 */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return sealEnvelope(envelope).bytes;
}

function decodeMap(bytes: Uint8Array): Record<string, unknown> {
  let decoded: unknown;
  try {
    decoded = dagCbor.decode(bytes);
  } catch (error) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.encoding,
      `Cannot decode envelope: not valid DAG-CBOR (${firstLine(error)})`,
    );
  }
  if (
    typeof decoded !== "object" || decoded === null || Array.isArray(decoded) ||
    Object.getPrototypeOf(decoded) !== Object.prototype
  ) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.encoding,
      `Cannot decode envelope: top level must be a map, got ${describe(decoded)}`,
    );
  }
  return decoded as Record<string, unknown>;
}

function encodeOrFail(envelope: Envelope): Uint8Array {
  try {
    return encodePayload(envelope.payload);
  } catch (error) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.fieldType,
      `Cannot accept envelope: payload cannot be encoded as DAG-CBOR (${firstLine(error)})`,
    );
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0].slice(0, 200);
}

/** Byte equality. */
export function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** Bytes a payload takes in an envelope, before any move to the content store. */
export function encodedPayloadSize(payload: PayloadMap): number {
  return encodePayload(payload).length;
}

/**
 * Large payloads travel by reference: the payload's DAG-CBOR block goes to
 * the content store and the envelope carries its CID (DESIGN.md §4), so
 * envelopes stay small and the signature still covers the payload (through
 * its hash).
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import {
  type ContentStore,
  ContentStoreError,
  DAG_CBOR_CODEC,
} from "../../runtime/store/content_store.ts";
import { equalBytes } from "./codec.ts";
import { describe } from "./_schema.ts";
import { ENVELOPE_ERROR_CODES, EnvelopeError } from "./errors.ts";
import type { Envelope, Payload, PayloadMap } from "./types.ts";

/** Payloads whose encoding exceeds this go to the content store by default: 16 KiB. */
export const PAYLOAD_INLINE_MAX_BYTES_DEFAULT = 16 * 1024;
/** Largest referenced payload a receiver will fetch and decode: 16 MiB. */
export const PAYLOAD_REFERENCED_MAX_BYTES_DEFAULT = 16 * 1024 * 1024;

/**
 * Stores `payloadBytes` (the payload's DAG-CBOR) in `cas` and returns the
 * CID reference to put in the envelope.
 */
export async function storePayload(payloadBytes: Uint8Array, cas: ContentStore): Promise<CID> {
  return await cas.put(payloadBytes, DAG_CBOR_CODEC);
}

/** Options of {@linkcode resolvePayload}. */
export interface ResolvePayloadOptions {
  /** Largest referenced block accepted; default 16 MiB. */
  readonly maxBytes?: number;
}

/**
 * The payload of `envelope` as a map: the inline payload itself, or the
 * referenced block fetched from `cas`, hash-checked and decoded. Throws
 * {@linkcode EnvelopeError}: `E_PAYLOAD_UNAVAILABLE` when the block is
 * missing, `E_PAYLOAD_TOO_LARGE` / `E_ENV_ENCODING` when it is unusable.
 *
 * @example
 * ```ts
 * const payload = await resolvePayload(envelope, cas);
 * ```
 */
export async function resolvePayload(
  envelope: Pick<Envelope, "payload">,
  cas: ContentStore | undefined,
  options?: ResolvePayloadOptions,
): Promise<PayloadMap> {
  const cid = CID.asCID(envelope.payload);
  if (cid === null) return envelope.payload as PayloadMap;
  if (cas === undefined) unavailable(cid, "no content store is configured");
  let bytes: Uint8Array | undefined;
  try {
    bytes = await cas.get(cid);
  } catch (error) {
    if (!(error instanceof ContentStoreError)) throw error;
    unavailable(cid, error.message);
  }
  if (bytes === undefined) unavailable(cid, "the content store does not hold it");
  const maxBytes = options?.maxBytes ?? PAYLOAD_REFERENCED_MAX_BYTES_DEFAULT;
  if (bytes.length > maxBytes) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.payloadSize,
      `Referenced payload ${cid.toString()} is ${bytes.length} bytes, over the ${maxBytes}-byte cap`,
    );
  }
  return decodePayloadBlock(cid, bytes);
}

function decodePayloadBlock(cid: CID, bytes: Uint8Array): PayloadMap {
  let decoded: unknown;
  try {
    decoded = dagCbor.decode(bytes);
  } catch (error) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.encoding,
      `Referenced payload ${cid.toString()} is not DAG-CBOR (${(error as Error).message})`,
    );
  }
  if (
    typeof decoded !== "object" || decoded === null || Array.isArray(decoded) ||
    CID.asCID(decoded) !== null || Object.getPrototypeOf(decoded) !== Object.prototype ||
    !equalBytes(dagCbor.encode(decoded), bytes)
  ) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.encoding,
      `Referenced payload ${cid.toString()} must be a canonical DAG-CBOR map, got ${
        describe(decoded)
      }`,
    );
  }
  return decoded as PayloadMap;
}

function unavailable(cid: CID, why: string): never {
  throw new EnvelopeError(
    ENVELOPE_ERROR_CODES.payloadUnavailable,
    `Referenced payload ${cid.toString()} is unavailable: ${why}`,
  );
}

/** True when the payload is a CID reference rather than an inline map. */
export function isPayloadReference(payload: Payload): payload is CID {
  return CID.asCID(payload) !== null;
}

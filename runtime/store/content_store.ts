/**
 * Content-addressed storage (CAS): immutable blocks of bytes keyed by their
 * CIDv1 (sha2-256). Large envelope payloads and task artifacts travel as CID
 * references to blocks here.
 *
 * The embedded backend is files ({@linkcode FileContentStore}); the
 * simulator's is memory ({@linkcode MemoryContentStore}); IPFS (Helia) comes
 * later behind the same interface. Every backend verifies a block's hash on
 * read, so a corrupted or substituted block is an error, never data.
 *
 * @module
 */

import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import type { MultihashDigest } from "multiformats/hashes/interface";
import { SwarmError } from "../errors.ts";

/** Multicodec `raw`: opaque bytes. */
export const RAW_CODEC = 0x55;
/** Multicodec `dag-cbor`. */
export const DAG_CBOR_CODEC = 0x71;
/** Multihash code of sha2-256, the only hash this store accepts. */
export const SHA2_256 = 0x12;
/** Default largest block: 16 MiB. */
export const BLOCK_MAX_BYTES_DEFAULT = 16 * 1024 * 1024;

/** Stable codes of {@linkcode ContentStoreError}. */
export const CONTENT_STORE_ERROR_CODES = {
  /** A CID that is not v1 with a sha2-256 multihash, or not a CID at all. */
  cid: "E_CAS_CID",
  /** Stored bytes whose hash does not match their CID. */
  corrupt: "E_CAS_CORRUPT",
  /** A block over the store's size bound. */
  tooLarge: "E_CAS_TOO_LARGE",
} as const;

/** Raised for unusable CIDs, oversized blocks and corrupted content. */
export class ContentStoreError extends SwarmError {}

/** Immutable blocks by CID. */
export interface ContentStore {
  /** Stores `bytes` (idempotent) and returns their CIDv1 with `codec` (default raw). */
  put(bytes: Uint8Array, codec?: number): Promise<CID>;
  /** The verified bytes of `cid`, or undefined when absent. */
  get(cid: CID): Promise<Uint8Array | undefined>;
  /** Whether a block for `cid` is stored (without reading it). */
  has(cid: CID): Promise<boolean>;
}

/** The CIDv1 (sha2-256) of `bytes` under `codec`. */
export function cidForBytes(bytes: Uint8Array, codec: number = RAW_CODEC): CID {
  return CID.createV1(codec, sha256.digest(bytes) as MultihashDigest<typeof SHA2_256>);
}

/** Checks that `cid` is a CIDv1 with a 32-byte sha2-256 multihash; returns it as a CID. */
export function checkContentCid(cid: unknown): CID {
  const parsed = CID.asCID(cid);
  if (
    parsed === null || parsed.version !== 1 || parsed.multihash.code !== SHA2_256 ||
    parsed.multihash.size !== 32
  ) {
    throw new ContentStoreError(
      CONTENT_STORE_ERROR_CODES.cid,
      `Content store needs a CIDv1 with a sha2-256 hash, got ${
        parsed === null ? typeof cid : parsed.toString()
      }`,
    );
  }
  return parsed;
}

/** Throws {@linkcode ContentStoreError} unless `bytes` hash to `cid`. */
export function checkBlock(cid: CID, bytes: Uint8Array): Uint8Array {
  const actual = sha256.digest(bytes) as MultihashDigest<typeof SHA2_256>;
  const expected = cid.multihash.digest;
  let same = actual.digest.length === expected.length;
  for (let index = 0; same && index < expected.length; index++) {
    same = actual.digest[index] === expected[index];
  }
  if (!same) {
    throw new ContentStoreError(
      CONTENT_STORE_ERROR_CODES.corrupt,
      `Content store block ${cid.toString()} is corrupt: its ${bytes.length} bytes hash to a different digest`,
    );
  }
  return bytes;
}

/** Throws {@linkcode ContentStoreError} when `size` exceeds `maxBytes`. */
export function checkBlockSize(size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw new ContentStoreError(
      CONTENT_STORE_ERROR_CODES.tooLarge,
      `Content store block of ${size} bytes exceeds the ${maxBytes}-byte bound`,
    );
  }
}

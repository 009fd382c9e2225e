/**
 * A {@linkcode ContentStore} in memory: the simulator's disk for blocks,
 * and what tests use where files add nothing. It keeps copies, verifies on
 * read like the file store, and is bounded by total bytes.
 *
 * @module
 */

import type { CID } from "multiformats/cid";
import {
  BLOCK_MAX_BYTES_DEFAULT,
  checkBlock,
  checkBlockSize,
  checkContentCid,
  cidForBytes,
  type ContentStore,
  RAW_CODEC,
} from "./content_store.ts";

/** Options of {@linkcode MemoryContentStore}. */
export interface MemoryContentStoreOptions {
  /** Largest block; default 16 MiB. */
  readonly blockMaxBytes?: number;
  /** Largest total of stored bytes; default 1 GiB. */
  readonly totalMaxBytes?: number;
}

/** Blocks kept in a map. */
export class MemoryContentStore implements ContentStore {
  readonly #blocks = new Map<string, Uint8Array>();
  readonly #blockMaxBytes: number;
  readonly #totalMaxBytes: number;
  #totalBytes = 0;

  constructor(options?: MemoryContentStoreOptions) {
    this.#blockMaxBytes = options?.blockMaxBytes ?? BLOCK_MAX_BYTES_DEFAULT;
    this.#totalMaxBytes = options?.totalMaxBytes ?? 1024 * 1024 * 1024;
  }

  put(bytes: Uint8Array, codec: number = RAW_CODEC): Promise<CID> {
    return settle(() => {
      checkBlockSize(bytes.length, this.#blockMaxBytes);
      const cid = cidForBytes(bytes, codec);
      const key = cid.toString();
      if (!this.#blocks.has(key)) {
        checkBlockSize(this.#totalBytes + bytes.length, this.#totalMaxBytes);
        this.#blocks.set(key, bytes.slice());
        this.#totalBytes += bytes.length;
      }
      return cid;
    });
  }

  get(cid: CID): Promise<Uint8Array | undefined> {
    return settle(() => {
      const checked = checkContentCid(cid);
      const bytes = this.#blocks.get(checked.toString());
      return bytes === undefined ? undefined : checkBlock(checked, bytes.slice());
    });
  }

  has(cid: CID): Promise<boolean> {
    return settle(() => this.#blocks.has(checkContentCid(cid).toString()));
  }

  /** Replaces a stored block's bytes without changing its key: for corruption tests. */
  corruptForTesting(cid: CID, bytes: Uint8Array): void {
    this.#blocks.set(cid.toString(), bytes);
  }
}

/** Runs `work` and returns its result or its error as a settled promise, like real I/O would. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

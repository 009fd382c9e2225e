/**
 * A content store that fetches what it lacks: blocks are read from the
 * local store first, and a missing block is asked of the network through an
 * injected {@linkcode BlockFetcher} (on libp2p, a request to peers), checked
 * against its CID, and kept locally. This is how a verifier in one process
 * reads the artifact a worker in another process committed.
 *
 * Concurrent reads of one missing block share one fetch; fetches in flight
 * are bounded (more wait for none: they fail fast as absent).
 *
 * @module
 */

import type { CID } from "multiformats/cid";
import {
  BLOCK_MAX_BYTES_DEFAULT,
  checkBlock,
  checkBlockSize,
  checkContentCid,
  type ContentStore,
} from "./content_store.ts";

/** Asks the network for a block; undefined when no peer has it. */
export type BlockFetcher = (cid: CID) => Promise<Uint8Array | undefined>;

/** Options of {@linkcode FetchingContentStore}. */
export interface FetchingContentStoreOptions {
  /** Largest block accepted from the network. Default 16 MiB. */
  readonly blockMaxBytes?: number;
  /** Most fetches in flight; beyond it a missing block reads as absent. Default 1,024. */
  readonly fetchesMax?: number;
}

/** Counters of a {@linkcode FetchingContentStore}. */
export interface FetchingContentStoreStats {
  readonly fetched: number;
  readonly missing: number;
  /** Blocks a peer sent that did not match their CID (or were too large). */
  readonly refused: number;
}

/** A local store backed by the network. */
export class FetchingContentStore implements ContentStore {
  readonly #local: ContentStore;
  readonly #fetch: BlockFetcher;
  readonly #blockMaxBytes: number;
  readonly #fetchesMax: number;
  readonly #inFlight = new Map<string, Promise<Uint8Array | undefined>>();
  #fetched = 0;
  #missing = 0;
  #refused = 0;

  /**
   * @example
   * ```ts
   * const cas = new FetchingContentStore(await FileContentStore.open(dir), (cid) => askPeers(cid));
   * ```
   */
  constructor(local: ContentStore, fetch: BlockFetcher, options?: FetchingContentStoreOptions) {
    this.#local = local;
    this.#fetch = fetch;
    this.#blockMaxBytes = options?.blockMaxBytes ?? BLOCK_MAX_BYTES_DEFAULT;
    this.#fetchesMax = options?.fetchesMax ?? 1_024;
  }

  put(bytes: Uint8Array, codec?: number): Promise<CID> {
    return this.#local.put(bytes, codec);
  }

  has(cid: CID): Promise<boolean> {
    return this.#local.has(cid);
  }

  async get(cid: CID): Promise<Uint8Array | undefined> {
    const local = await this.#local.get(cid);
    if (local !== undefined) return local;
    const key = checkContentCid(cid).toString();
    let fetching = this.#inFlight.get(key);
    if (fetching === undefined) {
      if (this.#inFlight.size >= this.#fetchesMax) {
        this.#missing++;
        return undefined;
      }
      fetching = this.#fetchAndKeep(cid).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, fetching);
    }
    return await fetching;
  }

  /** What the store fetched, missed and refused. */
  get stats(): FetchingContentStoreStats {
    return { fetched: this.#fetched, missing: this.#missing, refused: this.#refused };
  }

  async #fetchAndKeep(cid: CID): Promise<Uint8Array | undefined> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.#fetch(cid);
    } catch {
      bytes = undefined;
    }
    if (bytes === undefined) {
      this.#missing++;
      return undefined;
    }
    try {
      checkBlockSize(bytes.length, this.#blockMaxBytes);
      checkBlock(cid, bytes);
    } catch {
      this.#refused++;
      return undefined;
    }
    await this.#local.put(bytes, cid.code);
    this.#fetched++;
    return bytes;
  }
}

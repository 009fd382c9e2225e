/**
 * The production environment: the host's clock, timers and cryptographic
 * randomness, the microtask executor, a transport and a Deno KV store.
 *
 * @module
 */

import type { Clock, Env, Faults, Random, TimerHandle, Timers } from "./env.ts";
import { MicrotaskExecutor } from "./executor.ts";
import { DenoKvStore } from "./store/deno_kv_store.ts";
import type { Store } from "./store/store.ts";
import { InProcHub } from "./transport/inproc.ts";
import type { Transport } from "./transport/transport.ts";

/** Wall-clock time with sub-millisecond resolution, in ns since the Unix epoch. */
export const systemClock: Clock = {
  nowNs: () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1_000_000)),
};

/** The host's timers. */
export const systemTimers: Timers = {
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = setTimeout(callback, delayMs);
    return {
      cancel: () => clearTimeout(id),
      keepAlive: (keep) => keep ? Deno.refTimer(id) : Deno.unrefTimer(id),
    };
  },
};

const RANDOM_POOL_BYTES = 4096;

/** Requests up to this size are served from the byte pool. */
const POOLED_BYTES_MAX = 256;

/**
 * Cryptographic randomness, drawn from pooled buffers to keep `float()` and
 * short `bytes()` (nonces, lease ids) cheap.
 */
export class CryptoRandom implements Random {
  readonly #pool = new Uint32Array(RANDOM_POOL_BYTES / 4);
  #next = this.#pool.length;
  readonly #bytePool = new Uint8Array(RANDOM_POOL_BYTES);
  #nextByte = this.#bytePool.length;

  float(): number {
    const high = this.#word() >>> 5;
    const low = this.#word() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  bytes(length: number): Uint8Array {
    if (Number.isInteger(length) && length >= 0 && length <= POOLED_BYTES_MAX) {
      if (this.#nextByte + length > this.#bytePool.length) {
        crypto.getRandomValues(this.#bytePool);
        this.#nextByte = 0;
      }
      return this.#bytePool.slice(this.#nextByte, this.#nextByte += length);
    }
    const bytes = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += 65536) {
      crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65536)));
    }
    return bytes;
  }

  #word(): number {
    if (this.#next === this.#pool.length) {
      crypto.getRandomValues(this.#pool);
      this.#next = 0;
    }
    return this.#pool[this.#next++];
  }
}

const noFaults: Faults = { buggify: () => false };

/** Options of {@linkcode RealEnv.open}. */
export interface RealEnvOptions {
  /** This node's identifier. */
  nodeId: string;
  /** Path of the Deno KV database; `":memory:"` for a throwaway one. Default `":memory:"`. */
  storePath?: string;
  /** A ready store (overrides `storePath`). */
  store?: Store;
  /** The transport; default a fresh in-process hub with this node alone. */
  transport?: Transport;
}

/** The environment of a production node. */
export class RealEnv implements Env {
  readonly mode = "real" as const;
  readonly nodeId: string;
  readonly clock = systemClock;
  readonly timers = systemTimers;
  readonly random = new CryptoRandom();
  readonly executor = new MicrotaskExecutor();
  readonly transport: Transport;
  readonly store: Store;
  readonly faults = noFaults;

  private constructor(nodeId: string, transport: Transport, store: Store) {
    this.nodeId = nodeId;
    this.transport = transport;
    this.store = store;
  }

  /**
   * Opens a node environment with a Deno KV store.
   *
   * @example
   * ```ts
   * const env = await RealEnv.open({ nodeId: "node-1", storePath: "./data/node-1/store.kv" });
   * ```
   */
  static async open(options: RealEnvOptions): Promise<RealEnv> {
    const store = options.store ?? await DenoKvStore.open(options.storePath ?? ":memory:");
    const transport = options.transport ?? new InProcHub().connect(options.nodeId);
    return new RealEnv(options.nodeId, transport, store);
  }

  /** Closes the transport, the store and the executor. */
  async close(): Promise<void> {
    await this.transport.close();
    await this.store.close();
    this.executor.close();
  }
}

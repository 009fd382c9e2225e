/**
 * Seeded randomness for simulation: xoroshiro128+ from `pure-rand`, so a seed
 * fixes every random choice of a run.
 *
 * @module
 */

import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { Random } from "../runtime/env.ts";

type Generator = ReturnType<typeof xoroshiro128plus>;

const WARM_UP_OUTPUTS = 16;

/** A reproducible {@linkcode Random}. */
export class SeededRandom implements Random {
  readonly #generator: Generator;

  /** @param seed any 32-bit integer; the same seed gives the same sequence. */
  constructor(seed: number) {
    this.#generator = xoroshiro128plus(mixSeed(seed, "") | 0);
    // The first outputs of xoroshiro128+ after a small seed are poorly mixed; discard them.
    for (let index = 0; index < WARM_UP_OUTPUTS; index++) this.#generator.next();
  }

  /**
   * A generator for a named stream derived from `seed`, independent of the
   * order in which streams are created (e.g. one per simulated node).
   */
  static derive(seed: number, streamName: string): SeededRandom {
    return new SeededRandom(mixSeed(seed, streamName));
  }

  float(): number {
    return uniformFloat64(this.#generator);
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  bytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let index = 0; index < length; index += 4) {
      const word = this.#generator.next();
      for (let offset = 0; offset < 4 && index + offset < length; offset++) {
        bytes[index + offset] = (word >>> (offset * 8)) & 0xff;
      }
    }
    return bytes;
  }
}

/** Mixes a seed with a stream name (FNV-1a over the name, then a murmur finaliser). */
export function mixSeed(seed: number, streamName: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < streamName.length; index++) {
    hash = Math.imul(hash ^ streamName.charCodeAt(index), 0x01000193) >>> 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  return (hash ^ (hash >>> 16)) | 0;
}

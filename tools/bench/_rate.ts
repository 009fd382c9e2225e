/**
 * Throughput measurement shared by the envelope, Ed25519 and replay
 * benchmarks: operations per second of an (awaited) body, after a warm-up,
 * best of interleaved rounds; and the option parsing those scripts share.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** Runs `body(i)` `iterations` times, one after another, and returns ops/s. */
export async function opsPerSecond(
  iterations: number,
  body: (index: number) => unknown,
): Promise<number> {
  for (let index = 0; index < Math.min(1_000, iterations); index++) await body(index);
  const started = performance.now();
  for (let index = 0; index < iterations; index++) await body(index);
  return Math.round(iterations / ((performance.now() - started) / 1_000));
}

/** Runs `iterations` bodies with up to `concurrency` in flight; returns ops/s. */
export async function concurrentOpsPerSecond(
  iterations: number,
  concurrency: number,
  body: (index: number) => Promise<unknown>,
): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < iterations; start += concurrency) {
    const batch: Promise<unknown>[] = [];
    for (let index = start; index < Math.min(iterations, start + concurrency); index++) {
      batch.push(body(index));
    }
    await Promise.all(batch);
  }
  return Math.round(iterations / ((performance.now() - started) / 1_000));
}

/**
 * Measures every named workload `rounds` times, interleaved so machine load
 * falls on all of them alike, and keeps each one's best round.
 */
export async function bestOfRounds(
  rounds: number,
  round: () => Promise<Record<string, number>>,
): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let index = 0; index < rounds; index++) {
    for (const [name, value] of Object.entries(await round())) {
      best[name] = Math.max(best[name] ?? 0, value);
    }
  }
  return best;
}

/** `a / b` rounded to two decimals. */
export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

/** Reads `--name N` integer options of a benchmark script, exiting 2 on a bad value. */
export function integerOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
  min: number,
  max: number,
): number {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    console.error(`error: --${name} must be an integer in [${min}, ${max}], got ${values[name]}`);
    Deno.exit(2);
  }
  return value;
}

/**
 * Reads the `--iterations N --rounds N` options of a benchmark script from
 * its command line, exiting 2 on a bad value.
 */
export function iterationsAndRounds(
  defaultIterations: number,
  minIterations: number,
): { iterations: number; rounds: number } {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      iterations: { type: "string", default: String(defaultIterations) },
      rounds: { type: "string", default: "3" },
    },
    strict: true,
  });
  return {
    iterations: integerOption(values, "iterations", minIterations, 10_000_000),
    rounds: integerOption(values, "rounds", 1, 20),
  };
}

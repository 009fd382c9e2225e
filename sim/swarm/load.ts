/**
 * The load of a swarm run: NEED arrivals as a Poisson process at the
 * scenario's rate, each with a task drawn from the scenario's task shapes,
 * all drawn up front from the run's load stream so a seed fixes them.
 *
 * @module
 */

import type { Random } from "../../runtime/env.ts";
import type { TaskSpec } from "../../protocols/lifecycle/payloads.ts";
import type { LoadSpec, TaskShape } from "./scenario.ts";

/** One NEED to post. */
export interface Arrival {
  /** Virtual time of the post, ms from the start of the run. */
  readonly atMs: number;
  readonly task: TaskSpec;
}

/** Most arrivals a run may plan (a bound on memory for absurd rates). */
export const ARRIVALS_MAX = 1_000_000;

const WORDS = [
  "alpha",
  "bravo",
  "charlie",
  "delta",
  "echo",
  "foxtrot",
  "golf",
  "hotel",
  "india",
  "juliet",
  "kilo",
  "lima",
  "mike",
  "november",
  "oscar",
  "papa",
];

/** Draws every arrival of the load. */
export function planArrivals(load: LoadSpec, random: Random): Arrival[] {
  const arrivals: Arrival[] = [];
  const meanGapMs = 1_000 / load.needsPerSecond;
  const totalWeight = load.shapes.reduce((sum, shape) => sum + shape.weight, 0);
  let atMs = load.startMs;
  for (;;) {
    atMs += -Math.log(1 - random.float()) * meanGapMs;
    if (atMs >= load.startMs + load.loadMs || arrivals.length >= ARRIVALS_MAX) break;
    const shape = pickShape(load.shapes, totalWeight, random);
    arrivals.push({ atMs: Math.round(atMs * 1000) / 1000, task: taskOf(shape, random) });
  }
  return arrivals;
}

function pickShape(shapes: readonly TaskShape[], totalWeight: number, random: Random): TaskShape {
  let point = random.float() * totalWeight;
  for (const shape of shapes) {
    point -= shape.weight;
    if (point < 0) return shape;
  }
  return shapes[shapes.length - 1];
}

function taskOf(shape: TaskShape, random: Random): TaskSpec {
  const words = between(shape.inputWordsMin, shape.inputWordsMax, random);
  const input = Array.from({ length: words }, () => WORDS[random.int(WORDS.length)]).join(" ");
  return { op: shape.op, input, rounds: between(shape.roundsMin, shape.roundsMax, random) };
}

function between(min: number, max: number, random: Random): number {
  return min + random.int(max - min + 1);
}

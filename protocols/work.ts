/**
 * The work catalogue: deterministic operations a NEED can ask for. Workers
 * run them; verifiers re-run them and compare digests, which is what makes a
 * wrong result provable (OUTPUT_MISMATCH).
 *
 * @module
 */

import { hash } from "node:crypto";
import { ProtocolError } from "./lifecycle/errors.ts";
import type { TaskSpec } from "./lifecycle/payloads.ts";

/** A finished piece of work. */
export interface WorkResult {
  readonly output: string;
  /** Hex sha256 of the output. */
  readonly digest: string;
  /** Abstract cost units spent (rounds × input size, roughly). */
  readonly costUnits: number;
}

type Operation = (input: string, rounds: number) => string;

const OPERATIONS: Readonly<Record<string, Operation>> = {
  /** `rounds` chained sha256 digests of the input, hex. */
  sha256: (input, rounds) => {
    let text = input;
    for (let round = 0; round < Math.max(1, rounds); round++) text = sha256Hex(text);
    return text;
  },
  /** The input reversed (by code point). */
  reverse: (input) => [...input].reverse().join(""),
  /** The input's words sorted. */
  "sort-words": (input) => input.split(/\s+/).filter((word) => word.length > 0).sort().join(" "),
  /** The number of words of the input. */
  "word-count": (input) => String(input.split(/\s+/).filter((word) => word.length > 0).length),
  /** The input upper-cased. */
  uppercase: (input) => input.toUpperCase(),
};

/** The declared output schema of each operation: what a well-formed output looks like. */
const OUTPUT_SCHEMAS: Readonly<Record<string, (output: string) => boolean>> = {
  sha256: (output) => /^[0-9a-f]{64}$/.test(output),
  reverse: () => true,
  "sort-words": (output) => {
    const words = output.split(" ");
    return (output === "" || words.every((word) => word.length > 0 && !/\s/.test(word))) &&
      words.every((word, index) => index === 0 || words[index - 1] <= word);
  },
  "word-count": (output) => /^(0|[1-9][0-9]*)$/.test(output),
  uppercase: (output) => output === output.toUpperCase(),
};

/**
 * Whether an output fits its operation's declared output schema (a
 * SCHEMA_VIOLATION challenge is upheld when it does not).
 *
 * @example
 * ```ts
 * outputMatchesSchema("sha256", "not hex"); // false
 * ```
 */
export function outputMatchesSchema(op: string, output: string): boolean {
  const schema = OUTPUT_SCHEMAS[op];
  return schema !== undefined && schema(output);
}

/** Resource telemetry of a piece of work, as a COMMIT claims it and a verifier measures it. */
export interface WorkTelemetry {
  readonly costUnits: number;
  readonly timeMs: number;
  readonly memoryBytes: number;
}

/** Cost units the reference machine does per millisecond, for time estimates. */
export const WORK_UNITS_PER_MS = 1_000;

/**
 * The telemetry of a result, derived from the work itself rather than from
 * a stopwatch, so a worker's honest claim and a verifier's measurement agree
 * on any machine and in simulation.
 */
export function telemetryOf(result: WorkResult): WorkTelemetry {
  return {
    costUnits: result.costUnits,
    timeMs: Math.max(1, Math.ceil(result.costUnits / WORK_UNITS_PER_MS)),
    memoryBytes: Math.max(1, result.output.length * 2),
  };
}

/** Operation names the catalogue knows. */
export const WORK_OPERATIONS: readonly string[] = Object.keys(OPERATIONS);

/** Most rounds a task may ask for, so a NEED cannot make workers spin forever. */
export const WORK_ROUNDS_MAX = 100_000;

/** Hex sha256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}

/** Refuses unknown operations and excessive rounds with `E_PAYLOAD`. */
export function checkTaskSpec(spec: TaskSpec): TaskSpec {
  if (!Object.hasOwn(OPERATIONS, spec.op)) {
    throw new ProtocolError(
      "E_PAYLOAD",
      `Unknown work operation ${spec.op}; known: ${WORK_OPERATIONS.join(", ")}`,
    );
  }
  if (spec.rounds > WORK_ROUNDS_MAX) {
    throw new ProtocolError(
      "E_PAYLOAD",
      `Work rounds must be at most ${WORK_ROUNDS_MAX}, got ${spec.rounds}`,
    );
  }
  return spec;
}

/**
 * Runs a task.
 *
 * @example
 * ```ts
 * runWork({ op: "reverse", input: "abc", rounds: 1 }).output; // "cba"
 * ```
 */
export function runWork(spec: TaskSpec): WorkResult {
  const output = OPERATIONS[checkTaskSpec(spec).op](spec.input, spec.rounds);
  return {
    output,
    digest: sha256Hex(output),
    costUnits: Math.max(1, spec.rounds) * Math.max(1, spec.input.length),
  };
}

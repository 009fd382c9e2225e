/**
 * Flag parsing for the CLI: strict (unknown flags are errors), typed, with
 * the help text generated from the same specification.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SwarmError } from "../runtime/errors.ts";

/** One flag of a command. */
export interface FlagSpec {
  /** `string` flags take a value; `boolean` flags do not. */
  readonly type: "string" | "boolean";
  readonly description: string;
  /** Shown in help; applied by the command. */
  readonly default?: string;
  /** Placeholder for the value in help, e.g. `N`. */
  readonly value?: string;
}

/** A command of the CLI. */
export interface CommandSpec {
  /** e.g. `run node`. */
  readonly name: string;
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Extra paragraphs after the flags. */
  readonly notes?: string;
  /** Positional arguments the command takes; without it, any positional is an error. */
  readonly positionals?: PositionalSpec;
}

/** The positional arguments of a command, e.g. `replay <log>...`. */
export interface PositionalSpec {
  /** Placeholder in the usage line, e.g. `LOG`. */
  readonly name: string;
  readonly description: string;
  /** Fewest and most accepted. */
  readonly min: number;
  readonly max: number;
}

/** Raised for bad command lines; the CLI exits with code 2. */
export class UsageError extends SwarmError {
  constructor(message: string) {
    super("E_USAGE", message);
  }
}

/** Parsed flags: strings and booleans by flag name, plus `help`. */
export type ParsedFlags = Record<string, string | boolean | undefined>;

/** Parses `args` against `spec`; throws {@linkcode UsageError} on anything unknown. */
export function parseFlags(spec: CommandSpec, args: string[]): ParsedFlags {
  return parseCommandLine(spec, args).flags;
}

/** A parsed command line: flags and positional arguments. */
export interface ParsedCommandLine {
  readonly flags: ParsedFlags;
  readonly positionals: string[];
}

/**
 * Parses flags and positionals against `spec`; throws {@linkcode UsageError}
 * on unknown flags and on positionals the spec does not allow.
 */
export function parseCommandLine(spec: CommandSpec, args: string[]): ParsedCommandLine {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, flag] of Object.entries(spec.flags)) options[name] = { type: flag.type };
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: true,
    });
    if (!values.help) checkPositionals(spec, positionals);
    return { flags: values as ParsedFlags, positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `${(error as Error).message.replace(/\. To specify.*$/s, "")} (command '${spec.name}')`,
    );
  }
}

function checkPositionals(spec: CommandSpec, positionals: string[]): void {
  const allowed = spec.positionals;
  if (allowed === undefined) {
    if (positionals.length > 0) {
      throw new UsageError(`Unexpected argument '${positionals[0]}' for '${spec.name}'`);
    }
    return;
  }
  if (positionals.length < allowed.min || positionals.length > allowed.max) {
    throw new UsageError(
      `'${spec.name}' takes ${
        allowed.min === allowed.max ? allowed.min : `${allowed.min} to ${allowed.max}`
      } ${allowed.name} argument(s), got ${positionals.length}`,
    );
  }
}

/** Reads an integer flag within bounds, or its default. */
export function integerFlag(
  flags: ParsedFlags,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (
    typeof raw !== "string" || raw.trim() === "" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw new UsageError(
      `--${name} must be an integer between ${min} and ${max}, got '${String(raw)}'`,
    );
  }
  return value;
}

/** Reads a number flag within bounds, or its default. */
export function numberFlag(
  flags: ParsedFlags,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_VALUE,
): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (
    typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(value) || value < min ||
    value > max
  ) {
    throw new UsageError(
      `--${name} must be a number between ${min} and ${max}, got '${String(raw)}'`,
    );
  }
  return value;
}

/** Reads a string flag restricted to `choices`, or its default. */
export function choiceFlag<T extends string>(
  flags: ParsedFlags,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== "string" || !choices.includes(raw as T)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got '${String(raw)}'`);
  }
  return raw as T;
}

/** Renders the help of a command. */
export function helpText(spec: CommandSpec): string {
  const positional = spec.positionals === undefined
    ? ""
    : ` ${spec.positionals.name}${spec.positionals.max > 1 ? "..." : ""}`;
  const lines = [
    `Usage: can-swarm ${spec.name} [options]${positional}`,
    "",
    spec.summary,
    "",
  ];
  if (spec.positionals !== undefined) {
    lines.push("Arguments:", `  ${spec.positionals.name}  ${spec.positionals.description}`, "");
  }
  lines.push("Options:");
  const entries = Object.entries(spec.flags).map(([name, flag]) => {
    const left = flag.type === "string" ? `--${name} ${flag.value ?? "VALUE"}` : `--${name}`;
    const suffix = flag.default === undefined ? "" : ` (default: ${flag.default})`;
    return [left, `${flag.description}${suffix}`];
  });
  entries.push(["-h, --help", "Show this help"]);
  const width = Math.max(...entries.map(([left]) => left.length)) + 2;
  for (const [left, right] of entries) lines.push(`  ${left.padEnd(width)}${right}`);
  if (spec.notes) lines.push("", spec.notes);
  return lines.join("\n");
}

/**
 * Structured logging for actor systems. Entries are plain objects so they can
 * go to stderr as JSON lines in production and be captured in tests.
 *
 * @module
 */

/** Severity of a log entry. */
export type LogLevel = "info" | "warn" | "error";

/** One log entry. */
export interface LogEntry {
  readonly level: LogLevel;
  readonly node: string;
  readonly path: string;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

/** Where log entries go. */
export type LogSink = (entry: LogEntry) => void;

const LEVEL_ORDER: Record<LogLevel, number> = { info: 0, warn: 1, error: 2 };

/**
 * A sink writing JSON lines to stderr for entries at or above `minimum`.
 *
 * @example
 * ```ts
 * const system = ActorSystem.create(env, { log: stderrLogSink("warn") });
 * ```
 */
export function stderrLogSink(minimum: LogLevel = "warn"): LogSink {
  const encoder = new TextEncoder();
  return (entry) => {
    if (LEVEL_ORDER[entry.level] < LEVEL_ORDER[minimum]) return;
    const line = JSON.stringify(
      entry,
      (_key, value) => typeof value === "bigint" ? value.toString() : value,
    );
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  };
}

/** A sink that discards everything (simulation runs, benchmarks). */
export const silentLogSink: LogSink = () => {};

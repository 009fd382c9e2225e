/**
 * JSONL export and import of a thread's op-log: one canonical op per line,
 * in replay order. Import checks every line and names the line of the first
 * bad one, so a hand-edited or truncated file fails clearly.
 *
 * @module
 */

import { PlanImportError } from "./errors.ts";
import { compareOps, encodePlanOp, parsePlanOp, type PlanOp, planOpId } from "./op.ts";

/** Longest accepted line, in characters. */
export const JSONL_LINE_LENGTH_MAX = 64 * 1024;

/** Renders ops as JSONL in replay order (lamport, actor, index). */
export function exportJsonl(ops: readonly PlanOp[]): string {
  return [...ops].sort(compareOps).map((op) => `${encodePlanOp(op)}\n`).join("");
}

/** Options of {@linkcode parseJsonl}. */
export interface ParseJsonlOptions {
  /** When set, every op must belong to this thread. */
  readonly thread?: string;
}

/**
 * Parses a JSONL op-log; blank lines are skipped. Returns the ops in replay
 * order. Throws {@linkcode PlanImportError} (`E_PLAN_IMPORT`) with the line
 * number of the first bad line.
 */
export function parseJsonl(text: string, options: ParseJsonlOptions = {}): PlanOp[] {
  const ops: PlanOp[] = [];
  const seen = new Map<string, { text: string; line: number }>();
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const raw = lines[index].replace(/\r$/, "");
    if (raw.trim() === "") continue;
    if (raw.length > JSONL_LINE_LENGTH_MAX) {
      throw new PlanImportError(line, `line is longer than ${JSONL_LINE_LENGTH_MAX} characters`);
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new PlanImportError(line, `not valid JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
    let op: PlanOp;
    try {
      op = parsePlanOp(value);
    } catch (error) {
      throw new PlanImportError(line, (error as Error).message, { cause: error });
    }
    if (options.thread !== undefined && op.thread !== options.thread) {
      throw new PlanImportError(
        line,
        `op belongs to thread ${JSON.stringify(op.thread)}, expected ${
          JSON.stringify(options.thread)
        }`,
      );
    }
    const id = `${op.thread}\u0000${planOpId(op)}`;
    const encoded = encodePlanOp(op);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      if (earlier.text !== encoded) {
        throw new PlanImportError(
          line,
          `op ${planOpId(op)} differs from the op with the same id on line ${earlier.line}`,
        );
      }
      continue;
    }
    seen.set(id, { text: encoded, line });
    ops.push(op);
  }
  return ops.sort(compareOps);
}

/**
 * The simulator's event trace: every event and every delivered message is
 * rendered canonically and folded into a running SHA-256, so two runs are
 * identical exactly when their trace hashes are. The last lines are kept for
 * failure reports.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import type { Tracer } from "../runtime/env.ts";
import { canonicalString } from "./canonical.ts";

/** Lines kept for reports by default. */
export const TRACE_TAIL_DEFAULT = 200;

/** Records a canonical trace and its hash. */
export class TraceRecorder implements Tracer {
  readonly #hash: Hash = createHash("sha256");
  readonly #tail: string[] = [];
  readonly #tailLimit: number;
  readonly #now: () => bigint;
  #lineCount = 0;
  #deliveries = 0;
  #digest: string | undefined;
  /** Receives every line when set (for `--trace` output). */
  onLine: ((line: string) => void) | undefined;

  /** @param now the virtual clock, stamped on each line */
  constructor(now: () => bigint, tailLimit = TRACE_TAIL_DEFAULT) {
    this.#now = now;
    this.#tailLimit = tailLimit;
  }

  /** Number of lines recorded. */
  get lineCount(): number {
    return this.#lineCount;
  }

  /** Number of messages delivered to actors. */
  get deliveries(): number {
    return this.#deliveries;
  }

  /** The most recent lines, oldest first. */
  get tail(): readonly string[] {
    return this.#tail;
  }

  delivery(path: string, sender: string | undefined, message: unknown): void {
    this.#deliveries++;
    this.line(`recv ${path} <- ${sender ?? "-"} ${canonicalString(message)}`);
  }

  note(kind: string, detail: string): void {
    this.line(`${kind} ${detail}`);
  }

  /** Records one line stamped with the current virtual time. */
  line(text: string): void {
    const line = `${this.#now()} ${text}`;
    this.#digest = undefined;
    this.#hash.update(line);
    this.#hash.update("\n");
    this.#lineCount++;
    this.#tail.push(line);
    if (this.#tail.length > this.#tailLimit) this.#tail.shift();
    this.onLine?.(line);
  }

  /** Hex SHA-256 of every line so far (the trace hash). */
  digest(): string {
    this.#digest ??= this.#hash.copy().digest("hex");
    return this.#digest;
  }
}

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

/**
 * Levels of a delivered message rendered into the trace. Deeper parts (the
 * thread snapshots effects carry, derived from envelopes already traced as
 * bytes) would cost more to render than the whole rest of a run.
 */
export const TRACE_DEPTH_MAX = 4;

/** Lines kept for reports by default. */
export const TRACE_TAIL_DEFAULT = 200;

/** Lines are hashed in chunks of about this many characters (one hash update per chunk, not per line). */
const HASH_CHUNK_CHARS = 1 << 16;

/** Records a canonical trace and its hash. */
export class TraceRecorder implements Tracer {
  readonly #hash: Hash = createHash("sha256");
  readonly #tail: string[];
  readonly #now: () => bigint;
  #tailNext = 0;
  #pending = "";
  #lineCount = 0;
  #deliveries = 0;
  #stampNs = -1n;
  #stampText = "";
  #digest: string | undefined;
  /** Receives every line when set (for `--trace` output). */
  onLine: ((line: string) => void) | undefined;

  /** @param now the virtual clock, stamped on each line */
  constructor(now: () => bigint, tailLimit = TRACE_TAIL_DEFAULT) {
    this.#now = now;
    this.#tail = new Array(tailLimit);
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
  get tail(): string[] {
    const size = this.#tail.length;
    const ordered: string[] = [];
    for (let index = 0; index < size; index++) {
      const line = this.#tail[(this.#tailNext + index) % size];
      if (line !== undefined) ordered.push(line);
    }
    return ordered;
  }

  delivery(path: string, sender: string | undefined, message: unknown): void {
    this.#deliveries++;
    this.line(`recv ${path} <- ${sender ?? "-"} ${canonicalString(message, 0, TRACE_DEPTH_MAX)}`);
  }

  note(kind: string, detail: string): void {
    this.line(`${kind} ${detail}`);
  }

  /** Records one line stamped with the current virtual time. */
  line(text: string): void {
    const nowNs = this.#now();
    if (nowNs !== this.#stampNs) {
      this.#stampNs = nowNs;
      this.#stampText = nowNs.toString();
    }
    const line = `${this.#stampText} ${text}`;
    this.#digest = undefined;
    this.#pending += line + "\n";
    if (this.#pending.length >= HASH_CHUNK_CHARS) this.#flush();
    this.#lineCount++;
    if (this.#tail.length > 0) {
      this.#tail[this.#tailNext] = line;
      this.#tailNext = (this.#tailNext + 1) % this.#tail.length;
    }
    this.onLine?.(line);
  }

  /** Hex SHA-256 of every line so far (the trace hash). */
  digest(): string {
    if (this.#digest === undefined) {
      this.#flush();
      this.#digest = this.#hash.copy().digest("hex");
    }
    return this.#digest;
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#hash.update(this.#pending, "utf8");
    this.#pending = "";
  }
}

/**
 * A progress bar on stderr for long runs: redrawn in place on a terminal,
 * a line per quarter otherwise (logs, CI), silent in JSON mode.
 *
 * @module
 */

const WIDTH = 30;
const REDRAW_MS = 100;

/** Counts finished items out of a total. */
export class ProgressBar {
  readonly #total: number;
  readonly #silent: boolean;
  readonly #terminal: boolean;
  readonly #encoder = new TextEncoder();
  readonly #goodLabel: string;
  #done = 0;
  #good = 0;
  #lastDrawMs = 0;
  #lastQuarter = 0;

  /** @param goodLabel what a good item is called in the bar, e.g. `final` or `ok` */
  constructor(total: number, silent = false, goodLabel = "final") {
    this.#total = total;
    this.#silent = silent;
    this.#goodLabel = goodLabel;
    this.#terminal = Deno.stderr.isTerminal();
  }

  /** One more item finished (`good` = it succeeded). */
  tick(good: boolean): void {
    this.#done++;
    if (good) this.#good++;
    if (this.#silent) return;
    const nowMs = performance.now();
    if (this.#terminal) {
      if (nowMs - this.#lastDrawMs < REDRAW_MS && this.#done < this.#total) return;
      this.#lastDrawMs = nowMs;
      this.#write(`\r${this.#line()}`);
      return;
    }
    const quarter = Math.floor((this.#done / this.#total) * 4);
    if (quarter > this.#lastQuarter) {
      this.#lastQuarter = quarter;
      this.#write(`${this.#line()}\n`);
    }
  }

  /** Ends the bar's line. */
  done(): void {
    if (!this.#silent && this.#terminal) this.#write(`\r${this.#line()}\n`);
  }

  #line(): string {
    const filled = Math.round((this.#done / this.#total) * WIDTH);
    return `[${"#".repeat(filled)}${
      " ".repeat(WIDTH - filled)
    }] ${this.#done}/${this.#total} done, ${this.#good} ${this.#goodLabel}`;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(text));
  }
}

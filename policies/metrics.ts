/**
 * Metrics of policy evaluation: counters per outcome and per reason, and a
 * latency histogram, kept in plain numbers so a node can expose them (e.g.
 * through prom-client) without the policy layer knowing how.
 *
 * @module
 */

/** Upper bounds of the latency buckets, microseconds (the last bucket is open). */
export const LATENCY_BUCKETS_US: readonly number[] = [
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  1_000,
  5_000,
  20_000,
];

/** Most distinct reasons counted; later ones are folded into `other`. */
const REASONS_MAX = 256;

/** A copy of the metrics at one moment. */
export interface PolicyMetricsSnapshot {
  readonly evaluations: number;
  readonly allowed: number;
  readonly denied: number;
  /** Evaluations where a rule raised an error (the request was denied: fail closed). */
  readonly evaluationErrors: number;
  /** Denials per rule id. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Evaluation time: count per bucket (`le` in µs; `Infinity` for the last), sum and max. */
  readonly latency: {
    readonly buckets: readonly { readonly leUs: number; readonly count: number }[];
    readonly sumUs: number;
    readonly maxUs: number;
    readonly measured: number;
  };
}

/** Counters and a histogram, updated by an engine on every evaluation. */
export class PolicyMetrics {
  evaluations = 0;
  allowed = 0;
  denied = 0;
  evaluationErrors = 0;
  readonly #reasons = new Map<string, number>();
  readonly #bucketCounts = new Array<number>(LATENCY_BUCKETS_US.length + 1).fill(0);
  #sumUs = 0;
  #maxUs = 0;
  #measured = 0;

  /** Records one decision. */
  recordDecision(allowed: boolean, reasons: readonly string[], errored: boolean): void {
    this.evaluations++;
    if (errored) this.evaluationErrors++;
    if (allowed) {
      this.allowed++;
      return;
    }
    this.denied++;
    for (const reason of reasons) this.countReason(reason);
  }

  /** Counts one denial reason (bounded: past the limit, reasons share `other`). */
  countReason(reason: string): void {
    const key = this.#reasons.has(reason) || this.#reasons.size < REASONS_MAX ? reason : "other";
    this.#reasons.set(key, (this.#reasons.get(key) ?? 0) + 1);
  }

  /** Records how long one evaluation took. */
  recordLatency(elapsedUs: number): void {
    if (!(elapsedUs >= 0)) return;
    let bucket = LATENCY_BUCKETS_US.findIndex((bound) => elapsedUs <= bound);
    if (bucket === -1) bucket = LATENCY_BUCKETS_US.length;
    this.#bucketCounts[bucket]++;
    this.#sumUs += elapsedUs;
    this.#measured++;
    if (elapsedUs > this.#maxUs) this.#maxUs = elapsedUs;
  }

  /** A copy for export. */
  snapshot(): PolicyMetricsSnapshot {
    return {
      evaluations: this.evaluations,
      allowed: this.allowed,
      denied: this.denied,
      evaluationErrors: this.evaluationErrors,
      reasons: Object.fromEntries(this.#reasons),
      latency: {
        buckets: this.#bucketCounts.map((count, index) => ({
          leUs: LATENCY_BUCKETS_US[index] ?? Infinity,
          count,
        })),
        sumUs: this.#sumUs,
        maxUs: this.#maxUs,
        measured: this.#measured,
      },
    };
  }
}

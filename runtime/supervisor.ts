/**
 * Supervision strategies: what a parent does when a child fails.
 *
 * Semantics follow Erlang/OTP: `one-for-one` restarts the failed child,
 * `one-for-all` restarts every child, `rest-for-one` restarts the failed
 * child and the children started after it. Restart intensity is counted per
 * supervisor: more than `maxRestarts` restarts within `withinMs` makes the
 * supervisor give up, stop its children and fail itself (escalation). Each
 * restart waits an exponential backoff with jitter drawn from the actor
 * context's random source, so simulation replays it exactly.
 *
 * @module
 */

import { SwarmError } from "./errors.ts";

/** Which children restart when one fails. */
export type SupervisionKind = "one-for-one" | "one-for-all" | "rest-for-one";

/** What to do with a failure. */
export type SupervisionDirective = "restart" | "resume" | "stop" | "escalate";

/** Exponential backoff between restarts. */
export interface BackoffOptions {
  /** Delay before the first restart in a window. */
  minMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  /** Relative jitter in [0, 1]: the delay is scaled by a factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

/** How an actor supervises its children. */
export interface SupervisorStrategy {
  kind: SupervisionKind;
  /** Restarts allowed within `withinMs` before giving up. */
  maxRestarts: number;
  /** Length of the intensity window. */
  withinMs: number;
  backoff: BackoffOptions;
  /** Maps a failure to a directive. Default: always restart. */
  decide: (error: unknown) => SupervisionDirective;
}

/** The strategy used when none is given. */
export const SUPERVISOR_STRATEGY_DEFAULT: SupervisorStrategy = {
  kind: "one-for-one",
  maxRestarts: 5,
  withinMs: 10_000,
  backoff: { minMs: 10, maxMs: 10_000, jitter: 0.2 },
  decide: () => "restart",
};

/** Raised for invalid supervision settings. */
export class SupervisionConfigError extends SwarmError {
  constructor(message: string) {
    super("E_SUPERVISION_CONFIG", message);
  }
}

/** Raised in a supervisor that exceeded its restart intensity, to escalate. */
export class RestartIntensityExceeded extends SwarmError {
  constructor(
    supervisor: string,
    child: string,
    restarts: number,
    withinMs: number,
    cause: unknown,
  ) {
    super(
      "E_RESTART_INTENSITY",
      `Supervisor ${supervisor} gave up on ${child}: ${restarts} restarts within ${withinMs} ms`,
      { cause },
    );
  }
}

/** Fills in defaults and validates a partial strategy. */
export function supervisorStrategy(
  partial: Partial<SupervisorStrategy> | undefined,
): SupervisorStrategy {
  const strategy: SupervisorStrategy = {
    ...SUPERVISOR_STRATEGY_DEFAULT,
    ...partial,
    backoff: { ...SUPERVISOR_STRATEGY_DEFAULT.backoff, ...partial?.backoff },
  };
  const kinds: SupervisionKind[] = ["one-for-one", "one-for-all", "rest-for-one"];
  if (!kinds.includes(strategy.kind)) {
    throw new SupervisionConfigError(
      `Supervision kind must be one of ${kinds.join(", ")}, got ${strategy.kind}`,
    );
  }
  if (!Number.isInteger(strategy.maxRestarts) || strategy.maxRestarts < 0) {
    throw new SupervisionConfigError(
      `maxRestarts must be an integer >= 0, got ${strategy.maxRestarts}`,
    );
  }
  if (!(strategy.withinMs > 0)) {
    throw new SupervisionConfigError(`withinMs must be > 0, got ${strategy.withinMs}`);
  }
  const { minMs, maxMs, jitter } = strategy.backoff;
  if (!(minMs >= 0 && maxMs >= minMs)) {
    throw new SupervisionConfigError(
      `Backoff needs 0 <= minMs <= maxMs, got ${minMs} and ${maxMs}`,
    );
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new SupervisionConfigError(`Backoff jitter must be in [0, 1], got ${jitter}`);
  }
  return strategy;
}

/**
 * Delay before the `attempt`-th restart (1-based) within the window:
 * `min(maxMs, minMs × 2^(attempt-1))`, scaled by a jitter factor from `random01`.
 */
export function backoffDelayMs(backoff: BackoffOptions, attempt: number, random01: number): number {
  const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.max(0, attempt - 1));
  const factor = 1 + backoff.jitter * (random01 * 2 - 1);
  return Math.min(backoff.maxMs, base * factor);
}

/**
 * Counts restarts inside a sliding window to enforce restart intensity.
 * Bounded: it keeps at most `maxRestarts + 1` timestamps.
 */
export class RestartWindow {
  readonly #timesNs: bigint[] = [];

  /**
   * Records a restart at `nowNs` if the intensity allows it and returns the
   * attempt number within the window (1-based), or 0 when the limit is hit.
   */
  tryRecord(nowNs: bigint, strategy: SupervisorStrategy): number {
    const windowStart = nowNs - BigInt(Math.round(strategy.withinMs * 1_000_000));
    while (this.#timesNs.length > 0 && this.#timesNs[0] <= windowStart) this.#timesNs.shift();
    if (this.#timesNs.length >= strategy.maxRestarts) return 0;
    this.#timesNs.push(nowNs);
    return this.#timesNs.length;
  }

  /** Restarts currently inside the window. */
  get count(): number {
    return this.#timesNs.length;
  }
}

/**
 * The children to restart when `failedIndex` fails, given the children in
 * spawn order (indices into that order).
 */
export function childrenToRestart(
  kind: SupervisionKind,
  failedIndex: number,
  childCount: number,
): number[] {
  switch (kind) {
    case "one-for-one":
      return [failedIndex];
    case "one-for-all":
      return Array.from({ length: childCount }, (_, index) => index);
    case "rest-for-one":
      return Array.from({ length: childCount - failedIndex }, (_, offset) => failedIndex + offset);
  }
}

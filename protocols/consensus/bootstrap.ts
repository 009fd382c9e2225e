/**
 * Bootstrap mode: while a swarm has few verifiers, quorums are 1 and
 * challenge rewards double. The swarm leaves bootstrap once the active
 * verifier count has stayed at or above the threshold for the stability
 * period, and falls back into it when the count drops below.
 *
 * @module
 */

import type { SwarmParams } from "../params.ts";

/** Bootstrap state of a node's view of the swarm. */
export interface BootstrapState {
  readonly bootstrap: boolean;
  /** When the count last reached the threshold (while still in bootstrap), in node ms. */
  readonly aboveSinceMs: number | undefined;
  readonly activeVerifierCount: number;
}

/** A change of mode, for the bootstrap monitor to report. */
export interface BootstrapTransition {
  readonly from: "bootstrap" | "normal";
  readonly to: "bootstrap" | "normal";
  readonly atMs: number;
  readonly activeVerifierCount: number;
}

/** The initial state: in bootstrap. */
export const BOOTSTRAP_INITIAL: BootstrapState = {
  bootstrap: true,
  aboveSinceMs: undefined,
  activeVerifierCount: 0,
};

/**
 * Folds an observation of the active verifier count at `nowMs` into the
 * state; returns the new state and the transition, if one happened.
 */
export function observeVerifiers(
  state: BootstrapState,
  activeVerifierCount: number,
  nowMs: number,
  params: SwarmParams,
): { state: BootstrapState; transition: BootstrapTransition | undefined } {
  const above = activeVerifierCount >= params.bootstrapThreshold;
  if (!state.bootstrap) {
    if (above) return { state: { ...state, activeVerifierCount }, transition: undefined };
    return {
      state: { bootstrap: true, aboveSinceMs: undefined, activeVerifierCount },
      transition: { from: "normal", to: "bootstrap", atMs: nowMs, activeVerifierCount },
    };
  }
  if (!above) {
    return {
      state: { bootstrap: true, aboveSinceMs: undefined, activeVerifierCount },
      transition: undefined,
    };
  }
  const aboveSinceMs = state.aboveSinceMs ?? nowMs;
  if (nowMs - aboveSinceMs >= params.bootstrapStabilityMs) {
    return {
      state: { bootstrap: false, aboveSinceMs: undefined, activeVerifierCount },
      transition: { from: "bootstrap", to: "normal", atMs: nowMs, activeVerifierCount },
    };
  }
  return { state: { bootstrap: true, aboveSinceMs, activeVerifierCount }, transition: undefined };
}

/** Multiplier of challenge rewards: 2 in bootstrap, 1 otherwise. */
export function challengeRewardMultiplier(state: BootstrapState): number {
  return state.bootstrap ? 2 : 1;
}

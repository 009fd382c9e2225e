/**
 * Deliberate protocol bugs, switched on only by mutation tests, to prove
 * that the simulator's property checkers catch them (a checker that never
 * fails is a defect). Production nodes never set these: every switch is
 * off unless a simulation scenario turns it on.
 *
 * @module
 */

/** Test-only switches that break one protocol rule each. */
export interface ProtocolMutations {
  /** The plan and result quorums are one vote short (never below 1). */
  readonly quorumOneShort?: boolean;
  /** DECIDE epoch and fence checks are skipped (in the reducer and the simulated decide log). */
  readonly fencingOff?: boolean;
  /** Lease checks are skipped: commits under expired leases and claims of claimed tasks pass. */
  readonly leaseCheckOff?: boolean;
}

/** No mutation: the protocol as specified. */
export const NO_MUTATIONS: ProtocolMutations = {};

/** The quorum a rule actually uses, one short under the `quorumOneShort` mutation. */
export function mutatedQuorum(quorum: number, mutations: ProtocolMutations | undefined): number {
  return mutations?.quorumOneShort === true ? Math.max(1, quorum - 1) : quorum;
}

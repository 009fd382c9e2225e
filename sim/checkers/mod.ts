/**
 * The property checkers of swarm simulations (DESIGN.md §7): P1 single
 * decision, P2 replay, P3 challenge safety, P4 fencing, P5 leases, P6
 * quorum validity, the ledger invariant, liveness after the last fault,
 * agreement on final results, and "every nemesis fired". P7 and P8 join
 * through {@linkcode CheckerRegistry.register} when checkpoints and shards
 * exist.
 *
 * @example
 * ```ts
 * const registry = standardCheckers().register(myP7Checker);
 * const results = await registry.runAll(context);
 * ```
 *
 * @module
 */

import { AGREEMENT } from "./agreement.ts";
import { CheckerRegistry } from "./checker.ts";
import { LEDGER_INVARIANT } from "./ledger.ts";
import { LIVENESS } from "./liveness.ts";
import { NEMESES_FIRED } from "./nemesis_fired.ts";
import { P1_SINGLE_DECIDE } from "./p1_decide.ts";
import { replayChecker, type ReplayCheckerOptions } from "./p2_replay.ts";
import { P3_CHALLENGES } from "./p3_challenge.ts";
import { P4_FENCING } from "./p4_fencing.ts";
import { P5_LEASES } from "./p5_lease.ts";
import { P6_QUORUM } from "./p6_quorum.ts";

export * from "./checker.ts";
export * from "./window.ts";
export { AGREEMENT, LEDGER_INVARIANT, LIVENESS, NEMESES_FIRED };
export { P1_SINGLE_DECIDE, P3_CHALLENGES, P4_FENCING, P5_LEASES, P6_QUORUM };
export { replayChecker, type ReplayCheckerOptions };

/** A registry with every standard checker, in property order. */
export function standardCheckers(replay: ReplayCheckerOptions = {}): CheckerRegistry {
  return new CheckerRegistry([
    P1_SINGLE_DECIDE,
    replayChecker(replay),
    P3_CHALLENGES,
    P4_FENCING,
    P5_LEASES,
    P6_QUORUM,
    LEDGER_INVARIANT,
    LIVENESS,
    AGREEMENT,
    NEMESES_FIRED,
  ]);
}

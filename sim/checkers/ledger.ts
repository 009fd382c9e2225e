/**
 * The ledger invariant: no credit created or lost — total supply equals
 * the sum of balances plus locked plus burned, in every ledger snapshot the
 * economics layer reports. Skipped while a run has no ledger.
 *
 * @module
 */

import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** Amounts that differ by less than this are equal (ledgers in floating point). */
const LEDGER_TOLERANCE = 1e-9;

/** The ledger checker. */
export const LEDGER_INVARIANT: Checker = {
  id: "$",
  name: "ledger invariant",
  description: "Total supply = balances + locked + burned in every ledger snapshot.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    for (const event of context.history.ofType("ledger")) {
      findings.checked++;
      const accounted = event.balances + event.locked + event.burned;
      if (Math.abs(accounted - event.totalSupply) <= LEDGER_TOLERANCE) continue;
      findings.add({
        message: `${event.node}'s ledger has supply ${event.totalSupply} but balances ` +
          `${event.balances} + locked ${event.locked} + burned ${event.burned} = ${accounted}`,
        evidence: [event.seq],
      });
    }
    return findings.result("the run has no ledger (economics not enabled)");
  },
};

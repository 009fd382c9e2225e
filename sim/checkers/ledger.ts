/**
 * The ledger invariant: no credit created or lost. In every ledger summary a
 * node reported during the run, total supply = held (balances, stakes,
 * escrows, unbonding) + burned, and the ledger's own full recount agreed;
 * and at the end every node still up that applied the same operations
 * holds the same ledger (equal digests). Skipped when the run has no
 * economy.
 *
 * @module
 */

import type { LedgerEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** Amounts that differ by less than this are equal (summaries are in credits). */
const LEDGER_TOLERANCE = 1e-6;

/** The ledger checker. */
export const LEDGER_INVARIANT: Checker = {
  id: "$",
  name: "ledger invariant",
  description:
    "Supply = held + burned in every ledger snapshot, and nodes that applied the same operations hold the same ledger.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const snapshots = context.history.ofType("ledger");
    const last = new Map<string, LedgerEvent>();
    for (const event of snapshots) {
      findings.checked++;
      last.set(event.node, event);
      const accounted = event.held + event.burned;
      if (event.invariant === "ok" && Math.abs(accounted - event.supply) <= LEDGER_TOLERANCE) {
        continue;
      }
      findings.add({
        message: `${event.node}'s ledger has supply ${event.supply} but held ${event.held} + ` +
          `burned ${event.burned} = ${accounted} (recount: ${event.invariant})`,
        evidence: [event.seq],
      });
    }
    checkAgreement(context, last, findings);
    return findings.result("the run has no economy");
  },
};

/** Nodes up at the end that applied as many operations must hold equal ledgers. */
function checkAgreement(
  context: CheckContext,
  last: ReadonlyMap<string, LedgerEvent>,
  findings: Findings,
): void {
  const byOperations = new Map<number, LedgerEvent[]>();
  for (const [node, event] of last) {
    if (!context.upNodes.has(node)) continue;
    const group = byOperations.get(event.operations) ?? [];
    group.push(event);
    byOperations.set(event.operations, group);
  }
  for (const [operations, group] of byOperations) {
    const digests = new Set(group.map((event) => event.digest));
    if (digests.size <= 1) continue;
    findings.add({
      message: `${group.length} nodes applied ${operations} ledger operations but hold ` +
        `${digests.size} different ledgers (${group.map((event) => event.node).join(", ")})`,
      evidence: group.map((event) => event.seq),
    });
  }
}

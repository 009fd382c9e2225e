/**
 * The ledger invariant: no credit created or lost. In every ledger summary a
 * node reported during the run, total supply = held (balances, stakes,
 * escrows, unbonding) + burned, and the ledger's own full recount agreed;
 * and at the end every node still up that applied the same operations
 * holds the same ledger (equal digests). Nodes never away for long hold the
 * same ledger whatever they applied: every NEED reaches them while peers
 * still hold its thread (a node away longer than a finished thread's 60 s
 * retention may never hear of one, so it is left out; so is a node killed
 * in a run without audit logs, which may lose a NEED of its own that nobody
 * else heard of). Skipped when the run has no economy.
 *
 * @module
 */

import { nsToMs } from "../../runtime/env.ts";
import { type History, type LedgerEvent, nemesisSpans } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** Amounts that differ by less than this are equal (summaries are in credits). */
const LEDGER_TOLERANCE = 1e-6;
/** Nodes never away (killed, paused, cut off) longer than this must end with equal ledgers. */
export const STEADY_OUTAGE_MAX_MS = 30_000;
/** Faults that take a node away from its peers. */
const OUTAGES: ReadonlySet<string> = new Set(["kill-restart", "pause", "partition"]);

/** The ledger checker. */
export const LEDGER_INVARIANT: Checker = {
  id: "$",
  name: "ledger invariant",
  description:
    "Supply = held + burned in every ledger snapshot; nodes that applied the same operations, and nodes never away for long, hold the same ledger.",
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
    checkSteadyAgreement(context, last, findings);
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

/** Nodes up at the end that were never away for long must hold equal ledgers. */
function checkSteadyAgreement(
  context: CheckContext,
  last: ReadonlyMap<string, LedgerEvent>,
  findings: Findings,
): void {
  const away = longestOutageMs(context.history, context.endNs, context.scenario.audit);
  const steady = [...last.values()].filter((event) =>
    context.upNodes.has(event.node) && (away.get(event.node) ?? 0) <= STEADY_OUTAGE_MAX_MS
  );
  const digests = new Set(steady.map((event) => event.digest));
  if (digests.size <= 1) return;
  findings.add({
    message: `${steady.length} nodes never away for over ${STEADY_OUTAGE_MAX_MS} ms hold ` +
      `${digests.size} different ledgers at the end (` +
      steady.map((event) => `${event.node}: ${event.operations} operations`).join(", ") + ")",
    evidence: steady.map((event) => event.seq),
  });
}

/**
 * Each node's longest fault that took it away from its peers, ms (one still
 * on runs to `endNs`); without audit logs a kill counts as forever.
 */
function longestOutageMs(history: History, endNs: bigint, audit: boolean): Map<string, number> {
  const longest = new Map<string, number>();
  for (const { start, endNs: spanEndNs } of nemesisSpans(history.ofType("nemesis"))) {
    if (!OUTAGES.has(start.kind)) continue;
    const ms = start.kind === "kill-restart" && !audit
      ? Infinity
      : nsToMs((spanEndNs ?? endNs) - start.timeNs);
    for (const node of start.nodes) longest.set(node, Math.max(longest.get(node) ?? 0, ms));
  }
  return longest;
}

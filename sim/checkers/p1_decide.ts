/**
 * P1, single decision. CP: the decide log holds at most one decision per
 * NEED, and every node that accepted a DECIDE for a NEED accepted that same
 * one. AP: within one replica a NEED is decided at most once, and after the
 * final heal every node still up holds the winning decision — the highest
 * (epoch, lamport, decider) of all decisions written on any side.
 *
 * @module
 */

import { type DecideRecord, sameDecision } from "../../runtime/store/decide_log.ts";
import { compareDecisions } from "../../protocols/consensus/merge.ts";
import type { AcceptedEvent, EffectEvent, LogEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

type DecideWrite = Extract<LogEvent, { op: "decide" }>;

/** The P1 checker. */
export const P1_SINGLE_DECIDE: Checker = {
  id: "P1",
  name: "single DECIDE per NEED",
  description:
    "CP: one decision per NEED in the log and at every node; AP: one winner everywhere after the heal.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const writes = context.history.ofType("log").filter((event): event is DecideWrite =>
      event.op === "decide" && (event.outcome === "decided" || event.outcome === "forced")
    );
    checkWrites(writes, findings, context.scenario.mode === "ap");
    if (context.scenario.mode === "cp") checkAccepted(context, findings);
    else checkWinners(context, writes, findings);
    return findings.result("no NEED was decided");
  },
};

/** At most one write per NEED (per replica in AP). */
function checkWrites(
  writes: readonly DecideWrite[],
  findings: Findings,
  perReplica: boolean,
): void {
  const first = new Map<string, DecideWrite>();
  for (const write of writes) {
    const key = perReplica ? `${write.replica}\u0000${write.record.needId}` : write.record.needId;
    const earlier = first.get(key);
    findings.checked++;
    if (earlier === undefined) {
      first.set(key, write);
      continue;
    }
    if (sameDecision(earlier.record, write.record)) continue;
    findings.add({
      message: `NEED ${write.record.needId} was decided twice in replica ${write.replica}: ` +
        `${earlier.record.proposalId} by ${earlier.node}, then ${write.record.proposalId} by ${write.node}`,
      needId: write.record.needId,
      evidence: [earlier.seq, write.seq],
    });
  }
}

/** CP: every node accepted the same DECIDE for a NEED. */
function checkAccepted(context: CheckContext, findings: Findings): void {
  const first = new Map<string, AcceptedEvent>();
  for (const event of context.history.ofType("accepted")) {
    if (event.message.kind !== "DECIDE") continue;
    const record = event.message.payload as DecideRecord;
    const earlier = first.get(record.needId);
    if (earlier === undefined) {
      first.set(record.needId, event);
      continue;
    }
    const known = earlier.message.payload as DecideRecord;
    if (sameDecision(known, record)) continue;
    findings.add({
      message: `NEED ${record.needId}: ${earlier.node} accepted ${known.proposalId} ` +
        `(by ${context.history.nodeOf(known.decider)}) but ${event.node} accepted ` +
        `${record.proposalId} (by ${context.history.nodeOf(record.decider)})`,
      needId: record.needId,
      evidence: [earlier.seq, event.seq],
    });
  }
}

/** AP: after the heal every node that is up holds the highest decision written anywhere. */
function checkWinners(context: CheckContext, writes: readonly DecideWrite[], findings: Findings) {
  const winner = new Map<string, DecideWrite>();
  for (const write of writes) {
    const known = winner.get(write.record.needId);
    if (known === undefined || compareDecisions(write.record, known.record) > 0) {
      winner.set(write.record.needId, write);
    }
  }
  const held = new Map<string, EffectEvent>();
  for (const event of context.history.ofType("effect")) {
    if (event.decision === undefined || !context.upNodes.has(event.node)) continue;
    held.set(`${event.node}\u0000${event.effect.needId}`, event);
  }
  for (const [key, event] of held) {
    const best = winner.get(event.effect.needId);
    const decision = event.decision as DecideRecord;
    findings.checked++;
    if (best === undefined || sameDecision(best.record, decision)) continue;
    findings.add({
      message: `NEED ${event.effect.needId}: ${key.split("\u0000")[0]} still holds ` +
        `${decision.proposalId} (epoch ${decision.epoch}, lamport ${decision.lamport}) after the heal; ` +
        `the winner is ${best.record.proposalId} (epoch ${best.record.epoch}, lamport ${best.record.lamport})`,
      needId: event.effect.needId,
      evidence: [best.seq, event.seq],
    });
  }
}

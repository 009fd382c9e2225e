/**
 * P4, epoch fencing. Every decision the decide service wrote carried the
 * service's current epoch and its bucket's current fence token; every lease
 * it granted carried the current epoch; and every DECIDE a node accepted is
 * one the service actually wrote (a DECIDE that never went through the log,
 * like a zombie's or a forger's, must never be accepted). A ruling
 * (INVALIDATE) a node accepted from another node than the NEED's decider
 * came from one that had taken the bucket's fence by then (a failover).
 *
 * @module
 */

import { bucketOf, type DecideRecord, sameDecision } from "../../runtime/store/decide_log.ts";
import type { AcceptedEvent, LogEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

type DecideCall = Extract<LogEvent, { op: "decide" }>;

/** The P4 checker. */
export const P4_FENCING: Checker = {
  id: "P4",
  name: "no stale epoch or fence accepted",
  description:
    "Decisions and leases are written only under the current epoch and fence, and nodes accept only written decisions.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const written = new Map<string, DecideCall[]>();
    /** When each node first took each bucket's fence, by `node bucket`. */
    const fencedAt = new Map<string, bigint>();
    for (const event of context.history.ofType("log")) {
      if (event.op === "decide") checkDecideWrite(event, findings, written);
      if (event.op === "fence" && event.outcome === "ok") {
        const key = `${event.node} ${event.bucket}`;
        if (!fencedAt.has(key)) fencedAt.set(key, event.timeNs);
      }
      if (event.op === "lease" && (event.outcome === "granted" || event.outcome === "forced")) {
        findings.checked++;
        if (event.lease.epoch !== event.logEpoch) {
          findings.add({
            message: `Lease ${event.lease.leaseId} on ${event.lease.taskId} was granted to ` +
              `${event.node} with epoch ${event.lease.epoch} while the service was at epoch ${event.logEpoch}`,
            evidence: [event.seq],
          });
        }
      }
    }
    const deciders = new Map<string, string>();
    for (const event of context.history.ofType("accepted")) {
      if (event.message.kind === "INVALIDATE") {
        checkRuling(event, deciders.get(event.message.thread), context, findings, fencedAt);
      }
      if (event.message.kind !== "DECIDE") continue;
      const record = event.message.payload as DecideRecord;
      deciders.set(record.needId, record.decider);
      findings.checked++;
      const calls = written.get(record.needId) ?? [];
      if (calls.some((call) => sameDecision(call.record, record))) continue;
      findings.add({
        message: `${event.node} accepted a DECIDE for ${record.needId} (proposal ` +
          `${record.proposalId}, decider ${context.history.nodeOf(record.decider)}, fence ` +
          `${record.fence}) that the decide service never wrote`,
        needId: record.needId,
        evidence: [event.seq, ...calls.map((call) => call.seq)],
      });
    }
    return findings.result("no decision or lease was written");
  },
};

function checkDecideWrite(
  event: DecideCall,
  findings: Findings,
  written: Map<string, DecideCall[]>,
): void {
  const wrote = event.outcome === "decided" || event.outcome === "forced" ||
    event.outcome === "already-decided";
  if (!wrote) return;
  const calls = written.get(event.record.needId) ?? [];
  calls.push(event);
  written.set(event.record.needId, calls);
  if (event.outcome === "already-decided") return;
  findings.checked++;
  const { record } = event;
  if (record.epoch !== event.logEpoch || record.fence !== event.logFence) {
    findings.add({
      message: `The decide service wrote ${record.needId} for ${event.node} with epoch ` +
        `${record.epoch} and fence ${record.fence}, but its epoch was ${event.logEpoch} ` +
        `and the bucket's fence ${event.logFence}`,
      needId: record.needId,
      evidence: [event.seq],
    });
  }
}

/** A ruling from another node than the NEED's decider needs the bucket's fence taken before it. */
function checkRuling(
  event: AcceptedEvent,
  decider: string | undefined,
  context: CheckContext,
  findings: Findings,
  fencedAt: ReadonlyMap<string, bigint>,
): void {
  const { message } = event;
  if (decider === undefined || message.sender === decider) return;
  findings.checked++;
  const sender = context.history.nodeOf(message.sender);
  const taken = fencedAt.get(`${sender} ${bucketOf(message.thread)}`);
  if (taken !== undefined && taken <= event.timeNs) return;
  findings.add({
    message: `${event.node} accepted a ruling on ${message.thread} from ${sender}, which ` +
      `neither decided it nor had taken its bucket's fence`,
    needId: message.thread,
    evidence: [event.seq],
  });
}

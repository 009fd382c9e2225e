/**
 * P5, lease lifetimes. (a) The decide service never holds two leases on one
 * task at once. (b) No node accepts a COMMIT after the lease it was made
 * under expired on that node's clock; a COMMIT replayed from a peer's archive
 * (a node catching up) is judged at the time it was made instead, and only
 * once some node accepted it live. (c) A task is claimed again only after
 * it was reopened: a second CLAIM while the first lease's work still stands
 * (claimed or committed, not released, yielded or rejected) puts two
 * workers on one task, whatever each node saw first. A reopen is a
 * `task-ready` that left the task in DRAFT on some node (a fresh decision's
 * `task-ready`, DECIDED, replayed to a restarted node, is not one). In AP
 * mode two sides of a partition may each lease a task: such a pair passes
 * only when the merge after the heal reported it and dropped one of the two
 * (the RECONCILE that follows sets the dropped lease's work aside). (d) In CP
 * mode no lease is granted on a task some node already holds FINAL: its work
 * would be done again (a finished NEED replayed to a node that forgot it).
 *
 * @module
 */

import type { LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import type { AcceptedEvent, HistoryEvent, LogEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** The P5 checker. */
export const P5_LEASES: Checker = {
  id: "P5",
  name: "lease lifetimes",
  description:
    "No two live leases on a task; no commit under an expired lease; no second claim before a reopen; no lease on a final task.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    checkLogLeases(context.history.ofType("log"), findings);
    checkCommits(context, findings);
    checkReclaims(context, findings);
    checkLeasesAfterFinal(context.history.events, findings);
    return findings.result("no task was leased");
  },
};

/** (d) The CP log grants no lease on a task after some node saw it FINAL. */
function checkLeasesAfterFinal(events: readonly HistoryEvent[], findings: Findings): void {
  const finalAt = new Map<string, number>();
  for (const event of events) {
    if (event.type === "effect" && event.effect.type === "task-final") {
      if (!finalAt.has(event.effect.taskId)) finalAt.set(event.effect.taskId, event.seq);
    }
    if (event.type !== "log" || event.op !== "lease" || event.outcome !== "granted") continue;
    if (event.replica !== "cp") continue;
    const final = finalAt.get(event.lease.taskId);
    if (final === undefined) continue;
    findings.add({
      message: `Task ${event.lease.taskId} was leased to ${event.node} (${event.lease.leaseId}) ` +
        `after it was final: its work was done again`,
      evidence: [final, event.seq],
    });
  }
}

/** (a) The service's lease table never holds two leases on a task. */
function checkLogLeases(events: readonly LogEvent[], findings: Findings): void {
  const held = new Map<string, { leaseId: string; seq: number }>();
  for (const event of events) {
    const key = (taskId: string) => `${event.replica}\u0000${taskId}`;
    if (event.op === "lease" && (event.outcome === "granted" || event.outcome === "forced")) {
      findings.checked++;
      const current = held.get(key(event.lease.taskId));
      if (current !== undefined && current.leaseId !== event.lease.leaseId) {
        findings.add({
          message: `Task ${event.lease.taskId} was leased to ${event.node} ` +
            `(${event.lease.leaseId}) while lease ${current.leaseId} was still held`,
          evidence: [current.seq, event.seq],
        });
      }
      if (current === undefined || event.outcome === "granted") {
        held.set(key(event.lease.taskId), { leaseId: event.lease.leaseId, seq: event.seq });
      }
    }
    if (event.op === "release" && event.outcome === "ok") {
      if (held.get(key(event.taskId))?.leaseId === event.leaseId) held.delete(key(event.taskId));
    }
  }
}

/**
 * (b) Each node accepts a live COMMIT only while the lease, as that node
 * knows it, is live; a replayed one only if it was made while the lease was
 * live and another node accepted it live first.
 */
function checkCommits(context: CheckContext, findings: Findings): void {
  const expiry = new Map<string, { expiresAtMs: number; seq: number }>();
  const acceptedLive = new Set<string>();
  for (const event of context.history.ofType("accepted")) {
    const { message } = event;
    const key = (leaseId: string) => `${event.node}\u0000${leaseId}`;
    if (message.kind === "CLAIM") {
      const claim = (message as LifecycleMessage<"CLAIM">).payload;
      expiry.set(key(claim.leaseId), {
        expiresAtMs: claim.grantedAtMs + claim.leaseTtlMs,
        seq: event.seq,
      });
    } else if (message.kind === "HEARTBEAT") {
      const beat = (message as LifecycleMessage<"HEARTBEAT">).payload;
      expiry.set(key(beat.leaseId), { expiresAtMs: beat.expiresAtMs, seq: event.seq });
    } else if (message.kind === "COMMIT") {
      const commit = (message as LifecycleMessage<"COMMIT">).payload;
      const lease = expiry.get(key(commit.leaseId));
      const madeAtMs = message.replayedMadeAtMs;
      findings.checked++;
      if (madeAtMs === undefined) acceptedLive.add(message.id);
      else if (!acceptedLive.has(message.id)) {
        findings.add({
          message: `${event.node} accepted a replayed COMMIT for ${commit.taskId} ` +
            `that no node had accepted live`,
          needId: commit.needId,
          evidence: [event.seq],
        });
      }
      const atMs = madeAtMs === undefined ? event.nodeMs : Math.min(event.nodeMs, madeAtMs);
      if (lease === undefined || atMs <= lease.expiresAtMs) continue;
      findings.add({
        message: `${event.node} accepted a COMMIT for ${commit.taskId} at ${atMs} ms ` +
          `under lease ${commit.leaseId}, which expired at ${lease.expiresAtMs} ms on its clock`,
        needId: commit.needId,
        evidence: [lease.seq, event.seq],
      });
    }
  }
}

/** (c) A second CLAIM (another lease) needs a reopen of the task somewhere in between. */
function checkReclaims(context: CheckContext, findings: Findings): void {
  const lastClaim = new Map<string, AcceptedEvent>();
  const reopenedAfter = new Map<string, number>();
  const made = new Set<string>();
  const merged = new Set<string>();
  for (const merge of context.history.ofType("merge")) {
    for (const drop of merge.leases) {
      merged.add(`${drop.kept}\u0000${drop.dropped}`).add(`${drop.dropped}\u0000${drop.kept}`);
    }
  }
  for (const event of context.history.events) {
    if (isReopen(event)) {
      reopenedAfter.set((event as { effect: { taskId: string } }).effect.taskId, event.seq);
      continue;
    }
    if (event.type !== "accepted" || event.message.kind !== "CLAIM") continue;
    const claim = (event.message as LifecycleMessage<"CLAIM">).payload;
    // A CLAIM is made where its sender first accepts it; other nodes (and the sender again,
    // restarted and catching up) only learn of it.
    if (context.history.nodeOf(event.message.sender) !== event.node) continue;
    if (made.has(event.message.id)) continue;
    made.add(event.message.id);
    findings.checked++;
    const previous = lastClaim.get(claim.taskId);
    lastClaim.set(claim.taskId, event);
    if (previous === undefined) continue;
    const previousLease = (previous.message as LifecycleMessage<"CLAIM">).payload.leaseId;
    if (previousLease === claim.leaseId) continue;
    if ((reopenedAfter.get(claim.taskId) ?? -1) > previous.seq) continue;
    if (merged.has(`${previousLease}\u0000${claim.leaseId}`)) continue;
    findings.add({
      message: `Task ${claim.taskId} was claimed by ${event.node} (lease ${claim.leaseId}) ` +
        `while ${previous.node}'s lease ${previousLease} still stood: no release, yield ` +
        `or rejection reopened it in between`,
      needId: claim.needId,
      evidence: [previous.seq, event.seq],
    });
  }
}

/** A `task-ready` effect that left its task in DRAFT: the task was reopened. */
function isReopen(event: HistoryEvent): boolean {
  return event.type === "effect" && event.effect.type === "task-ready" &&
    event.taskStatus === "DRAFT";
}

/**
 * The smallest window of a run's history that shows a violation: the
 * events of the NEED involved between the first and the last piece of
 * evidence, plus the faults active then, rendered one per line with node,
 * virtual time and message.
 *
 * @module
 */

import { nsToMs } from "../../runtime/env.ts";
import type { History, HistoryEvent } from "../swarm/history.ts";
import type { Violation } from "./checker.ts";

/** Most lines a window shows; evidence lines are always kept. */
export const WINDOW_LINES_MAX = 40;

/** The history events of the smallest window showing `violation`. */
export function violationWindow(history: History, violation: Violation): HistoryEvent[] {
  const evidence = violation.evidence.map((seq) => history.events[seq]).filter((event) =>
    event !== undefined
  );
  if (evidence.length === 0) return [];
  const fromNs = evidence.reduce(
    (min, event) => event.timeNs < min ? event.timeNs : min,
    evidence[0].timeNs,
  );
  const toNs = evidence.reduce(
    (max, event) => event.timeNs > max ? event.timeNs : max,
    evidence[0].timeNs,
  );
  const about = violation.needId === undefined ? evidence : history.forNeed(violation.needId);
  const inside = about.filter((event) => event.timeNs >= fromNs && event.timeNs <= toNs);
  const faults = history.ofType("nemesis").filter((event) => event.timeNs <= toNs);
  const merged = [
    ...new Map(
      [...inside, ...evidence, ...activeFaults(faults, fromNs)].map((event) => [event.seq, event]),
    ).values(),
  ]
    .sort((left, right) => left.seq - right.seq);
  return trim(merged, new Set(violation.evidence));
}

/** Faults started before `fromNs` and not ended by then, and faults acting inside the window. */
function activeFaults(faults: readonly HistoryEvent[], fromNs: bigint): HistoryEvent[] {
  const open = new Map<number, HistoryEvent>();
  const result: HistoryEvent[] = [];
  for (const event of faults) {
    if (event.type !== "nemesis") continue;
    if (event.timeNs >= fromNs) result.push(event);
    else if (event.phase === "start") open.set(event.nemesis, event);
    else open.delete(event.nemesis);
  }
  return [...open.values(), ...result];
}

function trim(events: HistoryEvent[], evidence: ReadonlySet<number>): HistoryEvent[] {
  if (events.length <= WINDOW_LINES_MAX) return events;
  const keep = new Set<number>(evidence);
  for (const event of events) {
    if (keep.size >= WINDOW_LINES_MAX) break;
    if (event.type === "nemesis" || event.type === "fault" || event.type === "log") {
      keep.add(event.seq);
    }
  }
  for (const event of events) {
    if (keep.size >= WINDOW_LINES_MAX) break;
    keep.add(event.seq);
  }
  return events.filter((event) => keep.has(event.seq));
}

/** One line for an event: time, node, what happened. */
export function renderEvent(history: History, event: HistoryEvent): string {
  const time = `${nsToMs(event.timeNs).toFixed(3).padStart(11)} ms`;
  const who = (did: string) => history.nodeOf(did);
  switch (event.type) {
    case "accepted": {
      const { message } = event;
      return `${time}  ${event.node.padEnd(10)} accepted ${message.kind} from ${
        who(message.sender)
      } ` +
        summarise(message.payload as unknown as Record<string, unknown>, who);
    }
    case "effect":
      return `${time}  ${event.node.padEnd(10)} effect ${event.effect.type}` +
        ("taskId" in event.effect ? ` ${event.effect.taskId}` : "") + ` (phase ${event.phase})`;
    case "log": {
      const { op, outcome, node, replica } = event;
      const detail = op === "decide"
        ? `${event.record.proposalId} epoch ${event.record.epoch} fence ${event.record.fence} (log epoch ${event.logEpoch}, fence ${event.logFence})`
        : op === "lease"
        ? `${event.lease.taskId} ${event.lease.leaseId}`
        : op === "fence"
        ? `bucket ${event.bucket} token ${event.token}`
        : op === "epoch"
        ? `${event.from} -> ${event.to}`
        : `${event.taskId} ${event.leaseId}`;
      return `${time}  ${node.padEnd(10)} decide-log ${op} ${detail} → ${outcome} [${replica}]`;
    }
    case "nemesis":
      return `${time}  ${
        "nemesis".padEnd(10)
      } #${event.nemesis} ${event.kind} ${event.phase}: ${event.detail}`;
    case "fault":
      return `${time}  ${(event.node ?? "").padEnd(10)} BUGGIFY ${event.name}`;
    case "merge":
      return `${time}  ${
        "ap-merge".padEnd(10)
      } ${event.winners.length} winners, ${event.orphaned.length} orphaned, ${event.leases.length} leases dropped`;
    case "ledger":
      return `${time}  ${
        event.node.padEnd(10)
      } ledger supply ${event.supply}, held ${event.held}, burned ${event.burned} (${event.invariant})`;
  }
}

function summarise(payload: Record<string, unknown>, who: (did: string) => string): string {
  const parts: string[] = [];
  for (const key of ["proposalId", "taskId", "leaseId", "commitId", "verdict", "epoch", "fence"]) {
    if (payload[key] !== undefined) parts.push(`${key}=${String(payload[key])}`);
  }
  if (typeof payload.decider === "string") parts.push(`decider=${who(payload.decider)}`);
  for (const key of ["approvers", "attesters"]) {
    const list = payload[key];
    if (Array.isArray(list)) {
      parts.push(`${key}=[${list.map((did) => who(String(did))).join(",")}]`);
    }
  }
  return parts.join(" ");
}

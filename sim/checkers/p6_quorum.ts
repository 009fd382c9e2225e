/**
 * P6, quorum validity. Every DECIDE a node accepted names at least K_plan
 * distinct approvers, and every FINALIZE at least K_result distinct
 * attesters, where K is recomputed here from the parameters, the active
 * verifier set and the challenges upheld so far (not taken from the
 * message); each of them sits on the subject's committee — the one pinned
 * by the NEED (plan) or the DECIDE and upheld challenges (result), else the
 * drawn one — and actually sent that approving vote or passing attestation.
 * A pinned committee must also be diversity-valid: no organisation, AS,
 * region or linked entity over its cap (DESIGN.md §5).
 *
 * @module
 */

import { committeeFor } from "../../protocols/committee.ts";
import { planQuorum, resultQuorum } from "../../protocols/consensus/quorum.ts";
import { membersAllowed } from "../../protocols/economics/selection.ts";
import type { LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import type { AcceptedEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** The P6 checker. */
export const P6_QUORUM: Checker = {
  id: "P6",
  name: "quorum validity",
  description:
    "Every DECIDE and FINALIZE is backed by >= K distinct members of a diverse committee who voted for it.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const accepted = context.history.ofType("accepted");
    const votes = collectVotes(accepted);
    const pins = new Pins(context);
    const seen = new Set<string>();
    for (const event of accepted) {
      pins.observe(event.message);
      if (seen.has(event.message.id)) continue;
      if (event.message.kind === "DECIDE") {
        seen.add(event.message.id);
        checkDecide(context, findings, event, pins, votes);
      } else if (event.message.kind === "FINALIZE") {
        seen.add(event.message.id);
        checkFinalize(context, findings, event, pins, votes);
      }
    }
    return findings.result("nothing was decided or finalized");
  },
};

/** Committees pinned so far (by NEEDs, DECIDEs and upheld challenges), in history order. */
class Pins {
  readonly plan = new Map<string, readonly string[]>();
  readonly result = new Map<string, readonly string[]>();
  readonly task = new Map<string, readonly string[]>();
  readonly raised = new Map<string, number>();

  constructor(readonly context: CheckContext) {}

  observe(message: LifecycleMessage): void {
    const payload = message.payload as {
      committee?: readonly string[];
      needId?: string;
      taskId?: string;
      target?: string;
      verdict?: string;
    };
    if (message.kind === "NEED" && payload.committee !== undefined && payload.needId) {
      if (!this.plan.has(payload.needId)) this.plan.set(payload.needId, payload.committee);
    } else if (message.kind === "DECIDE" && payload.committee !== undefined && payload.needId) {
      this.result.set(payload.needId, payload.committee);
    } else if (
      (message.kind as string) === "INVALIDATE" && payload.target === "CHALLENGE" &&
      payload.verdict === "UPHELD" && payload.taskId !== undefined
    ) {
      const key = `${message.id}`;
      if (this.task.has(key)) return;
      this.task.set(key, []);
      if (payload.committee !== undefined && payload.committee.length > 0) {
        this.task.set(payload.taskId, payload.committee);
      }
      this.raised.set(payload.taskId, (this.raised.get(payload.taskId) ?? 0) + 2);
    }
  }
}

function checkDecide(
  context: CheckContext,
  findings: Findings,
  event: AcceptedEvent,
  pins: Pins,
  votes: Map<string, Set<string>>,
): void {
  const { params, verifiers, scenario } = context;
  const decision = (event.message as LifecycleMessage<"DECIDE">).payload;
  const pinned = pins.plan.get(decision.needId);
  const quorum = planQuorum(verifiers.size, scenario.bootstrap, params);
  checkBackers(context, findings, event, {
    what: `DECIDE of ${decision.needId}`,
    backers: decision.approvers,
    quorum: pinned === undefined ? quorum : Math.min(quorum, pinned.length),
    members: pinned ?? committeeFor("plan", decision.needId, verifiers, params, scenario.bootstrap),
    pinned: pinned !== undefined,
    voted: votes.get(`plan\u0000${decision.proposalId}`) ?? new Set(),
  });
}

function checkFinalize(
  context: CheckContext,
  findings: Findings,
  event: AcceptedEvent,
  pins: Pins,
  votes: Map<string, Set<string>>,
): void {
  const { params, verifiers, scenario } = context;
  const finalize = (event.message as LifecycleMessage<"FINALIZE">).payload;
  const pinned = pins.task.get(finalize.taskId) ?? pins.result.get(finalize.needId);
  const raise = pins.raised.get(finalize.taskId) ?? 0;
  const quorum = resultQuorum(verifiers.size, scenario.bootstrap, params, raise);
  checkBackers(context, findings, event, {
    what: `FINALIZE of ${finalize.taskId}`,
    backers: finalize.attesters,
    quorum: pinned === undefined ? quorum : Math.min(quorum, pinned.length),
    members: pinned ??
      committeeFor("result", finalize.taskId, verifiers, params, scenario.bootstrap),
    pinned: pinned !== undefined,
    voted: votes.get(`result\u0000${finalize.commitId}`) ?? new Set(),
  });
}

/** Approving plan votes by proposal and passing attestations by commit: who sent them. */
function collectVotes(events: readonly AcceptedEvent[]): Map<string, Set<string>> {
  const votes = new Map<string, Set<string>>();
  const add = (key: string, did: string) => {
    const voters = votes.get(key) ?? new Set<string>();
    voters.add(did);
    votes.set(key, voters);
  };
  for (const { message } of events) {
    if (message.kind === "ATTEST_PLAN") {
      const vote = (message as LifecycleMessage<"ATTEST_PLAN">).payload;
      if (vote.verdict === "approve") add(`plan\u0000${vote.proposalId}`, message.sender);
    } else if (message.kind === "ATTEST") {
      const attest = (message as LifecycleMessage<"ATTEST">).payload;
      if (attest.verdict === "pass") add(`result\u0000${attest.commitId}`, message.sender);
    }
  }
  return votes;
}

interface Backing {
  readonly what: string;
  readonly backers: readonly string[];
  readonly quorum: number;
  readonly members: readonly string[];
  /** The committee was pinned (and must be diversity-valid). */
  readonly pinned: boolean;
  readonly voted: ReadonlySet<string>;
}

function checkBackers(
  context: CheckContext,
  findings: Findings,
  event: AcceptedEvent,
  backing: Backing,
): void {
  findings.checked++;
  const distinct = new Set(backing.backers);
  const problems: string[] = [];
  if (distinct.size < backing.quorum) {
    problems.push(`${distinct.size} distinct backers for K = ${backing.quorum}`);
  }
  for (const did of distinct) {
    const who = context.history.nodeOf(did);
    if (!context.verifiers.has(did)) problems.push(`${who} is not an active verifier`);
    else if (!backing.members.includes(did)) problems.push(`${who} is not on the committee`);
    else if (!backing.voted.has(did)) problems.push(`${who} never voted for it`);
  }
  if (backing.pinned) problems.push(...diversityProblems(context, backing.members));
  if (problems.length === 0) return;
  findings.add({
    message: `${event.node} accepted the ${backing.what}: ${problems.join("; ")}`,
    needId: event.message.thread,
    evidence: [event.seq],
  });
}

/** Caps a committee breaks, with the run's participants' organisations, ASes and regions. */
function diversityProblems(context: CheckContext, members: readonly string[]): string[] {
  const caps = context.params.economics;
  const problems: string[] = [];
  for (const dimension of ["org", "asn", "region", "entity"] as const) {
    const counts = new Map<string, number>();
    for (const did of members) {
      const value = context.participants.get(did)?.[dimension] ?? did;
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    const allowed = membersAllowed(dimension, members.length, caps);
    for (const [value, count] of counts) {
      if (count > allowed) {
        problems.push(
          `${count} of ${members.length} committee members share ${dimension} ${value}`,
        );
      }
    }
  }
  return problems;
}

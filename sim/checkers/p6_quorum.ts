/**
 * P6, quorum validity. Every DECIDE a node accepted names at least K_plan
 * distinct approvers, and every FINALIZE at least K_result distinct
 * attesters, where K is recomputed here from the parameters and the active
 * verifier set (not taken from the message); each of them is an active
 * (staked) verifier on the subject's committee and actually sent that
 * approving vote or passing attestation.
 *
 * @module
 */

import type { DecideRecord } from "../../runtime/store/decide_log.ts";
import { committeeFor } from "../../protocols/committee.ts";
import { planQuorum, resultQuorum } from "../../protocols/consensus/quorum.ts";
import type { LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import type { AcceptedEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** The P6 checker. */
export const P6_QUORUM: Checker = {
  id: "P6",
  name: "quorum validity",
  description:
    "Every DECIDE and FINALIZE is backed by >= K distinct, active committee members who voted for it.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const { params, verifiers, scenario } = context;
    const kPlan = planQuorum(verifiers.size, scenario.bootstrap, params);
    const kResult = resultQuorum(verifiers.size, scenario.bootstrap, params);
    const votes = collectVotes(context.history.ofType("accepted"));
    const seen = new Set<string>();
    for (const event of context.history.ofType("accepted")) {
      const { message } = event;
      if (seen.has(message.id)) continue;
      if (message.kind === "DECIDE") {
        seen.add(message.id);
        const decision = message.payload as DecideRecord & { approvers: readonly string[] };
        const members = committeeFor(
          "plan",
          decision.needId,
          verifiers,
          params,
          scenario.bootstrap,
        );
        checkBackers(context, findings, event, {
          what: `DECIDE of ${decision.needId}`,
          backers: decision.approvers,
          quorum: kPlan,
          members,
          voted: votes.get(`plan\u0000${decision.proposalId}`) ?? new Set(),
        });
      } else if (message.kind === "FINALIZE") {
        seen.add(message.id);
        const finalize = (message as LifecycleMessage<"FINALIZE">).payload;
        const members = committeeFor(
          "result",
          finalize.taskId,
          verifiers,
          params,
          scenario.bootstrap,
        );
        checkBackers(context, findings, event, {
          what: `FINALIZE of ${finalize.taskId}`,
          backers: finalize.attesters,
          quorum: kResult,
          members,
          voted: votes.get(`result\u0000${finalize.commitId}`) ?? new Set(),
        });
      }
    }
    return findings.result(
      "nothing was decided or finalized",
      `K_plan ${kPlan}, K_result ${kResult}`,
    );
  },
};

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
  if (problems.length === 0) return;
  findings.add({
    message: `${event.node} accepted the ${backing.what}: ${problems.join("; ")}`,
    needId: event.message.thread,
    evidence: [event.seq],
  });
}

/**
 * P3, challenge safety. Ground truth comes from re-running each task
 * (`protocols/work.ts` is deterministic): a commit is valid when its digest
 * is the task's. No valid result is invalidated (an upheld challenge always
 * names an invalid commit); every upheld challenge slashes the commit's
 * attesters and reopens the task for a larger committee; and no commit a
 * challenge invalidated is ever finalized. It also reports how many invalid
 * results reached FINAL unchallenged (what the challengers missed).
 *
 * @module
 */

import type { LifecycleMessage, TaskSpec } from "../../protocols/lifecycle/payloads.ts";
import { runWork } from "../../protocols/work.ts";
import type { AcceptedEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

interface CommitFacts {
  readonly taskId: string;
  readonly needId: string;
  readonly valid: boolean;
  readonly seq: number;
}

interface Ruling {
  readonly target?: string;
  readonly verdict?: string;
  readonly commitId?: string;
  readonly challengeId?: string;
  readonly committee?: readonly string[];
  readonly slashes?: readonly unknown[];
}

/** The P3 checker. */
export const P3_CHALLENGES: Checker = {
  id: "P3",
  name: "challenge safety",
  description:
    "Upheld challenges hit only invalid results, slash and reopen; an invalidated result is never final.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const accepted = context.history.ofType("accepted");
    const commits = commitFacts(accepted);
    const invalidated = new Map<string, AcceptedEvent>();
    const ruled = new Set<string>();
    for (const event of accepted) {
      if ((event.message.kind as string) !== "INVALIDATE") continue;
      const ruling = event.message.payload as Ruling;
      if (ruling.target !== "CHALLENGE" || ruling.challengeId === undefined) continue;
      if (ruled.has(ruling.challengeId)) continue;
      ruled.add(ruling.challengeId);
      findings.checked++;
      if (ruling.verdict === "UPHELD") checkUpheld(event, ruling, commits, findings, invalidated);
    }
    const finalized = new Set<string>();
    for (const event of accepted) {
      if (event.message.kind !== "FINALIZE") continue;
      const { commitId } = (event.message as LifecycleMessage<"FINALIZE">).payload;
      finalized.add(commitId);
      const upheld = invalidated.get(commitId);
      if (upheld === undefined) continue;
      findings.add({
        message: `${event.node} accepted a FINALIZE of commit ${commitId}, which an upheld ` +
          `challenge invalidated`,
        needId: event.message.thread,
        evidence: [upheld.seq, event.seq],
      });
    }
    const missed = [...finalized].filter((id) => commits.get(id)?.valid === false).length;
    const note = `${ruled.size} challenges ruled, ${invalidated.size} upheld; ` +
      `${missed} invalid results finalized unchallenged`;
    return findings.result(
      `no challenges were ruled on; ${missed} invalid results finalized`,
      note,
    );
  },
};

function checkUpheld(
  event: AcceptedEvent,
  ruling: Ruling,
  commits: ReadonlyMap<string, CommitFacts>,
  findings: Findings,
  invalidated: Map<string, AcceptedEvent>,
): void {
  const commitId = String(ruling.commitId);
  const facts = commits.get(commitId);
  if (!invalidated.has(commitId)) invalidated.set(commitId, event);
  const problems: string[] = [];
  if (facts?.valid === true) problems.push("the commit was a valid result");
  if ((ruling.slashes ?? []).length === 0) problems.push("nobody was slashed");
  if ((ruling.committee ?? []).length === 0) problems.push("the task was not reopened");
  if (problems.length === 0) return;
  findings.add({
    message: `Challenge ${ruling.challengeId} on commit ${commitId} was upheld but ` +
      problems.join(", "),
    needId: event.message.thread,
    evidence: facts === undefined ? [event.seq] : [facts.seq, event.seq],
  });
}

/** Each commit and whether re-running its task reproduces its digest. */
function commitFacts(accepted: readonly AcceptedEvent[]): Map<string, CommitFacts> {
  const specs = new Map<string, TaskSpec>();
  const facts = new Map<string, CommitFacts>();
  for (const event of accepted) {
    const { message } = event;
    if (message.kind === "PROPOSE") {
      for (const op of (message as LifecycleMessage<"PROPOSE">).payload.patch) {
        if (op.op === "ADD_TASK") specs.set(op.taskId, op.spec);
      }
    } else if (message.kind === "COMMIT" && !facts.has(message.id)) {
      const commit = (message as LifecycleMessage<"COMMIT">).payload;
      const spec = specs.get(commit.taskId);
      if (spec === undefined) continue;
      facts.set(message.id, {
        taskId: commit.taskId,
        needId: commit.needId,
        valid: safeDigest(spec) === commit.outputDigest,
        seq: event.seq,
      });
    }
  }
  return facts;
}

function safeDigest(spec: TaskSpec): string | undefined {
  try {
    return runWork(spec).digest;
  } catch {
    return undefined;
  }
}

/**
 * P3, challenge safety. Ground truth comes from re-running each task
 * (`protocols/work.ts` is deterministic): a commit is valid when its digest
 * is the task's. Every INVALIDATE must hit an invalid commit (no valid
 * result is invalidated), and every invalid, finalized commit that was
 * challenged must be invalidated (which slashes its attesters and reopens
 * the task). Runs once challenges exist in the history (the economics
 * layer); until then it reports how many invalid results were finalized.
 *
 * @module
 */

import type { LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import type { TaskSpec } from "../../protocols/lifecycle/payloads.ts";
import { runWork } from "../../protocols/work.ts";
import type { AcceptedEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

interface CommitFacts {
  readonly taskId: string;
  readonly needId: string;
  readonly valid: boolean;
  readonly seq: number;
}

/** The P3 checker. */
export const P3_CHALLENGES: Checker = {
  id: "P3",
  name: "challenge safety",
  description:
    "Challenged invalid FINALIZEs are invalidated (slashed, reopened); no valid result is invalidated.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const accepted = context.history.ofType("accepted");
    const commits = commitFacts(accepted);
    const finalized = new Set<string>();
    const challenged = new Map<string, AcceptedEvent>();
    const invalidated = new Set<string>();
    for (const event of accepted) {
      const kind = event.message.kind as string;
      const payload = event.message.payload as { commitId?: string };
      if (kind === "FINALIZE") finalized.add(String(payload.commitId));
      if (kind === "CHALLENGE" && typeof payload.commitId === "string") {
        challenged.set(payload.commitId, event);
      }
      if (kind !== "INVALIDATE" || typeof payload.commitId !== "string") continue;
      invalidated.add(payload.commitId);
      findings.checked++;
      if (commits.get(payload.commitId)?.valid !== true) continue;
      findings.add({
        message:
          `${event.node} accepted an INVALIDATE of commit ${payload.commitId}, a valid result`,
        needId: event.message.thread,
        evidence: [event.seq],
      });
    }
    for (const [commitId, challenge] of challenged) {
      const facts = commits.get(commitId);
      if (facts === undefined || facts.valid || !finalized.has(commitId)) continue;
      findings.checked++;
      if (invalidated.has(commitId)) continue;
      findings.add({
        message: `Invalid commit ${commitId} of ${facts.taskId} was finalized and challenged, ` +
          `but never invalidated`,
        needId: facts.needId,
        evidence: [facts.seq, challenge.seq],
      });
    }
    const invalidFinal = [...finalized].filter((id) => commits.get(id)?.valid === false).length;
    return findings.result(
      `no challenges yet (economics not enabled); ${invalidFinal} invalid results finalized`,
      `${invalidFinal} invalid results finalized`,
    );
  },
};

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
      const valid = safeDigest(spec) === commit.outputDigest;
      facts.set(message.id, {
        taskId: commit.taskId,
        needId: commit.needId,
        valid,
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

/**
 * The verifier: votes on plans and attests results, when it sits on the
 * committee. A plan passes if its tasks are known operations within the
 * NEED's budget. A result passes if its artifact is in the content store,
 * hashes to the committed digest, and re-running the task gives the same
 * digest (so a wrong output is caught, OUTPUT_MISMATCH).
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import { type ContentStore } from "../runtime/store/content_store.ts";
import { committeeFor } from "../protocols/committee.ts";
import type { CommitState, TaskState, ThreadState } from "../protocols/lifecycle/state.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { checkTaskSpec, runWork, sha256Hex } from "../protocols/work.ts";
import { CID } from "multiformats/cid";
import type { CoreMessage, RoleEvent } from "./swarm_messages.ts";

/** Settings of a verifier. */
export interface VerifierConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly did: string;
  readonly verifiers: ReadonlySet<string>;
  readonly params: SwarmParams;
  readonly cas: ContentStore;
  /** Policy capsule hash, mixed into evaluation digests. */
  readonly policyHash: string;
  /** Test hook: approve everything without checking (a byzantine verifier). */
  readonly approveEverything?: boolean;
}

type VerifierMessage = RoleEvent | {
  readonly type: "checked";
  readonly thread: ThreadState;
  readonly taskId: string;
  readonly commitId: string;
  readonly pass: boolean;
  /** Set once BUGGIFY slowed this check down. */
  readonly slowed?: boolean;
};

/** Makes a verifier behaviour. */
export function verifier(config: VerifierConfig): Behavior<VerifierMessage> {
  let bootstrap = true;
  const onCommittee = (kind: "plan" | "result", subject: string) =>
    committeeFor(kind, subject, config.verifiers, config.params, bootstrap).includes(config.did);
  return {
    preStart(ctx) {
      config.core.tell({ type: "watch", role: ctx.self as ActorRef<RoleEvent> });
    },
    receive(ctx, message) {
      if (message.type === "checked") {
        if (message.slowed !== true && ctx.buggify("verifier.slow-check")) {
          // Rare path: a re-run takes seconds; the result quorum must wait or do without it.
          return void ctx.schedule(ctx.random() * 5_000, { ...message, slowed: true });
        }
        return attest(config, message);
      }
      if (message.type === "core-ready" || message.type === "bootstrap") {
        bootstrap = message.bootstrap;
        return;
      }
      if (message.type !== "effect") return;
      const { effect, thread } = message;
      if (effect.type === "proposal-received" && onCommittee("plan", effect.needId)) {
        return votePlan(config, thread, effect.proposalId);
      }
      if (effect.type === "commit-received" && onCommittee("result", effect.taskId)) {
        const task = thread.tasks.get(effect.taskId) as TaskState;
        const commit = task.commits.get(effect.commitId) as CommitState;
        checkCommit(ctx, config, thread, task, commit);
      }
    },
  };

  function votePlan(config: VerifierConfig, thread: ThreadState, proposalId: string): void {
    const proposal = thread.proposals.get(proposalId);
    if (proposal === undefined) return;
    const sound = config.approveEverything === true || (proposal.cost <= thread.need.budget &&
      proposal.patch.every((op) => op.op !== "ADD_TASK" || isRunnable(op.spec)));
    config.core.tell({
      type: "emit",
      kind: "ATTEST_PLAN",
      thread: thread.needId,
      payload: { needId: thread.needId, proposalId, verdict: sound ? "approve" : "reject" },
    });
  }
}

function isRunnable(spec: Parameters<typeof checkTaskSpec>[0]): boolean {
  try {
    checkTaskSpec(spec);
    return true;
  } catch {
    return false;
  }
}

/** Fetches the artifact and re-runs the task, off the actor's turn; the verdict comes back as a message. */
function checkCommit(
  ctx: ActorContext<VerifierMessage>,
  config: VerifierConfig,
  thread: ThreadState,
  task: TaskState,
  commit: CommitState,
): void {
  const verdict = config.approveEverything
    ? Promise.resolve(true)
    : resultHolds(config.cas, task, commit);
  ctx.pipeToSelf(verdict, (result) => ({
    type: "checked",
    thread,
    taskId: task.taskId,
    commitId: commit.commitId,
    pass: result.ok && result.value,
  }));
}

async function resultHolds(
  cas: ContentStore,
  task: TaskState,
  commit: CommitState,
): Promise<boolean> {
  if (commit.artifacts.length === 0) return false;
  let cid: CID;
  try {
    cid = CID.parse(commit.artifacts[0]);
  } catch {
    return false;
  }
  const bytes = await cas.get(cid);
  if (bytes === undefined) return false;
  const output = new TextDecoder().decode(bytes);
  if (sha256Hex(output) !== commit.outputDigest) return false;
  return isRunnable(task.spec) && runWork(task.spec).digest === commit.outputDigest;
}

function attest(
  config: VerifierConfig,
  checked: Extract<VerifierMessage, { type: "checked" }>,
): void {
  const verdict = checked.pass ? "pass" : "fail";
  config.core.tell({
    type: "emit",
    kind: "ATTEST",
    thread: checked.thread.needId,
    payload: {
      needId: checked.thread.needId,
      taskId: checked.taskId,
      commitId: checked.commitId,
      verdict,
      evalDigest: sha256Hex(`${checked.commitId}|${verdict}|${config.policyHash}`),
    },
  });
}

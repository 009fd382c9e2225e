/**
 * COMMIT, ATTEST and FINALIZE: from a worker's result to a final one. A
 * commit needs the live lease and an artifact; K_result passing attestations
 * from the task's committee verify it and open the challenge window; once
 * the window has passed, FINALIZE makes it final. K_result failing
 * attestations, or enough that K_result passes are out of reach, reject the
 * commit and reopen the task.
 *
 * @module
 */

import { addVote, EMPTY_TALLY } from "../consensus/quorum.ts";
import { committeeSize } from "../committee.ts";
import { ProtocolError } from "./errors.ts";
import type { LifecycleMessage } from "./payloads.ts";
import { requireThread } from "./plan.ts";
import { leaseLapsed, requireHolder, requireKnownLease, requireTask } from "./lease.ts";
import { requireCommit } from "./lease_drop.ts";
import {
  type CommitState,
  type Effect,
  happenedAtMs,
  type LifecycleView,
  resultCommitteeOf,
  type TaskState,
  type ThreadState,
  type Transition,
  withTask,
} from "./state.ts";

/** COMMIT: the lease holder submits its result. */
export function onCommit(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"COMMIT">,
  view: LifecycleView,
): Transition {
  const commit = message.payload;
  const current = requireThread(thread, commit.needId);
  const task = requireTask(current, commit.taskId);
  requireKnownLease(task, commit.leaseId);
  if (task.status !== "CLAIMED") {
    throw new ProtocolError(
      "E_BAD_STATE",
      `COMMIT for ${commit.taskId} needs a CLAIMED task, it is ${task.status}`,
    );
  }
  const lease = requireHolder(task, commit.leaseId, message.sender);
  if (leaseLapsed(lease, message, view)) {
    throw new ProtocolError(
      "E_LEASE_EXPIRED",
      `COMMIT under lease ${lease.leaseId} that expired at ${lease.expiresAtMs}`,
    );
  }
  if (commit.artifacts.length === 0) {
    throw new ProtocolError("E_NO_ARTIFACT", `COMMIT for ${commit.taskId} names no artifact`);
  }
  const state: CommitState = {
    commitId: message.id,
    worker: message.sender,
    leaseId: commit.leaseId,
    artifacts: commit.artifacts,
    outputDigest: commit.outputDigest,
    telemetry: commit.telemetry,
    verifyBounty: commit.verifyBounty,
    tally: EMPTY_TALLY,
    committedAtMs: view.nowMs,
    ...(task.upholds === undefined ? {} : { round: task.upholds }),
  };
  const commits = new Map(task.commits).set(message.id, state);
  return {
    thread: withTask(current, { ...task, status: "COMMITTED", commits }),
    effects: [
      {
        type: "lease-ended",
        needId: commit.needId,
        taskId: commit.taskId,
        leaseId: commit.leaseId,
      },
      {
        type: "commit-received",
        needId: commit.needId,
        taskId: commit.taskId,
        commitId: message.id,
      },
    ],
  };
}

/** ATTEST: a committee member's verdict on a commit. */
export function onAttest(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"ATTEST">,
  view: LifecycleView,
): Transition {
  const attest = message.payload;
  const current = requireThread(thread, attest.needId);
  const task = requireTask(current, attest.taskId);
  const commit = requireCommit(task, attest.commitId);
  if (task.status === "FINAL") {
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `ATTEST for ${attest.taskId} arrived after it was finalised`,
    );
  }
  if (commit.invalidated === true) {
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `ATTEST for ${attest.commitId}, which a challenge invalidated`,
    );
  }
  if ((commit.round ?? 0) !== (task.upholds ?? 0)) {
    // Made before an upheld challenge reopened the task for a new committee: it can no longer
    // count, and its committee was the one before, so its votes are late, not from outsiders.
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `ATTEST for ${attest.commitId}, made before ${attest.taskId} went to a new committee`,
    );
  }
  const pinned = resultCommitteeOf(current, task);
  const member = pinned !== undefined
    ? pinned.includes(message.sender)
    : view.isResultCommitteeMember?.(attest.taskId, message.sender) ??
      view.activeVerifiers.has(message.sender);
  if (!member) {
    throw new ProtocolError(
      "E_NOT_COMMITTEE_MEMBER",
      `${message.sender} is not on the committee of ${attest.taskId}`,
    );
  }
  // A worker on the committee of its own task leaves its result to the others when
  // they can make the quorum without it (then only they count as voters).
  const voters = resultVoters(current, task, commit, view);
  if (message.sender === commit.worker && voters.excludesWorker) {
    throw new ProtocolError(
      "E_OWN_RESULT",
      `${message.sender} attested its own commit ${attest.commitId}`,
    );
  }
  const pass = attest.verdict === "pass";
  const vote = addVote(commit.tally, message.sender, pass, task.kResult);
  if (!vote.counted) {
    throw new ProtocolError(
      "E_DUPLICATE_VOTE",
      `${message.sender} already attested ${attest.commitId}`,
    );
  }
  const commits = new Map(task.commits).set(commit.commitId, { ...commit, tally: vote.tally });
  const updated: TaskState = { ...task, commits };
  const attested: Effect = {
    type: "attested",
    needId: attest.needId,
    taskId: attest.taskId,
    commitId: commit.commitId,
    attester: message.sender,
    pass,
    evalDigest: attest.evalDigest,
  };
  // Only votes on the task's latest commit move it: a late vote on a rejected earlier commit
  // must not reopen (or verify) the task under the commit that replaced it.
  const latest = [...task.commits.keys()].at(-1) === commit.commitId;
  if (vote.completedQuorum && task.status === "COMMITTED" && latest) {
    // The window runs from when the quorum's last vote was made: a node rebuilding the thread from
    // a peer's archive must not open it again (and hold its FINALIZE back, or admit late challenges).
    const finalizeAfterMs = happenedAtMs(message, view) + view.params.challengeWindowMs;
    return {
      thread: withTask(current, {
        ...updated,
        status: "VERIFIED",
        verifiedCommit: commit.commitId,
        finalizeAfterMs,
      }),
      effects: [attested, {
        type: "result-quorum",
        needId: attest.needId,
        taskId: attest.taskId,
        commitId: commit.commitId,
        finalizeAfterMs,
      }],
    };
  }
  // Rejected once the approvals can no longer reach the quorum (with a committee of
  // quorum plus a spare, two rejections settle it): a byzantine approver among the
  // voters must not leave the commit hanging between the two outcomes. Only then: with
  // K = 1 and two voters, one rejection and one approval would otherwise each settle it,
  // and nodes that heard them in different orders would part ways for good (some
  // VERIFIED and then FINAL, some with the task reopened, refusing the FINALIZE).
  const hopeless = vote.tally.rejections.length > Math.max(0, voters.count - task.kResult);
  const rejected = !pass && hopeless && task.status === "COMMITTED" && latest;
  if (rejected) {
    const marked = new Map(commits).set(commit.commitId, {
      ...commit,
      tally: vote.tally,
      rejected: true,
    });
    const reopened = reopenRejected(current, { ...updated, commits: marked }, attest.needId);
    return { thread: reopened.thread, effects: [attested, ...reopened.effects] };
  }
  return { thread: withTask(current, updated), effects: [attested] };
}

/**
 * Who votes on a commit: the task's committee, less the committing worker when the
 * others can make the quorum without it.
 */
function resultVoters(
  thread: ThreadState,
  task: TaskState,
  commit: CommitState,
  view: LifecycleView,
): { readonly count: number; readonly excludesWorker: boolean } {
  const pinned = resultCommitteeOf(thread, task);
  let members: number;
  let workerMember: boolean;
  if (pinned !== undefined) {
    members = pinned.length;
    workerMember = pinned.includes(commit.worker);
  } else {
    const drawn = view.isResultCommitteeMember !== undefined;
    members = drawn
      ? committeeSize(task.kResult, view.activeVerifiers.size)
      : view.activeVerifiers.size;
    workerMember = view.isResultCommitteeMember?.(task.taskId, commit.worker) ??
      view.activeVerifiers.has(commit.worker);
  }
  const others = workerMember ? members - 1 : members;
  const excludesWorker = workerMember && others >= task.kResult;
  return { count: excludesWorker ? others : members, excludesWorker };
}

/** FINALIZE: after the challenge window, the verified commit becomes the task's result. */
export function onFinalize(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"FINALIZE">,
  view: LifecycleView,
): Transition {
  const finalize = message.payload;
  const current = requireThread(thread, finalize.needId);
  const task = requireTask(current, finalize.taskId);
  if (task.status === "FINAL" && task.verifiedCommit === finalize.commitId) {
    return { thread: current, effects: [] };
  }
  const commit = requireCommit(task, finalize.commitId);
  if (task.status !== "VERIFIED" || task.verifiedCommit !== finalize.commitId) {
    const code = task.status === "COMMITTED" ? "E_AWAITING_VOTES" : "E_BAD_STATE";
    throw new ProtocolError(
      code,
      `FINALIZE for ${finalize.taskId} needs its commit verified, task is ${task.status}`,
    );
  }
  const afterMs = task.finalizeAfterMs as number;
  if (view.nowMs < afterMs) {
    throw new ProtocolError(
      "E_WINDOW_OPEN",
      `FINALIZE for ${finalize.taskId} before the challenge window closes`,
      afterMs,
    );
  }
  checkAttesters(finalize.attesters, finalize.kResult, task, commit);
  const finalTask: TaskState = {
    ...task,
    status: "FINAL",
    finalAttesters: finalize.attesters,
  };
  const next = withTask(current, finalTask);
  const effects: Effect[] = [{
    type: "task-final",
    needId: finalize.needId,
    taskId: finalize.taskId,
    commitId: finalize.commitId,
  }];
  for (const other of next.tasks.values()) {
    if (
      other.status === "DECIDED" && other.requires.includes(finalize.taskId) &&
      other.requires.every((required) => next.tasks.get(required)?.status === "FINAL")
    ) {
      effects.push({ type: "task-ready", needId: finalize.needId, taskId: other.taskId });
    }
  }
  const allFinal = [...next.tasks.values()].every((each) => each.status === "FINAL");
  if (!allFinal) return { thread: next, effects };
  effects.push({ type: "need-final", needId: finalize.needId });
  return { thread: { ...next, phase: "FINAL" }, effects };
}

function checkAttesters(
  attesters: readonly string[],
  kResult: number,
  task: TaskState,
  commit: CommitState,
): void {
  const distinct = new Set(attesters);
  if (distinct.size !== attesters.length || kResult < task.kResult || distinct.size < kResult) {
    throw new ProtocolError(
      "E_NO_QUORUM",
      `FINALIZE lists ${distinct.size} distinct attesters, needs ${task.kResult}`,
    );
  }
  const unseen = attesters.filter((attester) => !commit.tally.approvals.includes(attester));
  if (unseen.length > 0) {
    throw new ProtocolError(
      "E_AWAITING_VOTES",
      `FINALIZE cites ${unseen.length} attestations not seen yet`,
    );
  }
}

function reopenRejected(thread: ThreadState, task: TaskState, needId: string): Transition {
  return {
    thread: withTask(thread, { ...task, status: "DRAFT", lease: undefined }),
    effects: [{ type: "task-ready", needId, taskId: task.taskId }],
  };
}

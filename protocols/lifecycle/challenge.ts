/**
 * CHALLENGE and INVALIDATE: disputing a result, and the decider's rulings.
 *
 * A CHALLENGE names a commit, a typed proof, evidence by CID (at most 10 KB)
 * and the bond its proof type and the NEED's class require. Every node can
 * check those facts alone and agrees on them; whether the challenge came
 * inside the window and within the challenger's rate depends on timing, so
 * the challenger's own node refuses it then (`origin: "local"`) and the
 * decider rules on it for everyone else. The decider settles each challenge
 * with one INVALIDATE: UPHELD invalidates the commit and reopens the task
 * for a larger committee; any other verdict invalidates the challenge. An
 * UPHELD ruling against a result already FINAL (and paid) is refused: the
 * result stands, and the unruled bond is refunded later.
 *
 * INVALIDATE of a NEED expires it once its deadline has passed, so every
 * node refunds the escrow on the same message rather than on its own clock.
 *
 * @module
 */

import { CID } from "multiformats/cid";
import { challengeBond } from "../economics/bonds.ts";
import { checkCommittee } from "./_checks.ts";
import { ProtocolError } from "./errors.ts";
import {
  type InvalidateChallengePayload,
  type LifecycleMessage,
  PAYLOAD_LIST_MAX,
} from "./payloads.ts";
import { requireThread } from "./plan.ts";
import { requireTask } from "./lease.ts";
import { requireCommit } from "./lease_drop.ts";
import {
  type ChallengeState,
  type CommitState,
  type Effect,
  happenedAtMs,
  type LifecycleView,
  requirementsMet,
  type TaskState,
  type ThreadState,
  type Transition,
  withTask,
} from "./state.ts";

/** CHALLENGE: opens a bonded challenge, or asks to withdraw one. */
export function onChallenge(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"CHALLENGE">,
  view: LifecycleView,
): Transition {
  const challenge = message.payload;
  const current = requireThread(thread, challenge.needId);
  const task = requireTask(current, challenge.taskId);
  const commit = requireCommit(task, challenge.commitId);
  const challenges = current.challenges ?? new Map<string, ChallengeState>();
  if (challenges.has(message.id)) {
    // A repeat: taken again, it would escrow its bond twice and reopen a ruled challenge.
    throw new ProtocolError("E_OUT_OF_WINDOW", `CHALLENGE ${message.id} was taken already`);
  }
  if (challenge.withdraws !== undefined) return withdraw(current, message, challenges);
  if (message.sender === commit.worker) {
    throw new ProtocolError(
      "E_SELF_CHALLENGE",
      `${message.sender} cannot challenge its own commit ${commit.commitId}`,
    );
  }
  checkEvidence(challenge, view);
  const bond = challengeBond(
    challenge.proofType,
    current.need.bountyClass ?? "SIMPLE",
    view.params.economics,
  );
  if (Math.abs(challenge.bond - bond) > 1e-9) {
    throw new ProtocolError(
      "E_CHALLENGE_BOND",
      `CHALLENGE of type ${challenge.proofType} must bond ${bond}, got ${challenge.bond}`,
    );
  }
  if (challenges.size >= PAYLOAD_LIST_MAX) {
    throw new ProtocolError(
      "E_CHALLENGE_RATE",
      `NEED ${current.needId} already has ${challenges.size} challenges`,
    );
  }
  if (view.origin === "local") checkLocalWindow(task, commit, challenges, message.sender, view);
  const state: ChallengeState = {
    challengeId: message.id,
    challenger: message.sender,
    taskId: challenge.taskId,
    commitId: challenge.commitId,
    proofType: challenge.proofType,
    evidence: challenge.evidence,
    evidenceBytes: challenge.evidenceBytes,
    bond,
    openedAtMs: happenedAtMs(message, view), // a replayed challenge was opened when it was made
    withdrawRequested: false,
    verdict: undefined,
    code: undefined,
  };
  return {
    thread: { ...current, challenges: new Map(challenges).set(message.id, state) },
    effects: [{
      type: "challenge-opened",
      needId: current.needId,
      taskId: challenge.taskId,
      challengeId: message.id,
    }],
  };
}

/** The view a ruling is judged under: whether the node core confirmed its sender's fence. */
type RulingView = LifecycleView & { readonly decisionConfirmed?: boolean };

/**
 * Whether the sender of an INVALIDATE may rule on a decided NEED: the
 * decider that decided it, or (after a failover) a node the decide log
 * names as the holder of the bucket's newest fence, which the node core
 * confirmed before applying (`decisionConfirmed`).
 */
function mayRule(
  thread: ThreadState,
  message: LifecycleMessage<"INVALIDATE">,
  view: RulingView,
): boolean {
  return message.sender === thread.decision?.decider || view.decisionConfirmed === true;
}

/** INVALIDATE: the decider's ruling on a challenge, or the expiry of a NEED. */
export function onInvalidate(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"INVALIDATE">,
  view: RulingView,
): Transition {
  const ruling = message.payload;
  if (thread === undefined) {
    throw new ProtocolError("E_UNKNOWN_NEED", `NEED ${ruling.needId} is unknown`);
  }
  if (ruling.target === "NEED") return expireNeed(thread, message, view);
  if (thread.decision === undefined) {
    // Rulings follow the DECIDE (and the challenge) in causal order; a sync can deliver them
    // before this node confirmed its DECIDE, so this is "not yet", not "never".
    throw new ProtocolError(
      "E_UNKNOWN_CHALLENGE",
      `INVALIDATE for ${ruling.needId} before its DECIDE`,
    );
  }
  if (!mayRule(thread, message, view)) {
    throw new ProtocolError(
      "E_NOT_DECIDER",
      `INVALIDATE for ${ruling.needId} signed by ${message.sender}, not its decider`,
    );
  }
  const challenge = thread.challenges?.get(ruling.challengeId);
  if (challenge === undefined) {
    throw new ProtocolError(
      "E_UNKNOWN_CHALLENGE",
      `Challenge ${ruling.challengeId} is unknown`,
    );
  }
  if (challenge.verdict !== undefined) {
    throw new ProtocolError(
      "E_CHALLENGE_RESOLVED",
      `Challenge ${ruling.challengeId} was already ${challenge.verdict}`,
    );
  }
  if (challenge.taskId !== ruling.taskId || challenge.commitId !== ruling.commitId) {
    throw new ProtocolError(
      "E_PAYLOAD",
      `INVALIDATE of ${ruling.challengeId} names another task or commit than the challenge`,
    );
  }
  const task = requireTask(thread, ruling.taskId);
  if (
    ruling.verdict === "UPHELD" && task.status === "FINAL" &&
    task.verifiedCommit === ruling.commitId
  ) {
    // The result is final and paid: it stands. Left unruled here, the bond goes back to the
    // challenger when unruled challenges are refunded (`Economy.sweep`).
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `INVALIDATE upholds ${ruling.challengeId} against ${ruling.commitId}, the final result of ${ruling.taskId}`,
    );
  }
  checkVotesSeen(ruling, task);
  const resolved: ChallengeState = { ...challenge, verdict: ruling.verdict, code: ruling.code };
  const next: ThreadState = {
    ...thread,
    challenges: new Map(thread.challenges).set(challenge.challengeId, resolved),
  };
  const effects: Effect[] = [{
    type: "challenge-resolved",
    needId: thread.needId,
    taskId: ruling.taskId,
    challengeId: ruling.challengeId,
    verdict: ruling.verdict,
  }];
  if (ruling.verdict !== "UPHELD") return { thread: next, effects };
  return invalidateCommit(next, ruling, view, effects);
}

/** Marks the commit invalid and, while the NEED is open, reopens its task for a larger committee. */
function invalidateCommit(
  thread: ThreadState,
  ruling: InvalidateChallengePayload,
  view: LifecycleView,
  effects: Effect[],
): Transition {
  const task = requireTask(thread, ruling.taskId);
  const commit = task.commits.get(ruling.commitId) as CommitState;
  checkSlashes(ruling, task, commit, view.activeVerifiers);
  const committee = checkCommittee(ruling.committee, view, `INVALIDATE of ${ruling.challengeId}`);
  if (ruling.kResult < 1 || ruling.kResult > committee.length) {
    throw new ProtocolError(
      "E_COMMITTEE_INVALID",
      `INVALIDATE asks K_result ${ruling.kResult} of a committee of ${committee.length}`,
    );
  }
  const commits = new Map(task.commits).set(commit.commitId, { ...commit, invalidated: true });
  const reopen = thread.phase !== "FINAL" && thread.phase !== "EXPIRED" &&
    task.status === "VERIFIED" && task.verifiedCommit === commit.commitId;
  if (!reopen) return { thread: withTask(thread, { ...task, commits }), effects };
  const reopened: TaskState = {
    ...task,
    commits,
    status: "DRAFT",
    lease: undefined,
    verifiedCommit: undefined,
    finalizeAfterMs: undefined,
    kResult: ruling.kResult,
    kResultRaise: task.kResultRaise + 2,
    committee,
    upholds: (task.upholds ?? 0) + 1,
  };
  const next = withTask(thread, reopened);
  if (requirementsMet(next, reopened)) {
    effects.push({ type: "task-ready", needId: thread.needId, taskId: task.taskId });
  }
  return { thread: next, effects };
}

function expireNeed(
  thread: ThreadState,
  message: LifecycleMessage<"INVALIDATE">,
  view: RulingView,
): Transition {
  if (thread.phase === "EXPIRED") return { thread, effects: [] };
  if (thread.phase === "FINAL") {
    throw new ProtocolError("E_BAD_STATE", `NEED ${thread.needId} is final; it cannot expire`);
  }
  if (thread.decision !== undefined && !mayRule(thread, message, view)) {
    throw new ProtocolError(
      "E_NOT_DECIDER",
      `INVALIDATE of NEED ${thread.needId} signed by ${message.sender}, not its decider`,
    );
  }
  if (view.nowMs < thread.need.deadlineMs) {
    throw new ProtocolError(
      "E_WINDOW_OPEN",
      `INVALIDATE of NEED ${thread.needId} before its deadline ${thread.need.deadlineMs}`,
      thread.need.deadlineMs,
    );
  }
  return {
    thread: { ...thread, phase: "EXPIRED" },
    effects: [{ type: "need-expired", needId: thread.needId }],
  };
}

function withdraw(
  thread: ThreadState,
  message: LifecycleMessage<"CHALLENGE">,
  challenges: ReadonlyMap<string, ChallengeState>,
): Transition {
  const request = message.payload;
  const target = challenges.get(request.withdraws as string);
  if (target === undefined) {
    throw new ProtocolError("E_UNKNOWN_CHALLENGE", `Challenge ${request.withdraws} is unknown`);
  }
  if (target.challenger !== message.sender) {
    throw new ProtocolError(
      "E_NOT_CHALLENGER",
      `${message.sender} cannot withdraw ${target.challengeId}, opened by ${target.challenger}`,
    );
  }
  if (target.verdict !== undefined || target.withdrawRequested) {
    throw new ProtocolError(
      "E_CHALLENGE_RESOLVED",
      `Challenge ${target.challengeId} is already ${target.verdict ?? "being withdrawn"}`,
    );
  }
  if (target.taskId !== request.taskId || target.commitId !== request.commitId) {
    throw new ProtocolError(
      "E_PAYLOAD",
      `Withdrawal of ${target.challengeId} names another task or commit`,
    );
  }
  const updated = { ...target, withdrawRequested: true };
  return {
    thread: { ...thread, challenges: new Map(challenges).set(target.challengeId, updated) },
    effects: [{
      type: "challenge-withdrawn",
      needId: thread.needId,
      taskId: target.taskId,
      challengeId: target.challengeId,
    }],
  };
}

function checkEvidence(
  challenge: LifecycleMessage<"CHALLENGE">["payload"],
  view: LifecycleView,
): void {
  try {
    CID.parse(challenge.evidence);
  } catch {
    throw new ProtocolError(
      "E_PROOF_MALFORMED",
      `CHALLENGE evidence must be a CID, got ${JSON.stringify(challenge.evidence.slice(0, 40))}`,
    );
  }
  const limit = view.params.economics.evidenceBytesMax;
  if (challenge.evidenceBytes === 0) {
    throw new ProtocolError("E_PROOF_MALFORMED", "CHALLENGE evidence must not be empty");
  }
  if (challenge.evidenceBytes > limit) {
    throw new ProtocolError(
      "E_EVIDENCE_TOO_LARGE",
      `CHALLENGE evidence is ${challenge.evidenceBytes} bytes, the limit is ${limit}`,
    );
  }
}

/** The challenger's own node refuses a challenge outside the window or a repeat. */
function checkLocalWindow(
  task: TaskState,
  commit: CommitState,
  challenges: ReadonlyMap<string, ChallengeState>,
  challenger: string,
  view: LifecycleView,
): void {
  const open = task.status === "VERIFIED" && task.verifiedCommit === commit.commitId &&
    task.finalizeAfterMs !== undefined && view.nowMs < task.finalizeAfterMs &&
    commit.invalidated !== true;
  if (!open) {
    throw new ProtocolError(
      "E_CHALLENGE_WINDOW",
      `The challenge window of commit ${commit.commitId} is not open (task is ${task.status})`,
    );
  }
  for (const existing of challenges.values()) {
    if (
      existing.challenger === challenger && existing.commitId === commit.commitId &&
      existing.verdict === undefined
    ) {
      throw new ProtocolError(
        "E_CHALLENGE_RATE",
        `${challenger} already has challenge ${existing.challengeId} open on ${commit.commitId}`,
      );
    }
  }
}

/**
 * The votes a ruling cites must be votes this node has seen (else it waits
 * for them), while votes on the commit are still taken.
 */
function checkVotesSeen(ruling: InvalidateChallengePayload, task: TaskState): void {
  const commit = requireCommit(task, ruling.commitId);
  // Once no vote on the commit is taken (the task FINAL, the commit invalidated), a vote the
  // ruling cites may have come here after that and been refused as late: it would wait for good.
  // The decider's lists stand then, as every node settles the ruling by them.
  if (task.status === "FINAL" || commit.invalidated === true) return;
  const unseen = [
    ...ruling.attesters.filter((did) => !commit.tally.approvals.includes(did)),
    ...ruling.dissenters.filter((did) => !commit.tally.rejections.includes(did)),
  ];
  if (unseen.length > 0) {
    throw new ProtocolError(
      "E_AWAITING_VOTES",
      `INVALIDATE of ${ruling.challengeId} cites ${unseen.length} attestations not seen yet`,
    );
  }
}

function checkSlashes(
  ruling: InvalidateChallengePayload,
  task: TaskState,
  commit: CommitState,
  activeVerifiers: ReadonlySet<string>,
): void {
  const liable = new Set([...ruling.attesters, commit.worker]);
  const accounts = ruling.slashes.map((slash) => slash.account);
  if (new Set(accounts).size !== accounts.length) {
    throw new ProtocolError("E_PAYLOAD", `INVALIDATE slashes an account twice`);
  }
  const outsider = accounts.find((account) => !liable.has(account));
  if (outsider !== undefined) {
    throw new ProtocolError(
      "E_PAYLOAD",
      `INVALIDATE slashes ${outsider}, who neither attested nor made commit ${commit.commitId} of ${task.taskId}`,
    );
  }
  // A slashed attester sits again only when no other verifier is left to seat (the stamper's
  // fallback, rather than nobody): refused, the challenge would never be ruled on.
  const seated = ruling.committee.find((member) => accounts.includes(member));
  const spare = [...activeVerifiers].find((did) =>
    !accounts.includes(did) && did !== commit.worker && !ruling.committee.includes(did)
  );
  if (seated !== undefined && spare !== undefined) {
    throw new ProtocolError(
      "E_COMMITTEE_INVALID",
      `INVALIDATE seats slashed attester ${seated} on the new committee while ${spare} is free`,
    );
  }
}

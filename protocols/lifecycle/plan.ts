/**
 * NEED, PROPOSE, ATTEST_PLAN, DECIDE and UPDATE_PLAN: from a request to a
 * decided plan. The first proposal to reach K_plan approvals triggers the
 * decision exactly once; the DECIDE itself must name ≥ K_plan approvers whose
 * votes this node has seen.
 *
 * @module
 */

import { addVote, EMPTY_TALLY, planQuorum, resultQuorum } from "../consensus/quorum.ts";
import { checkBounty, checkCommittee } from "./_checks.ts";
import { ProtocolError } from "./errors.ts";
import { mutatedQuorum } from "./mutations.ts";
import { supersede, supersedes } from "./supersede.ts";
import { sameDecision } from "../../runtime/store/decide_log.ts";
import type { LifecycleMessage, PatchOp } from "./payloads.ts";
import {
  type Effect,
  happenedAtMs,
  type LifecycleView,
  planCommitteeOf,
  type ProposalState,
  requirementsMet,
  type TaskState,
  type ThreadState,
  type Transition,
} from "./state.ts";

/** NEED opens a thread. */
export function onNeed(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"NEED">,
  view: LifecycleView,
): Transition {
  const need = message.payload;
  if (thread !== undefined) {
    throw new ProtocolError("E_NEED_EXISTS", `NEED ${need.needId} was already posted`);
  }
  if (message.thread !== need.needId) {
    throw new ProtocolError(
      "E_PAYLOAD",
      `NEED ${need.needId} must travel on its own thread, not ${message.thread}`,
    );
  }
  // A request outlives epochs: a NEED posted before a RECONCILE and delivered after it (or
  // synced to a node that missed it) stands. Only a NEED from an epoch this node has not
  // reached is refused; the node learns the epoch, then the NEED again, by the RECONCILE's sync.
  if (need.epoch > view.epoch) {
    throw new ProtocolError(
      "E_STALE_EPOCH",
      `NEED ${need.needId} names epoch ${need.epoch}, ahead of this node's ${view.epoch}`,
    );
  }
  if (need.deadlineMs <= view.nowMs) {
    throw new ProtocolError(
      "E_DEADLINE",
      `NEED ${need.needId} deadline ${need.deadlineMs} has passed (now ${view.nowMs})`,
    );
  }
  if (need.bounty > need.budget) {
    throw new ProtocolError(
      "E_PAYLOAD",
      `NEED ${need.needId} bounty ${need.bounty} exceeds its budget ${need.budget}`,
    );
  }
  checkBounty(need, view);
  const committee = need.committee === undefined
    ? undefined
    : checkCommittee(need.committee, view, `NEED ${need.needId}`);
  const kPlan = mutatedQuorum(
    planQuorum(view.activeVerifiers.size, view.bootstrap, view.params),
    view.mutations,
  );
  const opened: ThreadState = {
    needId: need.needId,
    need,
    requester: message.sender,
    openedAtMs: view.nowMs,
    phase: "OPEN",
    proposals: new Map(),
    quorumProposal: undefined,
    kPlan: committee === undefined ? kPlan : Math.min(kPlan, committee.length),
    decision: undefined,
    tasks: new Map(),
  };
  return { thread: opened, effects: [{ type: "need-opened", needId: need.needId }] };
}

/** PROPOSE adds a planner's proposal while the bid window is open. */
export function onPropose(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"PROPOSE">,
  view: LifecycleView,
): Transition {
  const proposal = message.payload;
  const open = requireThread(thread, proposal.needId);
  // A replayed proposal is judged by when it was made, as a replayed lease or challenge is: a node
  // that took it late (busy, cut off) must still take the proposal its peers decided.
  const late = open.phase !== "OPEN" ||
    happenedAtMs(message, view) > open.openedAtMs + view.params.bidWindowMs;
  // AP mode keeps late proposals (unvoted): a superseding decision from the other side may name one.
  if (late && view.decideMode !== "ap") {
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `PROPOSE ${proposal.proposalId} arrived after the bid window of ${open.needId}`,
    );
  }
  if (open.proposals.has(proposal.proposalId)) {
    throw new ProtocolError(
      "E_PROPOSAL_EXISTS",
      `Proposal ${proposal.proposalId} was already made`,
    );
  }
  if (open.proposals.size >= view.params.proposalsPerNeedMax) {
    throw new ProtocolError(
      "E_TOO_MANY_PROPOSALS",
      `NEED ${open.needId} already has ${open.proposals.size} proposals`,
    );
  }
  checkPatch(proposal.patch, new Set(), view.params.tasksPerProposalMax);
  const state: ProposalState = {
    proposalId: proposal.proposalId,
    proposer: message.sender,
    patch: proposal.patch,
    cost: proposal.cost,
    etaMs: proposal.etaMs,
    tally: EMPTY_TALLY,
    proposedAtMs: view.nowMs,
  };
  const proposals = new Map(open.proposals).set(proposal.proposalId, state);
  if (late) return { thread: { ...open, proposals }, effects: [] };
  return {
    thread: { ...open, proposals },
    effects: [{ type: "proposal-received", needId: open.needId, proposalId: proposal.proposalId }],
  };
}

/** ATTEST_PLAN records a verifier's vote; the first proposal to reach K_plan asks for a decision. */
export function onAttestPlan(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"ATTEST_PLAN">,
  view: LifecycleView,
): Transition {
  const vote = message.payload;
  const current = requireThread(thread, vote.needId);
  const proposal = current.proposals.get(vote.proposalId);
  if (proposal === undefined && current.phase !== "OPEN") {
    // A vote on a proposal this node refused as late: it can never count.
    throw new ProtocolError(
      "E_OUT_OF_WINDOW",
      `Vote on ${vote.proposalId} after ${vote.needId} was decided`,
    );
  }
  if (proposal === undefined) {
    throw new ProtocolError("E_UNKNOWN_PROPOSAL", `Proposal ${vote.proposalId} is unknown`);
  }
  if (!view.activeVerifiers.has(message.sender)) {
    throw new ProtocolError("E_NOT_VERIFIER", `${message.sender} is not an active verifier`);
  }
  const pinned = planCommitteeOf(current);
  const member = pinned === undefined
    ? view.isPlanCommitteeMember?.(vote.needId, message.sender) !== false
    : pinned.includes(message.sender);
  if (!member) {
    throw new ProtocolError(
      "E_NOT_COMMITTEE_MEMBER",
      `${message.sender} is not on the plan committee of ${vote.needId}`,
    );
  }
  const result = addVote(proposal.tally, message.sender, vote.verdict === "approve", current.kPlan);
  if (!result.counted) {
    throw new ProtocolError(
      "E_DUPLICATE_VOTE",
      `${message.sender} already voted on ${vote.proposalId}`,
    );
  }
  const proposals = new Map(current.proposals).set(vote.proposalId, {
    ...proposal,
    tally: result.tally,
  });
  const first = result.completedQuorum && current.quorumProposal === undefined &&
    current.phase === "OPEN";
  const next = {
    ...current,
    proposals,
    quorumProposal: first ? vote.proposalId : current.quorumProposal,
  };
  const effects: Effect[] = first
    ? [{
      type: "plan-quorum",
      needId: current.needId,
      proposalId: vote.proposalId,
      kPlan: current.kPlan,
      lamport: message.lamport,
    }]
    : [];
  return { thread: next, effects };
}

/** DECIDE fixes the plan: its tasks become DECIDED. */
export function onDecide(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"DECIDE">,
  view: LifecycleView & { readonly highestFence?: number; readonly decisionConfirmed?: boolean },
): Transition {
  const decision = message.payload;
  const current = requireThread(thread, decision.needId);
  if (message.sender !== decision.decider) {
    throw new ProtocolError(
      "E_NOT_DECIDER",
      `DECIDE for ${decision.needId} signed by ${message.sender}, not its decider`,
    );
  }
  if (current.decision !== undefined && sameDecision(current.decision, decision)) {
    // A re-announcement of the decision this node holds: still only a valid one is accepted.
    const proposal = current.proposals.get(decision.proposalId) as ProposalState;
    checkApprovers(decision.approvers, decision.kPlan, Math.max(current.kPlan, 1), proposal, view);
    return { thread: current, effects: [] };
  }
  if (current.decision !== undefined && !supersedes(current, message, view)) {
    throw new ProtocolError(
      "E_DECIDE_CONFLICT",
      `NEED ${decision.needId} is already decided for ${current.decision.proposalId}`,
    );
  }
  checkDecisionFencing(decision, view);
  const proposal = current.proposals.get(decision.proposalId);
  if (proposal === undefined) {
    throw new ProtocolError("E_UNKNOWN_PROPOSAL", `Proposal ${decision.proposalId} is unknown`);
  }
  checkApprovers(decision.approvers, decision.kPlan, Math.max(current.kPlan, 1), proposal, view);
  const resultCommittee = decision.committee === undefined
    ? undefined
    : checkCommittee(decision.committee, view, `DECIDE for ${decision.needId}`);
  const { needId, proposalId, epoch, lamport, kPlan, decider, fence, decidedAtMs } = decision;
  const pinned: ThreadState = { ...current, resultCommittee };
  const decided: ThreadState = {
    ...pinned,
    phase: "DECIDED",
    decision: { needId, proposalId, epoch, lamport, kPlan, decider, fence, decidedAtMs },
    // A superseding decision (AP) starts from no tasks: the lower decision's are orphaned.
    tasks: applyPatch({ ...pinned, tasks: new Map() }, proposal.patch, view),
  };
  const effects: Effect[] = [{ type: "need-decided", needId, proposalId }];
  for (const task of decided.tasks.values()) {
    if (requirementsMet(decided, task)) {
      effects.push({ type: "task-ready", needId, taskId: task.taskId });
    }
  }
  if (current.decision === undefined) return { thread: decided, effects };
  const superseded = supersede(current, decided);
  if (superseded.thread.tasks === current.tasks) return superseded; // same plan: work salvaged
  return { thread: superseded.thread, effects: [...superseded.effects, ...effects] };
}

/** UPDATE_PLAN adds tasks to a decided NEED; only the decided proposal's planner may do so. */
export function onUpdatePlan(
  thread: ThreadState | undefined,
  message: LifecycleMessage<"UPDATE_PLAN">,
  view: LifecycleView,
): Transition {
  const update = message.payload;
  const current = requireThread(thread, update.needId);
  if (current.phase !== "DECIDED" || current.decision === undefined) {
    throw new ProtocolError(
      "E_BAD_STATE",
      `UPDATE_PLAN for ${update.needId} needs a decided, unfinished NEED`,
    );
  }
  const planner = current.proposals.get(current.decision.proposalId)?.proposer;
  if (message.sender !== planner) {
    throw new ProtocolError(
      "E_NOT_DECIDER",
      `Only the planner of the decided proposal may update ${update.needId}`,
    );
  }
  checkPatch(update.patch, new Set(current.tasks.keys()), view.params.tasksPerProposalMax);
  const updated = { ...current, tasks: applyPatch(current, update.patch, view) };
  const effects: Effect[] = [];
  for (const op of update.patch) {
    const task = updated.tasks.get(op.taskId) as TaskState;
    if (op.op === "ADD_TASK" && requirementsMet(updated, task)) {
      effects.push({ type: "task-ready", needId: update.needId, taskId: op.taskId });
    }
  }
  return { thread: updated, effects };
}

/** The thread of a need, or `E_UNKNOWN_NEED` (parkable: the NEED may still be on its way). */
export function requireThread(thread: ThreadState | undefined, needId: string): ThreadState {
  if (thread === undefined) throw new ProtocolError("E_UNKNOWN_NEED", `NEED ${needId} is unknown`);
  if (thread.phase === "EXPIRED") {
    throw new ProtocolError("E_NEED_CLOSED", `NEED ${needId} has expired`);
  }
  return thread;
}

function checkDecisionFencing(
  decision: LifecycleMessage<"DECIDE">["payload"],
  view: LifecycleView & { readonly highestFence?: number; readonly decisionConfirmed?: boolean },
): void {
  if (view.mutations?.fencingOff === true || view.decisionConfirmed === true) return;
  if (decision.epoch !== view.epoch) {
    throw new ProtocolError(
      "E_STALE_EPOCH",
      `DECIDE for ${decision.needId} names epoch ${decision.epoch}, current is ${view.epoch}`,
    );
  }
  if (view.highestFence !== undefined && decision.fence < view.highestFence) {
    throw new ProtocolError(
      "E_STALE_FENCE",
      `DECIDE for ${decision.needId} carries fence ${decision.fence}, below ${view.highestFence} already seen`,
    );
  }
}

function checkApprovers(
  approvers: readonly string[],
  kPlan: number,
  requiredK: number,
  proposal: ProposalState,
  view: LifecycleView,
): void {
  const distinct = new Set(approvers);
  if (distinct.size !== approvers.length) {
    throw new ProtocolError("E_NO_QUORUM", "DECIDE lists an approver twice");
  }
  if (kPlan < requiredK || distinct.size < kPlan) {
    throw new ProtocolError(
      "E_NO_QUORUM",
      `DECIDE has ${distinct.size} approvers for K=${kPlan}, needs K >= ${requiredK}`,
    );
  }
  for (const approver of distinct) {
    if (!view.activeVerifiers.has(approver)) {
      throw new ProtocolError("E_NOT_VERIFIER", `${approver} is not an active verifier`);
    }
  }
  const missing = [...distinct].filter((approver) => !proposal.tally.approvals.includes(approver));
  if (missing.length > 0) {
    throw new ProtocolError(
      "E_AWAITING_VOTES",
      `DECIDE cites ${missing.length} approvals not seen yet`,
    );
  }
}

/** Validates plan operations: unique task ids, known requirements, no cycles. */
function checkPatch(
  patch: readonly PatchOp[],
  existing: ReadonlySet<string>,
  tasksMax: number,
): void {
  const added = new Set<string>();
  const edges = new Map<string, string[]>();
  for (const op of patch) {
    if (op.op === "ADD_TASK") {
      if (existing.has(op.taskId) || added.has(op.taskId)) {
        throw new ProtocolError("E_BAD_PATCH", `Task ${op.taskId} is added twice`);
      }
      added.add(op.taskId);
    } else {
      if (!existing.has(op.taskId) && !added.has(op.taskId)) {
        throw new ProtocolError("E_BAD_PATCH", `REQUIRES names unknown task ${op.taskId}`);
      }
      if (!existing.has(op.dependsOn) && !added.has(op.dependsOn)) {
        throw new ProtocolError("E_BAD_PATCH", `REQUIRES names unknown task ${op.dependsOn}`);
      }
      edges.set(op.taskId, [...(edges.get(op.taskId) ?? []), op.dependsOn]);
    }
  }
  if (added.size > tasksMax) {
    throw new ProtocolError("E_BAD_PATCH", `A patch may add at most ${tasksMax} tasks`);
  }
  if (existing.size === 0 && added.size === 0) {
    throw new ProtocolError("E_BAD_PATCH", "A proposal must add a task");
  }
  if (hasCycle(edges)) {
    throw new ProtocolError("E_BAD_PATCH", "The patch's REQUIRES edges form a cycle");
  }
}

function hasCycle(edges: ReadonlyMap<string, readonly string[]>): boolean {
  const state = new Map<string, "visiting" | "done">();
  const visit = (node: string): boolean => {
    const mark = state.get(node);
    if (mark === "visiting") return true;
    if (mark === "done") return false;
    state.set(node, "visiting");
    for (const next of edges.get(node) ?? []) if (visit(next)) return true;
    state.set(node, "done");
    return false;
  };
  return [...edges.keys()].some(visit);
}

function applyPatch(
  thread: ThreadState,
  patch: readonly PatchOp[],
  view: LifecycleView,
): Map<string, TaskState> {
  const next = new Map(thread.tasks);
  const quorum = mutatedQuorum(
    resultQuorum(view.activeVerifiers.size, view.bootstrap, view.params),
    view.mutations,
  );
  const committee = thread.resultCommittee;
  const kResult = committee === undefined ? quorum : Math.min(quorum, committee.length);
  for (const op of patch) {
    if (op.op !== "ADD_TASK") continue;
    next.set(op.taskId, {
      taskId: op.taskId,
      spec: op.spec,
      requires: [],
      status: "DECIDED",
      lease: undefined,
      commits: new Map(),
      verifiedCommit: undefined,
      finalizeAfterMs: undefined,
      kResult,
      kResultRaise: 0,
    });
  }
  for (const op of patch) {
    if (op.op !== "REQUIRES") continue;
    const task = next.get(op.taskId) as TaskState;
    next.set(op.taskId, { ...task, requires: [...task.requires, op.dependsOn] });
  }
  return next;
}

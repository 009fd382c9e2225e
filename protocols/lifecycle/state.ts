/**
 * The state of one thread (one NEED and its tasks), as every node derives it
 * from the envelopes it has accepted, and the effects a transition asks the
 * node's actors to carry out.
 *
 * States are immutable values: a transition returns a new state, so actors
 * can hand snapshots around and tests can compare them.
 *
 * @module
 */

import type { DecideRecord } from "../../runtime/store/decide_log.ts";
import type { SwarmParams } from "../params.ts";
import type { Tally } from "../consensus/quorum.ts";
import type { ProofType } from "../economics/params.ts";
import type { ProtocolMutations } from "./mutations.ts";
import type { ChallengeVerdict, NeedPayload, PatchOp, TaskSpec, Telemetry } from "./payloads.ts";

/** Task states in their protocol order (DESIGN.md §5). */
export const TASK_STATES = [
  "DRAFT",
  "DECIDED",
  "CLAIMED",
  "COMMITTED",
  "VERIFIED",
  "FINAL",
] as const;

/** A task's state. */
export type TaskStatus = typeof TASK_STATES[number];

/** A live lease on a task. */
export interface Lease {
  readonly leaseId: string;
  readonly holder: string;
  readonly grantedAtMs: number;
  readonly expiresAtMs: number;
  readonly heartbeatIntervalMs: number;
}

/** A worker's result and its attestations. */
export interface CommitState {
  readonly commitId: string;
  readonly worker: string;
  readonly leaseId: string;
  readonly artifacts: readonly string[];
  readonly outputDigest: string;
  readonly telemetry: Telemetry;
  readonly verifyBounty: number;
  readonly tally: Tally;
  readonly committedAtMs: number;
  /** Set when an upheld challenge invalidated this commit. */
  readonly invalidated?: boolean;
  /** Set when its failing attestations rejected it and reopened the task. */
  readonly rejected?: boolean;
  /** Upheld challenges on the task when it was made, when there were any (its committee's round). */
  readonly round?: number;
}

/** One task of a decided plan. */
export interface TaskState {
  readonly taskId: string;
  readonly spec: TaskSpec;
  /** Tasks that must be FINAL before this one can be claimed. */
  readonly requires: readonly string[];
  readonly status: TaskStatus;
  readonly lease: Lease | undefined;
  readonly commits: ReadonlyMap<string, CommitState>;
  /** The commit that reached the result quorum. */
  readonly verifiedCommit: string | undefined;
  /** When the challenge window of the verified commit ends. */
  readonly finalizeAfterMs: number | undefined;
  readonly kResult: number;
  /** Added to K_result by upheld challenges. */
  readonly kResultRaise: number;
  /** The committee after an upheld challenge (pinned by the INVALIDATE); else the NEED's. */
  readonly committee?: readonly string[];
  /** Upheld challenges so far. */
  readonly upholds?: number;
  /** The attesters the FINALIZE named (who the verify bounty pays). */
  readonly finalAttesters?: readonly string[];
  /** AP mode: leases a merge dropped for another after a partition (`lease_drop.ts`). */
  readonly droppedLeases?: readonly DroppedLease[];
  /** Ids of the leases this node has seen on the task, oldest first (the newest {@linkcode LEASE_HISTORY_MAX}). */
  readonly leaseIds?: readonly string[];
}

/**
 * When `message` happened as this node counts it: now, or for a message
 * replayed from a peer's archive, when its sender made it if that was
 * earlier. A node rebuilding a thread was not there when it happened: by its
 * own clock every lease would have lapsed and every window would open anew.
 */
export function happenedAtMs(
  message: { readonly replayedMadeAtMs?: number },
  view: LifecycleView,
): number {
  const madeAtMs = message.replayedMadeAtMs;
  return madeAtMs === undefined ? view.nowMs : Math.min(view.nowMs, madeAtMs);
}

/** Lease ids a task remembers (a CLAIM names the newest it follows). */
export const LEASE_HISTORY_MAX = 64;

/** A lease an AP merge dropped, and the commits made under it. */
export interface DroppedLease {
  readonly leaseId: string;
  /** The lease the merge kept instead. */
  readonly keptLeaseId: string;
  readonly commitIds: readonly string[];
}

/** A challenge against a commit, and how it was resolved. */
export interface ChallengeState {
  readonly challengeId: string;
  readonly challenger: string;
  readonly taskId: string;
  readonly commitId: string;
  readonly proofType: ProofType;
  readonly evidence: string;
  readonly evidenceBytes: number;
  /** Credits. */
  readonly bond: number;
  readonly openedAtMs: number;
  /** The challenger asked to withdraw; the decider settles it. */
  readonly withdrawRequested: boolean;
  readonly verdict: ChallengeVerdict | undefined;
  readonly code: string | undefined;
}

/** A planner's proposal and its votes. */
export interface ProposalState {
  readonly proposalId: string;
  readonly proposer: string;
  readonly patch: readonly PatchOp[];
  readonly cost: number;
  readonly etaMs: number;
  readonly tally: Tally;
  readonly proposedAtMs: number;
}

/** Phase of a NEED. */
export type NeedPhase = "OPEN" | "DECIDED" | "FINAL" | "EXPIRED";

/** Everything a node knows about one NEED. */
export interface ThreadState {
  readonly needId: string;
  readonly need: NeedPayload;
  readonly requester: string;
  readonly openedAtMs: number;
  readonly phase: NeedPhase;
  readonly proposals: ReadonlyMap<string, ProposalState>;
  /** The first proposal that reached the plan quorum. */
  readonly quorumProposal: string | undefined;
  readonly kPlan: number;
  readonly decision: DecideRecord | undefined;
  readonly tasks: ReadonlyMap<string, TaskState>;
  /** The result committee pinned by the DECIDE. */
  readonly resultCommittee?: readonly string[];
  /** Challenges by id (the CHALLENGE envelope id). */
  readonly challenges?: ReadonlyMap<string, ChallengeState>;
  /** AP mode: decisions a higher one superseded, with the tasks they had. */
  readonly orphaned?: readonly OrphanedDecision[];
}

/** A decision superseded in AP mode (an orphaned branch). */
export interface OrphanedDecision {
  readonly record: DecideRecord;
  /** Epoch of the decision that superseded it. */
  readonly orphanedByEpoch: number;
  /** Its tasks, whose messages are refused from now on. */
  readonly taskIds: readonly string[];
}

/** What a transition asks the node's actors to do. */
export type Effect =
  | { readonly type: "need-opened"; readonly needId: string }
  | { readonly type: "proposal-received"; readonly needId: string; readonly proposalId: string }
  | {
    readonly type: "plan-quorum";
    readonly needId: string;
    readonly proposalId: string;
    readonly kPlan: number;
    /** Lamport value of the vote that completed the quorum. */
    readonly lamport: number;
  }
  | { readonly type: "need-decided"; readonly needId: string; readonly proposalId: string }
  | {
    /** AP mode: a higher decision replaced this node's; the old one is an orphaned branch. */
    readonly type: "need-superseded";
    readonly needId: string;
    readonly orphanedProposalId: string;
    readonly proposalId: string;
  }
  | { readonly type: "task-ready"; readonly needId: string; readonly taskId: string }
  | {
    readonly type: "lease-granted";
    readonly needId: string;
    readonly taskId: string;
    readonly holder: string;
    readonly leaseId: string;
    readonly expiresAtMs: number;
  }
  | {
    readonly type: "lease-ended";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
  }
  | {
    readonly type: "commit-received";
    readonly needId: string;
    readonly taskId: string;
    readonly commitId: string;
  }
  | {
    /** An ATTEST was counted: its verdict and evaluation digest, for verifiers to compare. */
    readonly type: "attested";
    readonly needId: string;
    readonly taskId: string;
    readonly commitId: string;
    readonly attester: string;
    readonly pass: boolean;
    readonly evalDigest: string;
  }
  | {
    readonly type: "result-quorum";
    readonly needId: string;
    readonly taskId: string;
    readonly commitId: string;
    readonly finalizeAfterMs: number;
  }
  | {
    readonly type: "task-final";
    readonly needId: string;
    readonly taskId: string;
    readonly commitId: string;
  }
  | { readonly type: "need-final"; readonly needId: string }
  | { readonly type: "need-expired"; readonly needId: string }
  | {
    readonly type: "challenge-opened";
    readonly needId: string;
    readonly taskId: string;
    readonly challengeId: string;
  }
  | {
    readonly type: "challenge-withdrawn";
    readonly needId: string;
    readonly taskId: string;
    readonly challengeId: string;
  }
  | {
    readonly type: "challenge-resolved";
    readonly needId: string;
    readonly taskId: string;
    readonly challengeId: string;
    readonly verdict: ChallengeVerdict;
  };

/** What a transition needs to know about the node and the swarm. */
export interface LifecycleView {
  /** The node's clock, ms. */
  readonly nowMs: number;
  readonly params: SwarmParams;
  /** The node's current epoch. */
  readonly epoch: number;
  readonly bootstrap: boolean;
  /** DIDs of staked, active verifiers. */
  readonly activeVerifiers: ReadonlySet<string>;
  /** Whether `did` may attest results of `taskId` (its committee); default: any active verifier. */
  readonly isResultCommitteeMember?: (taskId: string, did: string) => boolean;
  /** Whether `did` may vote on the plans of `needId` (its committee); default: any active verifier. */
  readonly isPlanCommitteeMember?: (needId: string, did: string) => boolean;
  /**
   * `local` when the node checks a message it is about to send: checks that
   * depend on this node's timing (a challenge's window, the challenger's
   * rate) refuse it then; from peers they are left to the decider.
   */
  readonly origin?: "local" | "peer";
  /**
   * How a second decision for a NEED is treated: `cp` (default) refuses it;
   * `ap` lets a higher (epoch, lamport, decider) supersede the current one.
   */
  readonly decideMode?: "cp" | "ap";
  /** Deliberately broken rules, for mutation tests only; absent in production. */
  readonly mutations?: ProtocolMutations;
}

/** The outcome of a transition. */
export interface Transition {
  /** The new state of the thread; undefined only when nothing was created. */
  readonly thread: ThreadState;
  readonly effects: readonly Effect[];
}

/** Position of a status in the protocol order. */
export function statusRank(status: TaskStatus): number {
  return TASK_STATES.indexOf(status);
}

/** Replaces one task in a thread. */
export function withTask(thread: ThreadState, task: TaskState): ThreadState {
  const tasks = new Map(thread.tasks);
  tasks.set(task.taskId, task);
  return { ...thread, tasks };
}

/** The plan committee pinned in the NEED, if any. */
export function planCommitteeOf(thread: ThreadState): readonly string[] | undefined {
  return thread.need.committee;
}

/** The result committee of a task: its own after an upheld challenge, else the NEED's. */
export function resultCommitteeOf(
  thread: ThreadState,
  task: TaskState,
): readonly string[] | undefined {
  return task.committee ?? thread.resultCommittee;
}

/** Whether every requirement of `task` is FINAL. */
export function requirementsMet(thread: ThreadState, task: TaskState): boolean {
  return task.requires.every((required) => thread.tasks.get(required)?.status === "FINAL");
}

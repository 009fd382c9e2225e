// Test fixture: builds lifecycle messages and drives threads through the reducer.
import assert from "node:assert/strict";
import { cidForBytes } from "../../../runtime/store/content_store.ts";
import { type SwarmParams, swarmParams } from "../../../protocols/params.ts";
import { Economy } from "../../../protocols/economics/economy.ts";
import { ParticipantRegistry } from "../../../protocols/economics/registry.ts";
import { ProtocolError } from "../../../protocols/lifecycle/errors.ts";
import type {
  LifecycleMessage,
  LifecycleVerb,
  PayloadOf,
} from "../../../protocols/lifecycle/payloads.ts";
import { reduce, type ReduceView } from "../../../protocols/lifecycle/reducer.ts";
import type { Effect, ThreadState } from "../../../protocols/lifecycle/state.ts";

export const VERIFIERS = [
  "did:v1",
  "did:v2",
  "did:v3",
  "did:v4",
  "did:v5",
  "did:v6",
  "did:v7",
  "did:v8",
  "did:v9",
  "did:v10",
];
export const NEED_ID = "need-1";
export const TASK_ID = "p1:t1";

let sequence = 0;

/** A message as the node would hand it to the reducer. */
export function message<V extends LifecycleVerb>(
  kind: V,
  payload: PayloadOf[V],
  sender: string,
  id = `bafy-${kind.toLowerCase()}-${sequence++}`,
): LifecycleMessage<V> {
  return {
    id,
    kind,
    thread: (payload as { needId?: string }).needId ?? NEED_ID,
    sender,
    lamport: ++sequence,
    payload,
  };
}

/** A NEED payload for one sha256 task (of `NEED_ID` unless overridden). */
export function needPayload(overrides: Partial<PayloadOf["NEED"]> = {}): PayloadOf["NEED"] {
  return {
    needId: NEED_ID,
    epoch: 0,
    requires: [],
    produces: ["digest"],
    budget: 20,
    bounty: 10,
    deadlineMs: 1_000_000,
    task: { op: "sha256", input: "hello", rounds: 1 },
    ...overrides,
  };
}

/** An economy in memory in which each of `people` is funded and staked at genesis. */
export async function genesisEconomy(
  params: SwarmParams,
  people: readonly string[],
  verifiers: readonly string[],
): Promise<Economy> {
  const economy = new Economy({
    params,
    registry: ParticipantRegistry.from(people.map((did) => ({ did })), params.economics),
    verifiers,
  });
  await economy.open(undefined);
  return economy;
}

/** A challenge's evidence: a CID (the reducer checks its form, not its content). */
export const EVIDENCE = cidForBytes(new TextEncoder().encode("proof")).toString();

/** A CHALLENGE of commit-1 of `TASK_ID` (OUTPUT_MISMATCH, the SIMPLE bond of 100). */
export function challengePayload(
  overrides: Partial<PayloadOf["CHALLENGE"]> = {},
): PayloadOf["CHALLENGE"] {
  return {
    needId: NEED_ID,
    taskId: TASK_ID,
    commitId: "commit-1",
    proofType: "OUTPUT_MISMATCH",
    evidence: EVIDENCE,
    evidenceBytes: 5,
    bond: 100,
    ...overrides,
  };
}

/** A view with 10 active verifiers out of bootstrap (K_plan = 3, K_result = 3). */
export function view(overrides: Partial<ReduceView> = {}): ReduceView {
  return {
    nowMs: 1_000,
    params: swarmParams({ challengeWindowMs: 500, bidWindowMs: 10_000 }),
    epoch: 0,
    bootstrap: false,
    activeVerifiers: new Set(VERIFIERS),
    ...overrides,
  };
}

/** Drives a thread, collecting effects. */
export class Driver {
  thread: ThreadState | undefined = undefined;
  effects: Effect[] = [];
  nowMs = 1_000;
  /** When set, messages are applied as replayed from a peer's archive, made at this time. */
  replayedMadeAtMs: number | undefined;
  constructor(readonly overrides: Partial<ReduceView> = {}) {}

  apply<V extends LifecycleVerb>(
    kind: V,
    payload: PayloadOf[V],
    sender: string,
    id?: string,
  ): Effect[] {
    const built = message(kind, payload, sender, id);
    const transition = reduce(
      this.thread,
      this.replayedMadeAtMs === undefined
        ? built
        : { ...built, replayedMadeAtMs: this.replayedMadeAtMs },
      view({ nowMs: this.nowMs, ...this.overrides }),
    );
    this.thread = transition.thread;
    this.effects.push(...transition.effects);
    return [...transition.effects];
  }

  need(overrides: Partial<PayloadOf["NEED"]> = {}): void {
    this.apply("NEED", needPayload(overrides), "did:requester");
  }

  propose(proposalId = "p1", taskIds = [TASK_ID]): void {
    this.apply("PROPOSE", {
      needId: NEED_ID,
      proposalId,
      ballot: 1,
      patch: taskIds.map((taskId) => ({
        op: "ADD_TASK" as const,
        taskId,
        spec: { op: "sha256", input: "hello", rounds: 1 },
      })),
      cost: 5,
      etaMs: 100,
      shardDependencies: [],
    }, `did:planner-${proposalId}`);
  }

  vote(proposalId: string, voters: string[], verdict: "approve" | "reject" = "approve"): Effect[] {
    return voters.flatMap((voter) =>
      this.apply("ATTEST_PLAN", { needId: NEED_ID, proposalId, verdict }, voter)
    );
  }

  decide(
    proposalId = "p1",
    approvers = VERIFIERS.slice(0, 3),
    overrides: Partial<PayloadOf["DECIDE"]> = {},
  ): Effect[] {
    return this.apply("DECIDE", {
      needId: NEED_ID,
      proposalId,
      epoch: 0,
      lamport: 10,
      kPlan: 3,
      decider: "did:decider",
      fence: 1,
      decidedAtMs: this.nowMs,
      approvers,
      ...overrides,
    }, overrides.decider ?? "did:decider");
  }

  claim(
    worker = "did:worker",
    leaseId = "lease-1",
    taskId = TASK_ID,
    leaseTtlMs = 60_000,
  ): Effect[] {
    return this.apply("CLAIM", {
      needId: NEED_ID,
      taskId,
      leaseId,
      leaseTtlMs,
      grantedAtMs: this.nowMs,
      cost: 5,
      etaMs: 100,
      heartbeatIntervalMs: 20_000,
    }, worker);
  }

  commit(
    worker = "did:worker",
    leaseId = "lease-1",
    commitId = "commit-1",
    artifacts = ["bafy-artifact"],
  ): Effect[] {
    return this.apply(
      "COMMIT",
      {
        needId: NEED_ID,
        taskId: TASK_ID,
        leaseId,
        artifacts,
        outputDigest: "abc",
        verifyBounty: 2,
        telemetry: { costUnits: 1, timeMs: 2, memoryBytes: 3 },
      },
      worker,
      commitId,
    );
  }

  attest(voters: string[], verdict: "pass" | "fail" = "pass", commitId = "commit-1"): Effect[] {
    return voters.flatMap((voter) =>
      this.apply("ATTEST", {
        needId: NEED_ID,
        taskId: TASK_ID,
        commitId,
        verdict,
        evalDigest: "digest",
      }, voter)
    );
  }

  finalize(attesters = VERIFIERS.slice(0, 3), commitId = "commit-1"): Effect[] {
    return this.apply("FINALIZE", {
      needId: NEED_ID,
      taskId: TASK_ID,
      commitId,
      attesters,
      kResult: 3,
    }, "did:finalizer");
  }

  /** Runs NEED → … → COMMITTED (commit-1 under lease-1). */
  toCommitted(): void {
    this.need();
    this.propose();
    this.vote("p1", VERIFIERS.slice(0, 3));
    this.decide();
    this.claim();
    this.commit();
  }

  /** Runs NEED → … → VERIFIED. */
  toVerified(): void {
    this.toCommitted();
    this.attest(VERIFIERS.slice(0, 3));
  }
}

/** Runs `action` and returns the {@linkcode ProtocolError} it threw, which must carry `code`. */
export function rejects(code: string, action: () => unknown): ProtocolError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ProtocolError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

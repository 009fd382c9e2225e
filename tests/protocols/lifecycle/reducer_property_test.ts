// Property test of the lifecycle reducer and the economy under hostile peers: random runs of every verb (and
// AP lease drops), their fields chosen against the thread as it stands (so runs reach votes, leases, results
// and challenges), from members and outsiders, repeated, on a moving clock. Every refusal must be a typed
// ProtocolError leaving the state untouched, and after every accepted message: FINAL sticks, a FINAL result
// carries its quorum, a commit comes from the live lease's holder in time, a decision cites seen approvals, no
// lease comes back, a repeat changes nothing, the ledger keeps its supply invariant and mints nothing; and
// replaying the accepted messages rebuilds the same thread, effects and ledger.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../../../protocols/lifecycle/errors.ts";
import { dropLease } from "../../../protocols/lifecycle/lease_drop.ts";
import type {
  LeaseDrop,
  LifecycleMessage,
  LifecycleVerb,
  PayloadOf,
} from "../../../protocols/lifecycle/payloads.ts";
import { reduce, type ReduceView } from "../../../protocols/lifecycle/reducer.ts";
import {
  type Effect,
  resultCommitteeOf,
  type TaskState,
  type ThreadState,
} from "../../../protocols/lifecycle/state.ts";
import { challengeBond } from "../../../protocols/economics/bonds.ts";
import type { Economy } from "../../../protocols/economics/economy.ts";
import { PROOF_TYPES } from "../../../protocols/economics/params.ts";
import { CHALLENGE_VERDICTS } from "../../../protocols/lifecycle/payloads.ts";
import { swarmParams } from "../../../protocols/params.ts";
import { EVIDENCE, genesisEconomy, NEED_ID, needPayload, VERIFIERS } from "./_fixture.ts";

const PARAMS = swarmParams({ challengeWindowMs: 500, bidWindowMs: 10_000 });
/** Five verifiers and one worker that also verifies (its own results are refused). */
const ACTIVE = new Set([...VERIFIERS.slice(0, 5), "did:worker-a"]);
const WORKERS = ["did:worker-a", "did:worker-b"];
const DECIDERS = ["did:decider-1", "did:decider-2"];
const PLANNERS: Record<string, string> = { p1: "did:planner-1", p2: "did:planner-2" };
const SENDERS = [
  ...ACTIVE,
  ...WORKERS,
  ...DECIDERS,
  ...Object.values(PLANNERS),
  "did:requester",
  "did:outsider",
];
const TASKS = ["t1", "t2", "t9"];
const LEASES = ["lease-1", "lease-2", "lease-3"];
const CODE = /^E_[A-Z_]+$/;

/** One step of a run: fixed choices that the interpreter resolves against the thread as it stands. */
interface Step {
  /** NEXT: what an honest node would send next for the thread as it stands. */
  /** REPEAT: a message accepted before, delivered again (gossip and sync bring copies). */
  readonly verb: LifecycleVerb | "TICK" | "DROP" | "NEXT" | "REPEAT";
  /** Picks among the candidates of each field (modulo their number). */
  readonly picks: readonly number[];
  /** Take the hostile variant of the step's key field (another sender, lease, commit, bond…). */
  readonly flag: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({
  verb: fc.constantFrom<Step["verb"]>(
    "NEED",
    "PROPOSE",
    "PROPOSE",
    "ATTEST_PLAN",
    "ATTEST_PLAN",
    "ATTEST_PLAN",
    "DECIDE",
    "DECIDE",
    "UPDATE_PLAN",
    "CLAIM",
    "CLAIM",
    "HEARTBEAT",
    "YIELD",
    "RELEASE",
    "COMMIT",
    "COMMIT",
    "ATTEST",
    "ATTEST",
    "ATTEST",
    "ATTEST",
    "FINALIZE",
    "FINALIZE",
    "CHALLENGE",
    "INVALIDATE",
    "TICK",
    "TICK",
    "DROP",
    "REPEAT",
    "REPEAT",
    ...Array.from({ length: 24 }, () => "NEXT" as const),
  ),
  picks: fc.array(fc.nat(40), { minLength: 8, maxLength: 8 }),
  flag: fc.constantFrom(false, false, true),
});

/** Resolves a step's choices in order. */
class Picker {
  #next = 0;
  constructor(readonly picks: readonly number[]) {}
  of<T>(candidates: readonly T[]): T {
    return candidates[this.picks[this.#next++ % this.picks.length] % candidates.length];
  }
  /** The first 0..n items of a list, sometimes with a stranger added. */
  some(items: readonly string[], stranger: boolean): string[] {
    const taken = items.slice(0, this.of([0, 1, 2, 3, 4, 5]));
    return stranger ? [...taken, this.of(SENDERS)] : taken;
  }
}

/** What a run applies: a message with the view it was judged under, or a lease drop. */
type Applied =
  | { readonly message: LifecycleMessage; readonly view: ReduceView; readonly repeat?: boolean }
  | { readonly drop: LeaseDrop };

interface World {
  readonly mode: "cp" | "ap";
  thread: ThreadState | undefined;
  nowMs: number;
  sequence: number;
  /** Messages accepted so far. */
  readonly sent: LifecycleMessage[];
}

function taskOf(world: World, id: string): TaskState | undefined {
  return world.thread?.tasks.get(id);
}

function commitIds(task: TaskState | undefined): string[] {
  return [...task?.commits.keys() ?? [], "c-unknown"];
}

function approvalsOf(task: TaskState | undefined, commitId: string): readonly string[] {
  return task?.commits.get(commitId)?.tally.approvals ?? [];
}

/** Builds the step's message (or drop) from the thread as it stands. */
function interpret(world: World, { verb, picks, flag }: Step): Applied | undefined {
  const pick = new Picker(picks);
  const thread = world.thread;
  const id = `m-${world.sequence++}`;
  const view: ReduceView = {
    nowMs: world.nowMs,
    params: PARAMS,
    epoch: 0,
    bootstrap: false,
    activeVerifiers: ACTIVE,
    decideMode: world.mode,
  };
  const send = <V extends LifecycleVerb>(
    kind: V,
    payload: PayloadOf[V],
    sender: string,
    extra: Partial<ReduceView> = {},
  ): Applied => ({
    message: { id, kind, thread: NEED_ID, sender, lamport: world.sequence, payload },
    view: { ...view, ...extra },
  });
  const decided = [...thread?.tasks.keys() ?? []];
  const taskId = pick.of([...decided, ...decided, ...decided, ...TASKS]);
  const task = taskOf(world, taskId);
  const live = task?.lease;
  switch (verb) {
    case "NEXT":
      return interpret(world, { verb: honestVerb(thread, world.nowMs), picks, flag: false });
    case "TICK":
      // Seldom past the NEED's deadline.
      world.nowMs += flag && picks[0] % 20 === 0
        ? 3_000_000
        : pick.of([0, 300, 600, 600, 20_000, 61_000]);
      return undefined;
    case "NEED":
      return send("NEED", needPayload({ deadlineMs: 2_000_000 }), "did:requester");
    case "PROPOSE": {
      const proposalId = pick.of(["p1", "p2"]);
      const patch: PayloadOf["PROPOSE"]["patch"] = proposalId === "p1"
        ? [{ op: "ADD_TASK", taskId: "t1", spec: { op: "sha256", input: "a", rounds: 1 } }]
        : [
          { op: "ADD_TASK", taskId: "t1", spec: { op: "sha256", input: "b", rounds: 1 } },
          { op: "ADD_TASK", taskId: "t2", spec: { op: "sha256", input: "c", rounds: 1 } },
          { op: "REQUIRES", taskId: "t2", dependsOn: "t1" },
        ];
      const sender = flag ? pick.of(SENDERS) : PLANNERS[proposalId];
      return send("PROPOSE", {
        needId: NEED_ID,
        proposalId,
        ballot: 1,
        patch,
        cost: 5,
        etaMs: 100,
        shardDependencies: [],
      }, sender);
    }
    case "ATTEST_PLAN":
      return send("ATTEST_PLAN", {
        needId: NEED_ID,
        proposalId: pick.of([...thread?.proposals.keys() ?? [], "p3"]),
        verdict: pick.of(["approve", "approve", "reject"] as const),
      }, pick.of(SENDERS));
    case "DECIDE": {
      // Mostly the decision a decider would write: a proposal seen, with every approval seen.
      const proposalId = pick.of([...thread?.proposals.keys() ?? [], "p1", "p2"]);
      const seen = thread?.proposals.get(proposalId)?.tally.approvals ?? [];
      const decider = pick.of(DECIDERS);
      return send(
        "DECIDE",
        {
          needId: NEED_ID,
          proposalId,
          epoch: pick.of([0, 0, 0, 1]),
          lamport: pick.of([5, 10, 20]),
          kPlan: pick.of([thread?.kPlan ?? 1, thread?.kPlan ?? 1, 1, 4]),
          decider,
          fence: pick.of([1, 2, 3]),
          decidedAtMs: world.nowMs,
          approvers: flag ? pick.some(seen, pick.of([false, true])) : [...seen],
          ...(pick.of([false, true])
            ? { committee: [...ACTIVE].slice(0, pick.of([1, 3, 6])) }
            : {}),
        },
        pick.of([decider, decider, decider, pick.of(SENDERS)]),
        { decisionConfirmed: pick.of([false, true]), highestFence: pick.of([undefined, 2]) },
      );
    }
    case "UPDATE_PLAN":
      return send("UPDATE_PLAN", {
        needId: NEED_ID,
        patch: [{
          op: "ADD_TASK",
          taskId: pick.of(["t2", "t3"]),
          spec: { op: "sha256", input: "d", rounds: 1 },
        }],
      }, pick.of([...Object.values(PLANNERS), "did:outsider"]));
    case "CLAIM":
      return send("CLAIM", {
        needId: NEED_ID,
        taskId,
        leaseId: pick.of(LEASES),
        leaseTtlMs: pick.of([60_000, 60_000, 30_000]),
        grantedAtMs: world.nowMs,
        cost: 5,
        etaMs: 100,
        heartbeatIntervalMs: 20_000,
        // The newest lease seen (as a worker sends it), or any.
        ...(task?.leaseIds === undefined && !flag
          ? {}
          : { after: flag ? pick.of(LEASES) : task?.leaseIds?.at(-1) ?? "lease-1" }),
      }, pick.of(WORKERS));
    case "HEARTBEAT":
      return send("HEARTBEAT", {
        needId: NEED_ID,
        taskId,
        leaseId: flag ? pick.of(LEASES) : live?.leaseId ?? "lease-1",
        expiresAtMs: (live?.expiresAtMs ?? world.nowMs) + pick.of([0, 30_000, 90_000_000]),
      }, flag ? pick.of(SENDERS) : live?.holder ?? "did:worker-a");
    case "YIELD":
    case "RELEASE":
      return send(verb, {
        needId: NEED_ID,
        taskId,
        leaseId: flag ? pick.of(LEASES) : live?.leaseId ?? "lease-1",
        reason: "test",
      }, flag ? pick.of(["did:monitor", ...WORKERS]) : live?.holder ?? "did:monitor");
    case "COMMIT":
      return send("COMMIT", {
        needId: NEED_ID,
        taskId,
        leaseId: flag ? pick.of(LEASES) : live?.leaseId ?? "lease-1",
        artifacts: pick.of([["bafy-artifact"], ["bafy-artifact"], []]),
        outputDigest: "abc",
        verifyBounty: 2,
        telemetry: { costUnits: 1, timeMs: 2, memoryBytes: 3 },
      }, flag ? pick.of(WORKERS) : live?.holder ?? "did:worker-b");
    case "ATTEST": {
      const latest = [...task?.commits.keys() ?? []].at(-1);
      return send("ATTEST", {
        needId: NEED_ID,
        taskId,
        commitId: flag || latest === undefined ? pick.of(commitIds(task)) : latest,
        verdict: pick.of(["pass", "pass", "fail"] as const),
        evalDigest: "digest",
      }, pick.of([...ACTIVE, ...ACTIVE, "did:outsider"]));
    }
    case "FINALIZE": {
      const commitId = flag || task?.verifiedCommit === undefined
        ? pick.of(commitIds(task))
        : task.verifiedCommit;
      return send("FINALIZE", {
        needId: NEED_ID,
        taskId,
        commitId,
        attesters: flag
          ? pick.some(approvalsOf(task, commitId), pick.of([false, true]))
          : [...approvalsOf(task, commitId)],
        kResult: (task?.kResult ?? 3) + pick.of([0, 0, -1, 1]),
      }, pick.of(DECIDERS));
    }
    case "CHALLENGE": {
      const withdraws = pick.of([undefined, undefined, ...thread?.challenges?.keys() ?? []]);
      const proofType = pick.of(PROOF_TYPES);
      const bond = challengeBond(proofType, "SIMPLE", PARAMS.economics);
      return send("CHALLENGE", {
        needId: NEED_ID,
        taskId,
        commitId: pick.of(commitIds(task)),
        proofType,
        evidence: pick.of([EVIDENCE, EVIDENCE, "not-a-cid"]),
        evidenceBytes: pick.of([5, 0, 1_000_000]),
        bond: flag ? bond + 1 : bond,
        ...(withdraws === undefined ? {} : { withdraws }),
      }, pick.of([...SENDERS, "did:challenger"]));
    }
    case "INVALIDATE": {
      const decider = thread?.decision?.decider ?? pick.of(DECIDERS);
      const sender = pick.of([decider, decider, pick.of(SENDERS)]);
      if (flag) {
        return send("INVALIDATE", { target: "NEED", needId: NEED_ID, code: "E_DEADLINE" }, sender);
      }
      const challenges = [...thread?.challenges?.values() ?? []];
      const challenge = challenges.length === 0 ? undefined : pick.of(challenges);
      const ruledTask = taskOf(world, challenge?.taskId ?? taskId);
      const commitId = challenge?.commitId ?? pick.of(commitIds(ruledTask));
      const attesters = approvalsOf(ruledTask, commitId);
      const committee = [...ACTIVE].filter((member) => !attesters.includes(member));
      return send("INVALIDATE", {
        target: "CHALLENGE",
        needId: NEED_ID,
        taskId: challenge?.taskId ?? taskId,
        commitId,
        challengeId: challenge?.challengeId ?? "ch-unknown",
        verdict: pick.of(CHALLENGE_VERDICTS),
        code: "OK",
        severity: 0,
        kResult: pick.of([1, 2, 3, 9]),
        committee: pick.of([committee, committee, [...ACTIVE], []]),
        attesters: [...attesters],
        dissenters: [...ruledTask?.commits.get(commitId)?.tally.rejections ?? []],
        slashes: attesters.map((account) => ({ account, amount: 10 })),
        reward: 0,
      }, sender);
    }
    case "REPEAT": {
      if (world.sent.length === 0) return undefined;
      return { message: pick.of(world.sent), view, repeat: true };
    }
    case "DROP": {
      if (world.mode !== "ap") return undefined;
      const kept = pick.of(LEASES);
      const dropped = pick.of(LEASES.filter((lease) => lease !== kept));
      return { drop: { needId: NEED_ID, taskId, kept, dropped } };
    }
  }
}

/** The verb an honest node would send next (its fields then chosen without the hostile variants). */
function honestVerb(thread: ThreadState | undefined, nowMs: number): Step["verb"] {
  if (thread === undefined) return "NEED";
  if (thread.phase === "OPEN") {
    if (thread.proposals.size === 0) return "PROPOSE";
    return thread.quorumProposal === undefined ? "ATTEST_PLAN" : "DECIDE";
  }
  if (thread.phase !== "DECIDED") return "TICK";
  const task = [...thread.tasks.values()].find((each) => each.status !== "FINAL");
  switch (task?.status) {
    case "DRAFT":
    case "DECIDED":
      return "CLAIM";
    case "CLAIMED":
      return nowMs > (task.lease?.expiresAtMs ?? 0) ? "RELEASE" : "COMMIT";
    case "COMMITTED":
      return "ATTEST";
    case "VERIFIED":
      return nowMs < (task.finalizeAfterMs ?? 0) ? "TICK" : "FINALIZE";
    default:
      return "TICK";
  }
}

/** Applies one message or drop to a thread. */
/**
 * Applies one message or drop to a thread, with the economy's checks as the
 * node's thread book runs them; the ledger moves only once it is taken.
 */
function apply(thread: ThreadState | undefined, applied: Applied, economy: Economy) {
  if ("drop" in applied) {
    if (thread === undefined) throw new ProtocolError("E_UNKNOWN_NEED", "no thread");
    return dropLease(thread, applied.drop);
  }
  const transition = reduce(thread, applied.message, applied.view);
  economy.admit(applied.message, thread, transition, applied.view);
  return {
    ...transition,
    settle: () => economy.apply(applied.message, thread, transition, applied.view),
  };
}

/** An economy in which every sender is funded and staked at genesis. */
function economy(): Promise<Economy> {
  const people = [...new Set([...SENDERS, "did:challenger", "did:monitor"])];
  return genesisEconomy(PARAMS, people, [...ACTIVE]);
}

/** The safety properties of one accepted transition from `before` to `after`. */
function checkTransition(
  before: ThreadState | undefined,
  after: ThreadState,
  applied: Applied,
  nowMs: number,
): void {
  if (before?.phase === "FINAL") assert.equal(after.phase, "FINAL", "a FINAL NEED stays FINAL");
  if (after.phase === "FINAL") {
    assert.ok(after.tasks.size > 0, "a FINAL NEED has tasks");
    for (const task of after.tasks.values()) assert.equal(task.status, "FINAL");
  }
  for (const task of before?.tasks.values() ?? []) {
    if (task.status !== "FINAL") continue;
    const now = after.tasks.get(task.taskId);
    assert.equal(now?.status, "FINAL", `${task.taskId} stays FINAL`);
    assert.equal(now?.verifiedCommit, task.verifiedCommit, `${task.taskId} keeps its result`);
    const result = now?.commits.get(task.verifiedCommit ?? "");
    assert.notEqual(result?.invalidated, true, `${task.taskId}'s final result is not invalidated`);
  }
  for (const task of after.tasks.values()) {
    const earlier = before?.tasks.get(task.taskId);
    const dropped = new Set(task.droppedLeases?.map((each) => each.leaseId));
    if (task.status === "CLAIMED") {
      assert.ok(task.lease !== undefined, "a CLAIMED task has a lease");
    }
    const history = task.leaseIds ?? [];
    assert.equal(new Set(history).size, history.length, "a lease is claimed once");
    const live = task.lease?.leaseId;
    if (live !== undefined && live !== earlier?.lease?.leaseId) {
      // A new live lease: never one that ran before, and after the one its CLAIM names.
      assert.ok(!earlier?.leaseIds?.includes(live), `lease ${live} came back`);
      const claim = "message" in applied
        ? applied.message.payload as PayloadOf["CLAIM"]
        : undefined;
      if (claim?.after !== undefined) {
        const followed = earlier?.leaseIds?.includes(claim.after) === true ||
          earlier?.droppedLeases?.some((each) => each.leaseId === claim.after) === true;
        assert.ok(followed, `lease ${claim.after} was not seen`);
      }
    }
    assert.ok(!dropped.has(task.lease?.leaseId ?? ""), "a dropped lease is never live");
    if (task.status === "VERIFIED" || task.status === "FINAL") {
      assert.ok(task.commits.has(task.verifiedCommit ?? ""), "a verified task holds its commit");
    }
    for (const commit of task.commits.values()) {
      assert.ok(!dropped.has(commit.leaseId), "no commit of a dropped lease is kept");
      if (earlier?.commits.has(commit.commitId) !== false) continue;
      // A new commit: only the live lease's holder, in time, with an artifact.
      const lease = earlier.lease;
      assert.equal(commit.worker, lease?.holder, "a commit comes from the lease holder");
      assert.equal(commit.leaseId, lease?.leaseId, "under the live lease");
      assert.ok(nowMs <= (lease?.expiresAtMs ?? -1), "before the lease expires");
      assert.ok(commit.artifacts.length > 0, "with an artifact");
    }
    if (task.status !== "FINAL" || earlier?.status === "FINAL") continue;
    // Newly FINAL: its commit carries K_result distinct approvals from its committee.
    const commit = task.commits.get(task.verifiedCommit ?? "");
    assert.ok(commit !== undefined && commit.invalidated !== true, "a valid commit");
    const approvals = commit.tally.approvals;
    const committee = resultCommitteeOf(after, task) ?? [...ACTIVE];
    assert.equal(new Set(approvals).size, approvals.length, "approvals are distinct");
    assert.ok(approvals.length >= task.kResult, `${approvals.length} approvals, K ${task.kResult}`);
    for (const voter of approvals) {
      assert.ok(committee.includes(voter), `${voter} on the committee`);
    }
    for (const attester of task.finalAttesters ?? []) assert.ok(approvals.includes(attester));
    assert.ok(nowMs >= (task.finalizeAfterMs ?? Infinity), "after the challenge window");
  }
  const decision = after.decision;
  if (decision === undefined) return;
  const approvals = after.proposals.get(decision.proposalId)?.tally.approvals ?? [];
  assert.ok(decision.kPlan >= 1 && approvals.length >= decision.kPlan, "a decision has its quorum");
  for (const voter of approvals) assert.ok(ACTIVE.has(voter), `${voter} is an active verifier`);
  if ("message" in applied && applied.message.kind === "DECIDE" && before?.decision !== decision) {
    const { approvers } = applied.message.payload as PayloadOf["DECIDE"];
    for (const approver of approvers) assert.ok(approvals.includes(approver), "approvals seen");
  }
}

/** Runs the steps; returns what was accepted and the effects, for the replay check. */
async function run(mode: "cp" | "ap", steps: readonly Step[]) {
  const ledger = await economy();
  const supply = ledger.ledger.supply;
  const world: World = { mode, thread: undefined, nowMs: 1_000, sequence: 0, sent: [] };
  // Most runs open the NEED first; the rest show that nothing before it is taken.
  const opening: Step = { verb: "NEED", picks: [0], flag: false };
  const accepted: Applied[] = [];
  const effects: Effect[] = [];
  const finals = new Map<string, number>();
  for (const each of steps[0]?.picks[7] === 0 ? steps : [opening, ...steps]) {
    const applied = interpret(world, each);
    if (applied === undefined) continue;
    const before = world.thread;
    const snapshot = structuredClone(before);
    let transition;
    try {
      transition = apply(before, applied, ledger);
    } catch (error) {
      assert.ok(error instanceof ProtocolError, `an untyped refusal: ${String(error)}`);
      assert.match(error.code, CODE);
      assert.deepEqual(before, snapshot, "a refused message leaves the state as it was");
      continue;
    }
    assert.deepEqual(before, snapshot, "a transition does not change the state it started from");
    checkTransition(before, transition.thread, applied, world.nowMs);
    if ("settle" in transition) transition.settle();
    ledger.ledger.audit(); // supply = Σ(balance + locked + unbonding) + burned, escrows consistent
    assert.equal(ledger.ledger.supply, supply, "no message mints credit");
    if ("repeat" in applied && applied.repeat === true) {
      assert.deepEqual(
        transition.thread,
        before,
        `a repeated ${applied.message.kind} changes nothing`,
      );
    } else if ("message" in applied) world.sent.push(applied.message);
    for (const effect of transition.effects) {
      if (effect.type !== "task-final" && effect.type !== "need-final") continue;
      const key = effect.type === "task-final" ? effect.taskId : "need";
      finals.set(key, (finals.get(key) ?? 0) + 1);
      assert.equal(finals.get(key), 1, `${key} becomes final once`);
    }
    world.thread = transition.thread;
    accepted.push(applied);
    effects.push(...transition.effects);
  }
  return { thread: world.thread, accepted, effects, ledger };
}

Deno.test("the reducer under hostile runs: typed refusals, pure transitions, safety after every message, replayable", async () => {
  const reached = new Set<string>();
  const genesisOperations = (await economy()).stats().operations;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<"cp" | "ap">("cp", "ap"),
      fc.array(step, { minLength: 30, maxLength: 150, size: "max" }),
      async (mode, steps) => {
        const { thread, accepted, effects, ledger } = await run(mode, steps);
        let replayed: ThreadState | undefined;
        const again: Effect[] = [];
        const replayLedger = await economy();
        for (const applied of accepted) {
          const transition = apply(replayed, applied, replayLedger);
          if ("settle" in transition) transition.settle();
          replayed = transition.thread;
          again.push(...transition.effects);
        }
        assert.deepEqual(replayed, thread, "replaying the accepted messages rebuilds the thread");
        assert.deepEqual(again, effects, "and the same effects");
        assert.deepEqual(replayLedger.stats(), ledger.stats(), "and the same ledger");
        for (const effect of effects) reached.add(effect.type);
        for (const task of thread?.tasks.values() ?? []) reached.add(task.status);
        const { operations, rulings } = ledger.stats();
        if (operations > genesisOperations) reached.add("ledger-moved");
        if (Object.keys(rulings).length > 0) reached.add("ruling-settled");
      },
    ),
    { numRuns: 600 },
  );
  // The runs are only worth as much as the states they reach.
  const states = [
    "need-final",
    "need-expired",
    "need-superseded",
    "challenge-resolved",
    "result-quorum",
    "VERIFIED",
    "DRAFT",
    "ledger-moved",
    "ruling-settled",
  ];
  for (const wanted of states) {
    assert.ok(reached.has(wanted), `no run reached ${wanted}: ${[...reached].join(", ")}`);
  }
});

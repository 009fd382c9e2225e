// Proves each property checker flags a crafted violation in a history (and passes the same history without it), that the registry is open and survives a crashing checker, and that failure windows show the involved NEED.
import assert from "node:assert/strict";
import { msToNs } from "../../../runtime/env.ts";
import { bucketOf, type DecideRecord } from "../../../runtime/store/decide_log.ts";
import { committeeFor } from "../../../protocols/committee.ts";
import type {
  LifecycleMessage,
  LifecycleVerb,
  PayloadOf,
} from "../../../protocols/lifecycle/payloads.ts";
import { swarmParams } from "../../../protocols/params.ts";
import { runWork } from "../../../protocols/work.ts";
import {
  AGREEMENT,
  type CheckContext,
  type Checker,
  CheckerRegistry,
  LEDGER_INVARIANT,
  LIVENESS,
  NEMESES_FIRED,
  P1_SINGLE_DECIDE,
  P3_CHALLENGES,
  P4_FENCING,
  P5_LEASES,
  P6_QUORUM,
  renderEvent,
  violationWindow,
} from "../../../sim/checkers/mod.ts";
import { STEADY_OUTAGE_MAX_MS } from "../../../sim/checkers/ledger.ts";
import {
  castNodes,
  History,
  type NewHistoryEvent,
  SWARM_PRESETS,
  type SwarmScenario,
} from "../../../sim/swarm/mod.ts";

const VERIFIERS = ["did:n0", "did:n1", "did:n2", "did:n3", "did:n4", "did:n5", "did:n6"];
const NEED = "need-1";

class Recorder {
  nowMs = 0;
  readonly history = new History(() => msToNs(this.nowMs));
  #id = 0;

  constructor() {
    VERIFIERS.forEach((did, index) => this.history.nameDid(did, `node-${index}`));
  }

  at(ms: number): this {
    this.nowMs = ms;
    return this;
  }

  push(event: NewHistoryEvent): number {
    return this.history.push(event).seq;
  }

  accept<V extends LifecycleVerb>(
    node: number,
    kind: V,
    payload: PayloadOf[V],
    sender: number,
    id?: string,
    replayedMadeAtMs?: number,
  ) {
    const message: LifecycleMessage<V> = {
      id: id ?? `env-${this.#id++}`,
      kind,
      thread: (payload as { needId?: string }).needId ?? NEED,
      sender: VERIFIERS[sender],
      lamport: this.#id,
      payload,
      ...(replayedMadeAtMs === undefined ? {} : { replayedMadeAtMs }),
    };
    return this.push({ type: "accepted", node: `node-${node}`, nodeMs: this.nowMs, message });
  }
}

function context(recorder: Recorder, scenario: SwarmScenario = SWARM_PRESETS.steady): CheckContext {
  return {
    history: recorder.history,
    scenario,
    params: swarmParams(scenario.params),
    plans: castNodes(scenario),
    verifiers: new Set(VERIFIERS),
    endNs: msToNs(200_000),
    upNodes: new Set(VERIFIERS.map((_, index) => `node-${index}`)),
    auditLogs: new Map(),
    policyHash: "policy",
    participants: new Map(),
  };
}

async function verdict(checker: Checker, recorder: Recorder, scenario?: SwarmScenario) {
  return await checker.check(context(recorder, scenario));
}

const record = (overrides: Partial<DecideRecord> = {}): DecideRecord => ({
  needId: NEED,
  proposalId: "p1",
  epoch: 0,
  lamport: 9,
  kPlan: 2,
  decider: VERIFIERS[0],
  fence: 1,
  decidedAtMs: 0,
  ...overrides,
});

function decideWrite(recorder: Recorder, written: DecideRecord, logFence = 1, replica = "cp") {
  return recorder.push({
    type: "log",
    node: "node-0",
    replica,
    outcome: "decided",
    logEpoch: 0,
    op: "decide",
    record: written,
    logFence,
  });
}

Deno.test("P1 flags a second decision in the log and nodes accepting different DECIDEs", async () => {
  const clean = new Recorder();
  decideWrite(clean, record());
  clean.accept(1, "DECIDE", { ...record(), approvers: [] }, 0);
  clean.accept(2, "DECIDE", { ...record(), approvers: [] }, 0);
  assert.equal((await verdict(P1_SINGLE_DECIDE, clean)).status, "pass");

  const twice = new Recorder();
  decideWrite(twice, record());
  decideWrite(twice, record({ proposalId: "p2" }));
  assert.match((await verdict(P1_SINGLE_DECIDE, twice)).violations[0].message, /decided twice/);

  const split = new Recorder();
  split.accept(1, "DECIDE", { ...record(), approvers: [] }, 0);
  split.accept(2, "DECIDE", { ...record({ proposalId: "p2" }), approvers: [] }, 0);
  assert.match(
    (await verdict(P1_SINGLE_DECIDE, split)).violations[0].message,
    /node-1 accepted p1/,
  );
});

Deno.test("P1 in AP mode flags a node still holding a losing decision after the heal", async () => {
  const recorder = new Recorder();
  const ap = { ...SWARM_PRESETS["partition-ap"] };
  const winner = record({ proposalId: "p2", lamport: 20, decider: VERIFIERS[3] });
  decideWrite(recorder, record(), 1, "ap-1");
  decideWrite(recorder, winner, 1, "ap-2");
  const effect = (node: number, decision: DecideRecord) =>
    recorder.push({
      type: "effect",
      node: `node-${node}`,
      nodeMs: 0,
      effect: { type: "need-decided", needId: NEED, proposalId: decision.proposalId },
      phase: "DECIDED",
      decision,
    });
  effect(1, winner);
  assert.equal((await verdict(P1_SINGLE_DECIDE, recorder, ap)).status, "pass");
  effect(2, record());
  const result = await verdict(P1_SINGLE_DECIDE, recorder, ap);
  assert.match(result.violations[0].message, /node-2 still holds p1 .* the winner is p2/);
});

Deno.test("P4 flags a write under a stale fence and a DECIDE accepted that was never written", async () => {
  const stale = new Recorder();
  decideWrite(stale, record({ fence: 1 }), 2);
  assert.match((await verdict(P4_FENCING, stale)).violations[0].message, /bucket's fence 2/);

  const forged = new Recorder();
  decideWrite(forged, record());
  forged.accept(3, "DECIDE", { ...record({ decider: VERIFIERS[6], fence: 99 }), approvers: [] }, 6);
  assert.match((await verdict(P4_FENCING, forged)).violations[0].message, /never wrote/);
});

Deno.test("P4 flags a ruling accepted from a node that neither decided the NEED nor took its bucket's fence", async () => {
  const ruled = (fencedBy?: number) => {
    const recorder = new Recorder();
    decideWrite(recorder, record());
    recorder.accept(1, "DECIDE", { ...record(), approvers: [] }, 0);
    if (fencedBy !== undefined) {
      recorder.push({
        type: "log",
        node: `node-${fencedBy}`,
        replica: "cp",
        outcome: "ok",
        logEpoch: 0,
        op: "fence",
        bucket: bucketOf(NEED),
        token: 2,
      });
    }
    const expiry = { target: "NEED", needId: NEED, code: "E_DEADLINE" } as const;
    recorder.at(10).accept(1, "INVALIDATE", expiry, 0); // the NEED's decider
    recorder.at(20).accept(1, "INVALIDATE", expiry, 4);
    return recorder;
  };
  assert.equal((await verdict(P4_FENCING, ruled(4))).status, "pass", "node-4 took the fence");
  for (const recorder of [ruled(), ruled(5)]) {
    const result = await verdict(P4_FENCING, recorder);
    assert.equal(result.violations.length, 1);
    assert.match(
      result.violations[0].message,
      /from node-4, which neither decided it nor had taken/,
    );
  }
});

function claim(recorder: Recorder, node: number, leaseId: string, sender = node) {
  return recorder.accept(node, "CLAIM", {
    needId: NEED,
    taskId: "t1",
    leaseId,
    leaseTtlMs: 60_000,
    grantedAtMs: 0,
    cost: 1,
    etaMs: 1,
    heartbeatIntervalMs: 20_000,
  }, sender);
}

function commit(
  recorder: Recorder,
  node: number,
  leaseId: string,
  sender = node,
  id?: string,
  replayedMadeAtMs?: number,
) {
  return recorder.accept(
    node,
    "COMMIT",
    {
      needId: NEED,
      taskId: "t1",
      leaseId,
      artifacts: ["a"],
      outputDigest: "d",
      verifyBounty: 1,
      telemetry: { costUnits: 1, timeMs: 1, memoryBytes: 1 },
    },
    sender,
    id,
    replayedMadeAtMs,
  );
}

Deno.test("P5 flags overlapping leases, a commit after expiry (a replayed one judged when made), and a second claim without a reopen", async () => {
  const overlap = new Recorder();
  const lease = (leaseId: string, outcome: "granted" | "forced") =>
    overlap.push({
      type: "log",
      node: "node-1",
      replica: "cp",
      outcome,
      logEpoch: 0,
      op: "lease",
      lease: { taskId: "t1", leaseId, holder: "w", grantedAtMs: 0, expiresAtMs: 60_000, epoch: 0 },
    });
  lease("a", "granted");
  lease("b", "forced");
  assert.match(
    (await verdict(P5_LEASES, overlap)).violations[0].message,
    /while lease a was still held/,
  );

  const late = new Recorder();
  claim(late, 1, "a");
  claim(late, 2, "a", 1);
  late.at(61_000);
  commit(late, 2, "a", 1);
  assert.match((await verdict(P5_LEASES, late)).violations[0].message, /expired at 60000 ms/);

  // A node catching up replays a COMMIT made in time that another node accepted live: fine.
  const caughtUp = new Recorder();
  claim(caughtUp, 1, "a");
  caughtUp.at(50_000);
  commit(caughtUp, 1, "a", 1, "commit-a");
  caughtUp.at(200_000);
  claim(caughtUp, 2, "a", 1);
  commit(caughtUp, 2, "a", 1, "commit-a", 50_000);
  assert.equal((await verdict(P5_LEASES, caughtUp)).status, "pass");
  // Replayed, but made after the lease ran out, or accepted live nowhere: violations.
  const replayedLate = new Recorder();
  claim(replayedLate, 1, "a");
  replayedLate.at(200_000);
  claim(replayedLate, 2, "a", 1);
  commit(replayedLate, 2, "a", 1, "commit-b", 60_001);
  assert.deepEqual(
    (await verdict(P5_LEASES, replayedLate)).violations.map((violation) => violation.message),
    [
      "node-2 accepted a replayed COMMIT for t1 that no node had accepted live",
      "node-2 accepted a COMMIT for t1 at 60001 ms under lease a, which expired at 60000 ms on its clock",
    ],
  );

  const reclaim = new Recorder();
  claim(reclaim, 1, "a");
  commit(reclaim, 1, "a");
  claim(reclaim, 2, "b");
  assert.match((await verdict(P5_LEASES, reclaim)).violations[0].message, /still stood/);

  const reopened = new Recorder();
  claim(reopened, 1, "a");
  claim(reopened, 3, "a", 1); // node-3 learns of it
  reopened.push({
    type: "effect",
    node: "node-3",
    nodeMs: 0,
    effect: { type: "task-ready", needId: NEED, taskId: "t1" },
    phase: "DECIDED",
    decision: undefined,
    taskStatus: "DRAFT",
  });
  claim(reopened, 2, "b");
  assert.equal((await verdict(P5_LEASES, reopened)).status, "pass");

  // AP: two sides of a partition each leased t1; the merge after the heal dropped one.
  const split = (leases: { kept: string; dropped: string }[]) => {
    const recorder = new Recorder();
    claim(recorder, 1, "a");
    claim(recorder, 2, "b");
    recorder.push({
      type: "merge",
      winners: [],
      orphaned: [],
      leases: leases.map((drop) => ({ needId: NEED, taskId: "t1", ...drop })),
    });
    return recorder;
  };
  assert.equal((await verdict(P5_LEASES, split([{ kept: "b", dropped: "a" }]))).status, "pass");
  assert.match(
    (await verdict(P5_LEASES, split([{ kept: "c", dropped: "a" }]))).violations[0].message,
    /still stood/,
    "a merge that dropped another pair does not excuse this one",
  );
});

Deno.test("P5 flags a lease the CP log granted on a task some node already held FINAL", async () => {
  const run = (replica: string) => {
    const recorder = new Recorder();
    recorder.push({
      type: "effect",
      node: "node-1",
      nodeMs: 0,
      effect: { type: "task-final", needId: NEED, taskId: "t1", commitId: "c1" },
      phase: "FINAL",
      decision: undefined,
      taskStatus: "FINAL",
    });
    recorder.push({
      type: "log",
      node: "node-2",
      replica,
      outcome: "granted",
      logEpoch: 0,
      op: "lease",
      lease: {
        taskId: "t1",
        leaseId: "again",
        holder: "w",
        grantedAtMs: 0,
        expiresAtMs: 1,
        epoch: 0,
      },
    });
    return recorder;
  };
  assert.match((await verdict(P5_LEASES, run("cp"))).violations[0].message, /after it was final/);
  // An AP side that did not know may lease it; the merge sorts that out (c).
  assert.equal((await verdict(P5_LEASES, run("side-a"))).violations.length, 0);
});

Deno.test("P6 flags a DECIDE under quorum, from outside the committee, or citing a vote never sent", async () => {
  const params = swarmParams({});
  const members = committeeFor("plan", NEED, new Set(VERIFIERS), params, false);
  const outsider = VERIFIERS.find((did) => !members.includes(did)) as string;
  const index = (did: string) => VERIFIERS.indexOf(did);
  const vote = (recorder: Recorder, did: string) =>
    recorder.accept(
      0,
      "ATTEST_PLAN",
      { needId: NEED, proposalId: "p1", verdict: "approve" },
      index(did),
    );
  const decide = (recorder: Recorder, approvers: string[]) =>
    recorder.accept(0, "DECIDE", { ...record(), approvers }, 0);

  const good = new Recorder();
  vote(good, members[0]);
  vote(good, members[1]);
  decide(good, [members[0], members[1]]);
  assert.equal((await verdict(P6_QUORUM, good)).status, "pass");

  const short = new Recorder();
  vote(short, members[0]);
  decide(short, [members[0]]);
  assert.match(
    (await verdict(P6_QUORUM, short)).violations[0].message,
    /1 distinct backers for K = 2/,
  );

  const stranger = new Recorder();
  vote(stranger, members[0]);
  vote(stranger, outsider);
  decide(stranger, [members[0], outsider]);
  assert.match((await verdict(P6_QUORUM, stranger)).violations[0].message, /not on the committee/);

  const silent = new Recorder();
  vote(silent, members[0]);
  decide(silent, [members[0], members[1]]);
  assert.match((await verdict(P6_QUORUM, silent)).violations[0].message, /never voted for it/);
});

/** Node `node` accepts the NEED posted by verifier 1. */
const need = (recorder: Recorder, node: number) =>
  recorder.accept(
    node,
    "NEED",
    {
      needId: NEED,
      epoch: 0,
      requires: [],
      produces: [],
      budget: 10,
      bounty: 5,
      deadlineMs: 1e9,
      task: { op: "reverse", input: "x", rounds: 1 },
    },
    1,
    "need-env",
  );

Deno.test("liveness flags a NEED that never ended, judging only NEEDs that left their node", async () => {
  const lonely = new Recorder();
  need(lonely, 1);
  assert.equal((await verdict(LIVENESS, lonely)).status, "skipped", "lost with its requester");

  const stuck = new Recorder();
  need(stuck, 1);
  need(stuck, 2);
  assert.match((await verdict(LIVENESS, stuck)).violations[0].message, /never FINAL or EXPIRED/);

  stuck.at(20_000).push({
    type: "effect",
    node: "node-2",
    nodeMs: 0,
    effect: { type: "need-final", needId: NEED },
    phase: "FINAL",
    decision: undefined,
  });
  assert.equal((await verdict(LIVENESS, stuck)).status, "pass");
});

Deno.test("liveness counts its bound from the last BUGGIFY fault point that hit the NEED", async () => {
  // steady: the load ends at 20.5 s; the bound is 91 s, so a NEED is due at 111.5 s, or 91 s
  // after a later fault point that named it. A fault on another NEED moves nothing.
  const boundMs = SWARM_PRESETS.steady.livenessBoundMs;
  const run = (faults: { atMs: number; needId: string }[], finalMs: number) => {
    const recorder = new Recorder();
    for (const node of [1, 2]) need(recorder, node);
    for (const { atMs, needId } of faults) {
      recorder.at(atMs).push({ type: "fault", name: "worker.stall", node: "node-3", needId });
    }
    recorder.at(finalMs).push({
      type: "effect",
      node: "node-2",
      nodeMs: finalMs,
      effect: { type: "need-final", needId: NEED },
      phase: "FINAL",
      decision: undefined,
    });
    return verdict(LIVENESS, recorder);
  };
  const healMs = 20_500;
  const late = healMs + boundMs + 5_000;
  assert.equal((await run([], healMs + boundMs)).status, "pass");
  const stuck = await run([{ atMs: 30_000, needId: "another-need" }], late);
  assert.match(stuck.violations[0].message, /terminal only at/);
  assert.equal((await run([{ atMs: 30_000, needId: NEED }], late)).status, "pass");
  const still = await run([{ atMs: 30_000, needId: NEED }], 30_000 + boundMs + 1);
  assert.equal(still.violations.length, 1, "the bound runs from the fault, not from its end");
  assert.equal(still.violations[0].evidence.length, 2, "the fault is evidence");
});

Deno.test("agreement flags a task finalized for two commits", async () => {
  const recorder = new Recorder();
  const finalize = (node: number, commitId: string) =>
    recorder.accept(node, "FINALIZE", {
      needId: NEED,
      taskId: "t1",
      commitId,
      attesters: [],
      kResult: 1,
    }, 0);
  finalize(1, "c1");
  finalize(2, "c1");
  assert.equal((await verdict(AGREEMENT, recorder)).status, "pass");
  finalize(3, "c2");
  assert.match(
    (await verdict(AGREEMENT, recorder)).violations[0].message,
    /for commit c1 .* and for c2/,
  );
});

Deno.test("P3 flags the invalidation of a valid result, and is skipped without challenges", async () => {
  const recorder = new Recorder();
  const spec = { op: "reverse", input: "abc", rounds: 1 };
  recorder.accept(0, "PROPOSE", {
    needId: NEED,
    proposalId: "p1",
    ballot: 1,
    patch: [{ op: "ADD_TASK", taskId: "t1", spec }],
    cost: 1,
    etaMs: 1,
    shardDependencies: [],
  }, 0);
  recorder.accept(
    0,
    "COMMIT",
    {
      needId: NEED,
      taskId: "t1",
      leaseId: "a",
      artifacts: ["x"],
      outputDigest: runWork(spec).digest,
      verifyBounty: 1,
      telemetry: { costUnits: 1, timeMs: 1, memoryBytes: 1 },
    },
    1,
    "commit-ok",
  );
  assert.equal((await verdict(P3_CHALLENGES, recorder)).status, "skipped");
  const invalidate = (ruling: Record<string, unknown>, id: string) =>
    recorder.accept(
      0,
      "INVALIDATE" as LifecycleVerb,
      {
        target: "CHALLENGE",
        needId: NEED,
        taskId: "t1",
        commitId: "commit-ok",
        ...ruling,
      } as never,
      2,
      id,
    );
  invalidate({ challengeId: "c1", verdict: "REJECTED", committee: [], slashes: [] }, "inv-1");
  assert.equal((await verdict(P3_CHALLENGES, recorder)).status, "pass", "a rejected challenge");
  invalidate({
    challengeId: "c2",
    verdict: "UPHELD",
    committee: ["did:n1"],
    slashes: [{ account: "did:n2", amount: 1 }],
  }, "inv-2");
  assert.match(
    (await verdict(P3_CHALLENGES, recorder)).violations[0].message,
    /Challenge c2 on commit commit-ok was upheld but the commit was a valid result/,
  );
  recorder.accept(0, "FINALIZE", {
    needId: NEED,
    taskId: "t1",
    commitId: "commit-ok",
    attesters: [],
    kResult: 1,
  }, 0);
  const result = await verdict(P3_CHALLENGES, recorder);
  assert.match(
    result.violations[1].message,
    /accepted a FINALIZE of commit commit-ok, which an upheld/,
  );
});

Deno.test("the ledger flags credit created from nothing and nodes disagreeing; skipped without one", async () => {
  const recorder = new Recorder();
  assert.equal((await verdict(LEDGER_INVARIANT, recorder)).status, "skipped");
  const snapshot = (node: string, held: number, digest = "d", operations = 5) =>
    recorder.push({
      type: "ledger",
      node,
      supply: 100,
      held,
      burned: 10,
      invariant: "ok",
      digest,
      operations,
    });
  snapshot("node-0", 90);
  snapshot("node-1", 90);
  assert.equal((await verdict(LEDGER_INVARIANT, recorder)).status, "pass");
  snapshot("node-2", 91);
  assert.match((await verdict(LEDGER_INVARIANT, recorder)).violations[0].message, /= 101/);
  const split = new Recorder();
  split.push({
    type: "ledger",
    node: "node-0",
    supply: 100,
    held: 90,
    burned: 10,
    invariant: "ok",
    digest: "a",
    operations: 5,
  });
  split.push({
    type: "ledger",
    node: "node-1",
    supply: 100,
    held: 90,
    burned: 10,
    invariant: "ok",
    digest: "b",
    operations: 5,
  });
  assert.match(
    (await verdict(LEDGER_INVARIANT, split)).violations[0].message,
    /hold 2 different ledgers/,
  );
  // AP is held to the same: nodes that applied the same operations must hold the same ledger.
  const ap = { ...SWARM_PRESETS["partition-ap"], mode: "ap" as const };
  assert.equal((await verdict(LEDGER_INVARIANT, split, ap)).status, "fail");
});

Deno.test("the ledger flags nodes never away for long that end apart, whatever operations they applied", async () => {
  const run = (outageMs?: number, scenario = SWARM_PRESETS.steady) => {
    const recorder = new Recorder();
    if (outageMs !== undefined) {
      const kill = {
        type: "nemesis",
        nemesis: 0,
        kind: "kill-restart",
        nodes: ["node-1"],
      } as const;
      recorder.at(1_000).push({ ...kill, phase: "start", detail: "killed node-1" });
      recorder.at(1_000 + outageMs).push({ ...kill, phase: "end", detail: "restarted node-1" });
    }
    for (const [node, digest, operations] of [["node-0", "a", 7], ["node-1", "b", 5]] as const) {
      recorder.at(150_000).push({
        type: "ledger",
        node,
        supply: 100,
        held: 90,
        burned: 10,
        invariant: "ok",
        digest,
        operations,
      });
    }
    return verdict(LEDGER_INVARIANT, recorder, scenario);
  };
  const apart = await run();
  assert.equal(apart.status, "fail");
  assert.match(apart.violations[0].message, /never away .* hold 2 different ledgers/);
  assert.equal((await run(STEADY_OUTAGE_MAX_MS)).status, "fail", "a short kill excuses nothing");
  // Away longer, node-1 may never hear of a NEED that ended meanwhile: only equal counts compare.
  assert.equal((await run(STEADY_OUTAGE_MAX_MS + 1)).status, "pass");
  // Without audit logs, a killed node may lose a NEED of its own that nobody else heard of.
  const unaudited = { ...SWARM_PRESETS.steady, audit: false };
  assert.equal((await run(1_000, unaudited)).status, "pass");
  assert.equal((await run(undefined, unaudited)).status, "fail");
});

Deno.test("N flags a scheduled nemesis that never fired or did nothing", async () => {
  const scenario = {
    ...SWARM_PRESETS.steady,
    nemeses: [{ kind: "pause" as const, atMs: 1_000, durationMs: 500, target: "any" as const }],
  };
  const recorder = new Recorder();
  assert.match(
    (await verdict(NEMESES_FIRED, recorder, scenario)).violations[0].message,
    /never fired/,
  );
  recorder.push({
    type: "nemesis",
    nemesis: 0,
    kind: "pause",
    phase: "no-op",
    detail: "nobody",
    nodes: [],
  });
  assert.match(
    (await verdict(NEMESES_FIRED, recorder, scenario)).violations[0].message,
    /did nothing/,
  );
});

Deno.test("the registry is open to new checkers and reports a crashing checker as failed", async () => {
  const registry = new CheckerRegistry([P1_SINGLE_DECIDE]).register({
    id: "P7",
    name: "crashes",
    description: "a checker with a bug",
    check: () => {
      throw new Error("boom");
    },
  });
  const results = await registry.runAll(context(new Recorder()));
  assert.deepEqual(results.map((result) => [result.id, result.status]), [["P1", "skipped"], [
    "P7",
    "fail",
  ]]);
  assert.match(results[1].violations[0].message, /Checker crashed: Error: boom/);
});

Deno.test("a violation's window holds the involved NEED's events between its evidence", () => {
  const recorder = new Recorder();
  const first = claim(recorder, 1, "a");
  recorder.at(5).accept(
    4,
    "ATTEST_PLAN",
    { needId: "other", proposalId: "x", verdict: "approve" },
    4,
  );
  recorder.at(10).push({
    type: "nemesis",
    nemesis: 0,
    kind: "pause",
    phase: "start",
    detail: "paused node-3",
    nodes: ["node-3"],
  });
  const middle = recorder.at(20).accept(2, "ATTEST_PLAN", {
    needId: NEED,
    proposalId: "p",
    verdict: "approve",
  }, 2);
  const stall = recorder.at(25).push({
    type: "fault",
    name: "worker.stall",
    node: "node-2",
    needId: NEED,
  });
  recorder.at(26).push({ type: "fault", name: "worker.stall", node: "node-4", needId: "other" });
  const last = claim(recorder.at(30), 2, "b");
  claim(recorder.at(40), 3, "c");
  const window = violationWindow(recorder.history, {
    message: "x",
    needId: NEED,
    evidence: [first, last],
  });
  const seqs = window.map((event) => event.seq);
  assert.ok([first, middle, stall, last].every((seq) => seqs.includes(seq)));
  assert.ok(window.some((event) => event.type === "nemesis"), "the fault active in the window");
  assert.equal(window.length, 5, "nothing of other NEEDs, nothing after the evidence");
  assert.match(
    renderEvent(recorder.history, recorder.history.events[stall]),
    /node-2 +BUGGIFY worker\.stall/,
  );
});

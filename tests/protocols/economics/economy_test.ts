// Proves the economy derives the right ledger operations from accepted lifecycle messages: escrow at NEED, payout at FINALIZE, slashing and rewards at an upheld INVALIDATE, bonds, refunds, heartbeat slashes, and typed refusals.
import assert from "node:assert/strict";
import { cidForBytes } from "../../../runtime/store/content_store.ts";
import { MICRO_PER_CREDIT } from "../../../protocols/economics/amounts.ts";
import { Economy } from "../../../protocols/economics/economy.ts";
import {
  type ParticipantEntry,
  ParticipantRegistry,
} from "../../../protocols/economics/registry.ts";
import { diversityViolations } from "../../../protocols/economics/selection.ts";
import { isParkable, ProtocolError } from "../../../protocols/lifecycle/errors.ts";
import type { LifecycleVerb, PayloadOf } from "../../../protocols/lifecycle/payloads.ts";
import { reduce, type ReduceView } from "../../../protocols/lifecycle/reducer.ts";
import type { ThreadState } from "../../../protocols/lifecycle/state.ts";
import { swarmParams } from "../../../protocols/params.ts";
import { message, NEED_ID, needPayload, TASK_ID, VERIFIERS } from "../lifecycle/_fixture.ts";

const PARAMS = swarmParams({
  challengeWindowMs: 500,
  bidWindowMs: 10_000,
  economics: { challengeRateMax: 1 },
});
const CREDIT = MICRO_PER_CREDIT;
const GENESIS = 10_000_000 * CREDIT;
const STAKE = 1_000 * CREDIT;
const EVIDENCE = cidForBytes(new TextEncoder().encode("proof")).toString();
const PEOPLE = ["did:requester", "did:worker", "did:worker-2", "did:challenger", "did:decider"];

/** Reduces messages and runs the economy's hooks around them, as the node core does. */
class Node {
  thread: ThreadState | undefined;
  nowMs = 1_000;
  readonly economy: Economy;

  constructor(entries: ParticipantEntry[] = [...PEOPLE, ...VERIFIERS].map((did) => ({ did }))) {
    this.economy = new Economy({
      params: PARAMS,
      registry: ParticipantRegistry.from(entries, PARAMS.economics),
      verifiers: VERIFIERS,
    });
  }

  view(origin: "local" | "peer" = "peer"): ReduceView {
    return {
      nowMs: this.nowMs,
      params: PARAMS,
      epoch: 0,
      bootstrap: false,
      activeVerifiers: new Set(VERIFIERS),
      origin,
    };
  }

  send<V extends LifecycleVerb>(
    kind: V,
    payload: PayloadOf[V],
    sender: string,
    options: { id?: string; origin?: "local" | "peer"; stamp?: boolean } = {},
  ): void {
    const view = this.view(options.origin);
    const body = options.stamp ? this.economy.stamp(kind, this.thread, payload, view) : payload;
    const next = message(kind, body as PayloadOf[V], sender, options.id);
    const transition = reduce(this.thread, next, view);
    this.economy.admit(next, this.thread, transition, view);
    const before = this.thread;
    this.thread = transition.thread;
    this.economy.apply(next, before, transition, view);
    this.economy.ledger.audit();
  }

  balance(did: string): number {
    return this.economy.ledger.account(did).balance;
  }

  /** NEED (bounty 10, escrow 12) through a verified commit-1 attested by v1..v3. */
  verified(): void {
    this.send("NEED", needPayload({ deadlineMs: 100_000 }), "did:requester");
    this.send("PROPOSE", {
      needId: NEED_ID,
      proposalId: "p1",
      ballot: 1,
      patch: [{
        op: "ADD_TASK",
        taskId: TASK_ID,
        spec: { op: "sha256", input: "hello", rounds: 1 },
      }],
      cost: 5,
      etaMs: 100,
      shardDependencies: [],
    }, "did:planner");
    for (const voter of VERIFIERS.slice(0, 3)) {
      this.send("ATTEST_PLAN", { needId: NEED_ID, proposalId: "p1", verdict: "approve" }, voter);
    }
    this.send("DECIDE", {
      needId: NEED_ID,
      proposalId: "p1",
      epoch: 0,
      lamport: 10,
      kPlan: 3,
      decider: "did:decider",
      fence: 1,
      decidedAtMs: this.nowMs,
      approvers: VERIFIERS.slice(0, 3),
    }, "did:decider");
    this.claimAndCommit("did:worker", "lease-1", "commit-1");
    this.attest(VERIFIERS.slice(0, 3), "commit-1");
    this.send("ATTEST", {
      needId: NEED_ID,
      taskId: TASK_ID,
      commitId: "commit-1",
      verdict: "fail",
      evalDigest: "d",
    }, VERIFIERS[3]);
  }

  /** FINALIZE of commit-1 by its first three attesters, after the challenge window. */
  finalize(): void {
    this.nowMs = 1_500;
    this.send("FINALIZE", {
      needId: NEED_ID,
      taskId: TASK_ID,
      commitId: "commit-1",
      attesters: VERIFIERS.slice(0, 3),
      kResult: 3,
    }, "did:decider");
  }

  claimAndCommit(worker: string, leaseId: string, commitId: string): void {
    this.send("CLAIM", {
      needId: NEED_ID,
      taskId: TASK_ID,
      leaseId,
      leaseTtlMs: 60_000,
      grantedAtMs: this.nowMs,
      cost: 1,
      etaMs: 1,
      heartbeatIntervalMs: 20_000,
    }, worker);
    this.send(
      "COMMIT",
      {
        needId: NEED_ID,
        taskId: TASK_ID,
        leaseId,
        artifacts: [EVIDENCE],
        outputDigest: "d",
        verifyBounty: 1,
        telemetry: { costUnits: 1, timeMs: 1, memoryBytes: 1 },
      },
      worker,
      { id: commitId },
    );
  }

  attest(voters: string[], commitId: string): void {
    for (const voter of voters) {
      this.send("ATTEST", {
        needId: NEED_ID,
        taskId: TASK_ID,
        commitId,
        verdict: "pass",
        evalDigest: "d",
      }, voter);
    }
  }

  challenge(challenger = "did:challenger", id = "ch-1", origin: "local" | "peer" = "peer"): void {
    this.send(
      "CHALLENGE",
      {
        needId: NEED_ID,
        taskId: TASK_ID,
        commitId: "commit-1",
        proofType: "SCHEMA_VIOLATION",
        evidence: EVIDENCE,
        evidenceBytes: 5,
        bond: 10,
      },
      challenger,
      { id, origin },
    );
  }

  rule(verdict: "UPHELD" | "REJECTED" | "WITHDRAWN" | "REFUSED", challengeId = "ch-1"): void {
    this.send(
      "INVALIDATE",
      {
        target: "CHALLENGE",
        needId: NEED_ID,
        taskId: TASK_ID,
        commitId: "commit-1",
        challengeId,
        verdict,
        code: verdict === "UPHELD" ? "OK" : "E_TEST",
        severity: 0,
      } as PayloadOf["INVALIDATE"],
      "did:decider",
      { stamp: true, origin: "local" },
    );
  }
}

function refused(code: string, action: () => void): ProtocolError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

async function opened(node = new Node()): Promise<Node> {
  await node.economy.open(undefined);
  return node;
}

Deno.test("a NEED escrows its bounty and verify bounty; one its requester cannot fund waits (parkable) and takes nothing", async () => {
  const node = await opened();
  node.verified();
  assert.equal(node.economy.ledger.account("did:requester").escrowed, 12 * CREDIT);
  const poor = await opened(
    new Node([{ did: "did:requester", genesisBalance: 5, genesisStake: 0 }]),
  );
  const error = refused("E_INSUFFICIENT_FUNDS", () => poor.verified());
  assert.ok(isParkable(error));
  assert.equal(error.retryAtMs, 1_000 + PARAMS.economics.fundingRetryMs);
  assert.equal(poor.thread, undefined);
  assert.deepEqual(poor.economy.ledger.account("did:requester").balance, 5 * CREDIT);
});

Deno.test("FINALIZE of the last task pays the worker the bounty and the FINALIZE's attesters equal shares", async () => {
  const node = await opened();
  node.verified();
  node.finalize();
  const ledger = node.economy.ledger;
  assert.equal(ledger.escrow(`need:${NEED_ID}`)?.status, "released");
  assert.equal(node.balance("did:worker"), GENESIS - STAKE + 10 * CREDIT);
  const shares = VERIFIERS.slice(0, 3).map((did) => node.balance(did) - (GENESIS - STAKE));
  assert.deepEqual(
    shares,
    [666_667, 666_667, 666_666],
    "2 credits in equal shares, to the micro-credit",
  );
  assert.equal(node.balance(VERIFIERS[3]), GENESIS - STAKE, "a dissenter is not paid");
  assert.ok(node.economy.reputation.get(VERIFIERS[3], node.nowMs) < 0.8, "and loses reputation");
  const operations = ledger.size;
  node.finalize();
  assert.equal(ledger.size, operations, "a repeated FINALIZE moves no credit");
});

Deno.test("a NEED replayed after its thread was forgotten, its escrow already paid out, is refused as closed", async () => {
  const node = await opened();
  node.verified();
  node.finalize();
  const balances = PEOPLE.map((did) => node.balance(did));
  // The node forgot the finished thread (retention); a captured copy of the NEED comes back.
  node.thread = undefined;
  const replay = refused(
    "E_NEED_CLOSED",
    () => node.send("NEED", needPayload({ deadlineMs: 100_000 }), "did:requester"),
  );
  assert.equal(isParkable(replay), false, "settled for good: it must not run and pay again");
  assert.deepEqual(PEOPLE.map((did) => node.balance(did)), balances);
});

Deno.test("a settled NEED's operations are forgotten by the sweep after its deadline and grace, when it can no longer be accepted", async () => {
  const node = await opened();
  const genesis = node.economy.stats().operationsRemembered;
  node.verified();
  node.finalize();
  const ledger = node.economy.ledger;
  assert.equal(node.economy.stats().operationsRemembered, genesis + 2, "its escrow and release");
  const balances = ledger.accountIds().map((id) => ledger.account(id));
  const until = 100_000 + PARAMS.needExpiryGraceMs; // the fixture's deadline, then the grace
  node.economy.sweep(until - 1);
  assert.equal(node.economy.stats().operationsRemembered, genesis + 2);
  node.economy.sweep(until);
  assert.equal(node.economy.stats().operationsRemembered, genesis);
  assert.equal(ledger.escrow(`need:${NEED_ID}`), undefined);
  assert.deepEqual(ledger.accountIds().map((id) => ledger.account(id)), balances);
  ledger.audit();
  // Nothing can derive them again: the same NEED is refused before the economy sees it.
  node.thread = undefined;
  node.nowMs = until;
  refused(
    "E_DEADLINE",
    () => node.send("NEED", needPayload({ deadlineMs: 100_000 }), "did:requester"),
  );
  assert.equal(ledger.account("did:requester").escrowed, 0);
});

Deno.test("a NEED escrowed here whose thread the node lost (a restart before any peer heard of it) is refunded after its deadline and grace", async () => {
  const node = await opened();
  node.send("NEED", needPayload({ deadlineMs: 100_000 }), "did:requester");
  const ledger = node.economy.ledger;
  assert.deepEqual(node.economy.openNeedsOf("did:requester", 99_999, 10), [NEED_ID]);
  assert.deepEqual(node.economy.openNeedsOf("did:requester", 100_000, 10), [], "past its deadline");
  assert.deepEqual(node.economy.openNeedsOf("did:worker", 1_000, 10), []);
  const lapsed = 100_000 + PARAMS.needExpiryGraceMs;
  node.economy.sweep(lapsed - 1, () => false);
  assert.equal(ledger.escrow(`need:${NEED_ID}`)?.status, "held", "not before the grace ends");
  node.economy.sweep(lapsed, () => false);
  assert.equal(node.balance("did:requester"), GENESIS - STAKE, "refunded whole");
  assert.equal(ledger.account("did:requester").escrowed, 0);
  ledger.audit();
  const held = await opened();
  held.send("NEED", needPayload({ deadlineMs: 100_000 }), "did:requester");
  held.economy.sweep(lapsed - 1, () => false);
  held.economy.sweep(lapsed, () => true);
  assert.equal(
    held.economy.ledger.escrow(`need:${NEED_ID}`)?.status,
    "held",
    "its thread expires it",
  );
});

Deno.test("an upheld challenge refunds the bond, pays the reward, slashes the attesters 50 % and reseats a larger committee", async () => {
  const node = await opened();
  node.verified();
  node.challenge();
  assert.equal(node.economy.ledger.account("did:challenger").escrowed, 10 * CREDIT);
  node.rule("UPHELD");
  const ledger = node.economy.ledger;
  for (const attester of VERIFIERS.slice(0, 3)) {
    assert.equal(ledger.account(attester).stake, STAKE / 2);
    assert.ok(Math.abs(node.economy.reputation.get(attester, node.nowMs) - 0.5) < 1e-9);
  }
  // Out of bootstrap the reward is 2 × the bond, paid from the challenger's half of the slashes.
  assert.equal(node.balance("did:challenger"), GENESIS - STAKE + 20 * CREDIT);
  assert.ok(Math.abs(node.economy.reputation.get("did:challenger", node.nowMs) - 0.9) < 1e-9);
  // The dissenter v4 shares the honest 40 % and what is left of the challenger's half.
  const slashed = 3 * 500 * CREDIT;
  assert.equal(node.balance(VERIFIERS[3]), GENESIS - STAKE + (slashed * 0.9 - 20 * CREDIT));
  assert.equal(ledger.burned, slashed * 0.1);
  const task = node.thread?.tasks.get(TASK_ID);
  assert.equal(task?.status, "DRAFT");
  assert.equal(task?.kResult, 5);
  assert.equal(task?.committee?.length, 6);
  for (const attester of VERIFIERS.slice(0, 3)) assert.ok(!task?.committee?.includes(attester));
  assert.equal(ledger.escrow(`need:${NEED_ID}`)?.status, "held", "the bounty stays for the redo");
});

Deno.test("an upheld ruling against a result already final and paid is refused; the bond goes back unruled", async () => {
  const node = await opened();
  node.verified();
  node.challenge();
  node.finalize(); // a decider that forgot the open challenge finalized anyway
  const ledger = node.economy.ledger;
  const paid = VERIFIERS.slice(0, 3).map((did) => ledger.account(did));
  const error = refused("E_OUT_OF_WINDOW", () => node.rule("UPHELD"));
  assert.equal(isParkable(error), false);
  assert.deepEqual(VERIFIERS.slice(0, 3).map((did) => ledger.account(did)), paid, "nobody slashed");
  assert.equal(node.thread?.tasks.get(TASK_ID)?.commits.get("commit-1")?.invalidated, undefined);
  assert.equal(ledger.escrow("bond:ch-1")?.status, "held");
  node.economy.sweep(node.nowMs + PARAMS.economics.challengeRefundAfterMs);
  assert.equal(node.balance("did:challenger"), GENESIS - STAKE, "refunded whole");
  assert.equal(ledger.account("did:challenger").escrowed, 0);
});

Deno.test("a rejected bond goes to the defenders; a withdrawn one costs the fee; a refused one is returned whole", async () => {
  const rejected = await opened();
  rejected.verified();
  rejected.challenge();
  rejected.rule("REJECTED");
  assert.equal(rejected.economy.ledger.escrow("bond:ch-1")?.status, "slashed");
  assert.equal(rejected.balance("did:challenger"), GENESIS - STAKE - 10 * CREDIT);
  assert.equal(
    rejected.balance("did:worker"),
    GENESIS - STAKE + 2_250_000,
    "9 credits over 4 defenders",
  );
  const withdrawn = await opened();
  withdrawn.verified();
  withdrawn.challenge();
  withdrawn.rule("WITHDRAWN");
  assert.equal(withdrawn.balance("did:challenger"), GENESIS - STAKE - 1 * CREDIT);
  const refusedNode = await opened();
  refusedNode.verified();
  refusedNode.challenge();
  refusedNode.rule("REFUSED");
  assert.equal(refusedNode.balance("did:challenger"), GENESIS - STAKE);
  assert.equal(refusedNode.economy.ledger.escrow("bond:ch-1")?.status, "refunded");
});

Deno.test("the challenger's own node refuses a challenge over its rate (E_CHALLENGE_RATE) and takes no bond", async () => {
  const node = await opened();
  node.verified();
  node.challenge("did:challenger", "ch-1", "local");
  node.rule("REFUSED");
  const before = node.balance("did:challenger");
  refused("E_CHALLENGE_RATE", () => node.challenge("did:challenger", "ch-2", "local"));
  assert.equal(node.balance("did:challenger"), before);
  node.challenge("did:challenger", "ch-3", "peer"); // a peer's is the decider's to rule on
});

Deno.test("an expired NEED is refunded once, whether its decider or the local fallback expires it", async () => {
  const node = await opened();
  node.verified();
  node.nowMs = 100_000;
  node.economy.expiredLocally(NEED_ID, node.nowMs);
  node.send("INVALIDATE", { target: "NEED", needId: NEED_ID, code: "E_DEADLINE" }, "did:decider");
  assert.equal(node.economy.ledger.escrow(`need:${NEED_ID}`)?.status, "refunded");
  assert.equal(node.balance("did:requester"), GENESIS - STAKE);
  assert.deepEqual(node.economy.stats().ledgerErrors, {});
});

Deno.test("a lease that expired without a commit slashes its holder for the missed heartbeats (burned)", async () => {
  const node = await opened();
  node.verified();
  // Reopen the verified task so that a second worker can take (and lose) a lease on it.
  node.challenge();
  node.rule("UPHELD");
  node.send("CLAIM", {
    needId: NEED_ID,
    taskId: TASK_ID,
    leaseId: "lease-2",
    leaseTtlMs: 60_000,
    grantedAtMs: node.nowMs,
    cost: 1,
    etaMs: 1,
    heartbeatIntervalMs: 20_000,
  }, "did:worker-2");
  node.nowMs += 60_001;
  const burned = node.economy.ledger.burned;
  node.send(
    "RELEASE",
    { needId: NEED_ID, taskId: TASK_ID, leaseId: "lease-2", reason: "expired" },
    "did:decider",
  );
  assert.equal(
    node.economy.ledger.account("did:worker-2").stake,
    STAKE * 0.97,
    "3 heartbeats missed: 3 %",
  );
  assert.equal(node.economy.ledger.burned - burned, STAKE * 0.03);
});

Deno.test("stamped committees respect the caps; a pinned committee that breaks them is refused", async () => {
  const entries = [...PEOPLE, ...VERIFIERS].map((did, index) => ({
    did,
    org: index % 2 === 0 ? "even" : "odd",
  }));
  const node = await opened(new Node(entries));
  const stamped = node.economy.stamp("NEED", undefined, { needId: NEED_ID }, node.view()) as {
    committee: string[];
  };
  const registry = node.economy.registry;
  // Four seats (K_plan 3 + 1) but two organisations, one seat each under the 30 % cap.
  assert.equal(stamped.committee.length, 2);
  assert.deepEqual(
    diversityViolations(stamped.committee.map((did) => registry.meta(did)), PARAMS.economics),
    [],
  );
  assert.deepEqual(
    node.economy.stamp("NEED", undefined, { needId: NEED_ID }, node.view()),
    stamped,
  );
  const need = needPayload({ deadlineMs: 100_000 });
  refused(
    "E_COMMITTEE_INVALID",
    () =>
      node.send(
        "NEED",
        { ...need, committee: [VERIFIERS[0], VERIFIERS[2], VERIFIERS[4]] },
        "did:requester",
      ),
  );
  assert.equal(node.economy.ledger.account("did:requester").escrowed, 0);
});

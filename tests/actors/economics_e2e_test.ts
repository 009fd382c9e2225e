// Proves the credit economy on a real in-process swarm: honest work pays worker and committee, a colluding wrong result is challenged, slashed, reopened and re-verified by a larger committee, a frivolous challenge loses its bond, related parties are not paid, an abandoned NEED is refunded, bad input is refused with typed codes, and every node ends with the same ledger.
import assert from "node:assert/strict";
import { LocalSwarm, type LocalSwarmOptions } from "../../cli/local_swarm.ts";
import type { AccountAnswer, EscrowsAnswer, LedgerSummary } from "../../protocols/economics/mod.ts";
import { cidForBytes } from "../../runtime/store/content_store.ts";
import { swarmParams } from "../../protocols/params.ts";

const GENESIS_FREE = 10_000_000 - 1_000; // default genesis balance less the default stake

async function withSwarm(
  options: Partial<LocalSwarmOptions>,
  body: (swarm: LocalSwarm) => Promise<void>,
): Promise<void> {
  const swarm = await LocalSwarm.start({
    nodes: 3,
    params: swarmParams({ challengeWindowMs: 300 }),
    consensus: "kv",
    ...options,
  });
  try {
    await body(swarm);
  } finally {
    await swarm.stop();
  }
}

/** Waits until every node holds no escrow and all ledgers agree; returns the common summary. */
async function settled(swarm: LocalSwarm, nodes: number): Promise<LedgerSummary> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const summaries = await Promise.all(
      Array.from({ length: nodes }, (_, index) => swarm.ledger(index, { kind: "summary" })),
    ) as LedgerSummary[];
    const agreed = summaries.every((summary) =>
      summary.digest === summaries[0].digest && summary.escrowsHeld === 0
    );
    if (agreed) {
      for (const summary of summaries) assert.equal(summary.invariant, "ok");
      return summaries[0];
    }
    if (Date.now() > deadline) assert.fail(`ledgers never agreed: ${JSON.stringify(summaries)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the NEED node `poster` has in flight is VERIFIED at node `observer`. */
async function verifiedNeed(swarm: LocalSwarm, poster: number, observer: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [posted] = (await swarm.needs(poster)).filter((need) => need.status === "in-flight");
    if (posted !== undefined) {
      const thread = await swarm.thread(observer, posted.needId);
      const task = [...(thread?.tasks.values() ?? [])][0];
      if (task?.status === "VERIFIED") return posted.needId;
    }
    if (Date.now() > deadline) assert.fail("the NEED never became VERIFIED");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until `observer` holds `needId` as FINAL (nodes apply a FINALIZE one after another). */
async function finalAt(swarm: LocalSwarm, observer: number, needId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await swarm.thread(observer, needId))?.phase !== "FINAL") {
    if (Date.now() > deadline) assert.fail(`node-${observer} never saw ${needId} final`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function account(swarm: LocalSwarm, did: string): Promise<AccountAnswer> {
  return await swarm.ledger(0, { kind: "account", account: did, historyLimit: 0 }) as AccountAnswer;
}

async function escrows(swarm: LocalSwarm, subject: string): Promise<EscrowsAnswer["escrows"]> {
  return (await swarm.ledger(0, { kind: "escrows", subject }) as EscrowsAnswer).escrows;
}

Deno.test("honest path: each NEED's bounty pays its worker and its verify bounty the committee, equally", async () => {
  await withSwarm({ nodes: 4 }, async (swarm) => {
    const outcomes = await Promise.all(
      Array.from(
        { length: 8 },
        (_, index) => swarm.post({ op: "reverse", input: `honest ${index}`, rounds: 1 }),
      ),
    );
    assert.deepEqual(outcomes.map((outcome) => outcome.status), new Array(8).fill("final"));
    const summary = await settled(swarm, 4);
    assert.equal(summary.burned, 0);
    assert.equal(summary.supply, 4 * 10_000_000);
    for (const outcome of outcomes) {
      const [escrow] = await escrows(swarm, outcome.needId);
      assert.equal(escrow.status, "released");
      assert.equal(escrow.amount, 6, "bounty 5 and verify bounty 1");
      const thread = await swarm.thread(0, outcome.needId);
      const task = [...(thread?.tasks.values() ?? [])][0];
      const worker = task.commits.get(task.verifiedCommit as string)?.worker as string;
      const paid = new Map(escrow.settlement?.payouts.map((each) => [each.to, each.amount]));
      const requester = thread?.requester as string;
      if (worker !== requester) assert.equal(paid.get(worker), 5);
      const attesters = (task.finalAttesters ?? []).filter((did) =>
        did !== requester && did !== worker
      );
      for (const attester of attesters) {
        assert.ok(
          Math.abs((paid.get(attester) ?? 0) - 1 / (task.finalAttesters?.length ?? 1)) < 1e-6,
        );
      }
      const total = escrow.settlement?.payouts.reduce((sum, each) => sum + each.amount, 0) ?? 0;
      assert.ok(Math.abs(total - 6) < 1e-9, "the whole escrow is paid out");
    }
  });
});

Deno.test("collusion: a wrong result approved by colluding verifiers is challenged, upheld, slashed, reopened and re-verified by a larger committee", async () => {
  const nodes = 8;
  await withSwarm({
    nodes,
    params: swarmParams({ challengeWindowMs: 500 }),
    auditShare: 1,
    participants: (dids) => dids.map((did) => ({ did })),
    configure: (index, config) => ({
      ...config,
      verifiers: config.verifiers.slice(0, 7), // node-7 is an auditor, not a verifier
      workers: [config.verifiers[0]], // fresh tasks go to node-0 first
      roles: { ...config.roles, worker: index <= 1, verifier: index < 7, challenger: index === 7 },
      byzantine: { approveEverything: true, wrongOutput: index === 0 },
    }),
  }, async (swarm) => {
    const dids = swarm.dids;
    const outcome = await swarm.post({ op: "sha256", input: "collude", rounds: 1 }, {
      node: 7,
      deadlineInMs: 20_000,
    });
    assert.equal(outcome.status, "final");
    await settled(swarm, nodes);
    const thread = await swarm.thread(3, outcome.needId);
    const task = [...(thread?.tasks.values() ?? [])][0];
    const [wrong, redo] = [...task.commits.values()];
    assert.equal(wrong.worker, dids[0]);
    assert.equal(wrong.invalidated, true);
    assert.equal(redo.worker, dids[1], "the honest worker redid it");
    assert.equal(task.upholds, 1);
    assert.equal(task.kResult, 3, "K_result 1 (bootstrap) + 2");
    assert.equal(task.committee?.length, 4, "a larger committee than the first (2)");
    const holdings = await Promise.all(dids.map((did) => account(swarm, did)));
    const slashed = holdings.filter((each) => each.stake < 1_000);
    assert.ok(slashed.length >= 1);
    for (const attester of slashed) {
      assert.ok(
        wrong.tally.approvals.includes(attester.account),
        "only attesters of the wrong result",
      );
      assert.ok(!task.committee?.includes(attester.account), "slashed attesters do not re-verify");
      assert.equal(attester.stake, 500, "50 % of the stake");
      assert.ok(Math.abs(attester.reputation - 0.5) < 1e-3);
    }
    for (const stats of await swarm.stats()) {
      assert.deepEqual(stats.economics?.rulings, { "UPHELD:OK": 1 });
    }
    const [needEscrow, bond] = await escrows(swarm, outcome.needId);
    assert.equal(bond.status, "refunded");
    const refunded = needEscrow.settlement?.payouts.find((each) => each.to === dids[7])?.amount ??
      0;
    const challenger = await account(swarm, dids[7]);
    // Bond back plus 2 × 2 (bootstrap) × the 10-credit SCHEMA_VIOLATION bond, less the 6 escrowed
    // for its NEED (of which blocked payouts came back).
    assert.ok(Math.abs(challenger.balance - (GENESIS_FREE + 40 - 6 + refunded)) < 1e-6);
    assert.ok(Math.abs(challenger.reputation - 0.9) < 1e-3);
    assert.equal(needEscrow.settlement?.payouts.find((each) => each.to === dids[1])?.amount, 5);
    assert.equal(needEscrow.settlement?.payouts.find((each) => each.to === dids[0]), undefined);
  });
});

Deno.test("a frivolous challenge is rejected and its bond goes to the defenders", async () => {
  await withSwarm({
    nodes: 4,
    participants: (dids) => dids.map((did) => ({ did })),
    configure: (index, config) => ({
      ...config,
      verifiers: config.verifiers.slice(0, 3),
      auditShare: 1,
      // node-3 only audits (and decides its share of buckets).
      roles: index === 3
        ? { deciderBuckets: config.roles.deciderBuckets, challenger: true }
        : { ...config.roles, challenger: false },
      byzantine: { challengeEverything: index === 3 },
    }),
  }, async (swarm) => {
    const outcome = await swarm.post({ op: "uppercase", input: "fine work", rounds: 1 }, {
      node: 0,
    });
    assert.equal(outcome.status, "final");
    const summary = await settled(swarm, 4);
    assert.equal(summary.burned, 10, "10 % of the 100-credit OUTPUT_MISMATCH bond");
    const [, bond] = await escrows(swarm, outcome.needId);
    assert.equal(bond.status, "slashed");
    assert.equal(bond.amount, 100);
    const defenders = bond.settlement?.payouts ?? [];
    assert.ok(defenders.length >= 2, "the worker and its attesters");
    assert.ok(Math.abs(defenders.reduce((sum, each) => sum + each.amount, 0) - 90) < 1e-9);
    assert.equal((await account(swarm, swarm.dids[3])).balance, GENESIS_FREE - 100);
    for (const stats of await swarm.stats()) {
      assert.deepEqual(stats.economics?.rulings, { "REJECTED:E_PROOF_NOT_SHOWN": 1 });
    }
  });
});

Deno.test("payouts to parties related to the requester are blocked and refunded to it", async () => {
  await withSwarm({
    participants: (dids) => [
      { did: dids[0], org: "acme" },
      { did: dids[1], org: "acme" },
      { did: dids[2] },
    ],
    configure: (index, config) => ({
      ...config,
      workers: [config.verifiers[1]],
      roles: { ...config.roles, worker: index === 1 },
    }),
  }, async (swarm) => {
    const outcome = await swarm.post({ op: "word-count", input: "one two three", rounds: 1 }, {
      node: 0,
    });
    assert.equal(outcome.status, "final");
    await settled(swarm, 3);
    const [escrow] = await escrows(swarm, outcome.needId);
    const reasons = new Map(escrow.blocked.map((each) => [each.to, each.reason]));
    assert.equal(reasons.get(swarm.dids[1]), "related to the requester");
    assert.equal(
      (await account(swarm, swarm.dids[1])).balance,
      GENESIS_FREE,
      "acme's worker got nothing",
    );
    const requester = await account(swarm, swarm.dids[0]);
    const paidOut = escrow.settlement?.payouts.filter((each) => each.to !== swarm.dids[0]) ?? [];
    const spent = paidOut.reduce((sum, each) => sum + each.amount, 0);
    assert.ok(Math.abs(requester.balance - (GENESIS_FREE - spent)) < 1e-6);
  });
});

Deno.test("an abandoned NEED (no plan can be approved) is expired by its decider and refunded on every node", async () => {
  await withSwarm({ params: swarmParams({ challengeWindowMs: 100 }) }, async (swarm) => {
    const outcome = await swarm.post({ op: "no-such-op", input: "x", rounds: 1 }, {
      node: 1,
      deadlineInMs: 1_000,
    });
    assert.equal(outcome.status, "expired");
    const summary = await settled(swarm, 3);
    assert.equal(summary.burned, 0);
    const [escrow] = await escrows(swarm, outcome.needId);
    assert.equal(escrow.status, "refunded");
    assert.equal((await account(swarm, swarm.dids[1])).balance, GENESIS_FREE);
  });
});

Deno.test("bad input is refused with its typed code, counted, and costs the sender nothing", async () => {
  await withSwarm({
    params: swarmParams({ challengeWindowMs: 1_500 }),
    participants: (
      dids,
    ) => [{ did: dids[0] }, { did: dids[1] }, { did: dids[2], genesisBalance: 5, genesisStake: 0 }],
    // node-0 does the work, so nodes 1 and 2 may challenge it.
    configure: (index, config) => ({
      ...config,
      workers: [config.verifiers[0]],
      roles: { ...config.roles, worker: index === 0 },
    }),
  }, async (swarm) => {
    const poor = swarm.dids[2];
    const refusals = await Promise.all([
      swarm.post({ op: "reverse", input: "x", rounds: 1 }, { node: 2, bounty: 9, budget: 10 }),
      swarm.post({ op: "reverse", input: "x", rounds: 1 }, { node: 0, bounty: 50, budget: 60 }),
      swarm.post({ op: "reverse", input: "x", rounds: 1 }, { node: 0, deadlineInMs: 100 }),
    ]);
    assert.deepEqual(refusals.map((outcome) => [outcome.status, outcome.code]), [
      ["refused", "E_INSUFFICIENT_FUNDS"],
      ["refused", "E_BOUNTY_CAP"],
      ["refused", "E_ESCROW_WINDOW"],
    ]);
    const pending = swarm.post({ op: "reverse", input: "challenge me", rounds: 1 }, { node: 0 });
    const needId = await verifiedNeed(swarm, 0, 1);
    const thread = await swarm.thread(1, needId);
    const task = [...(thread?.tasks.values() ?? [])][0];
    const commitId = task.verifiedCommit as string;
    const evidence = cidForBytes(new TextEncoder().encode("evidence")).toString();
    const challenge = (overrides: Record<string, unknown>) => ({
      needId,
      taskId: task.taskId,
      commitId,
      proofType: "OUTPUT_MISMATCH" as const,
      evidence,
      evidenceBytes: 8,
      bond: 100,
      ...overrides,
    });
    const tries = [
      [challenge({ evidence: "not-a-cid" }), "E_PROOF_MALFORMED"],
      [challenge({ evidenceBytes: 20_000 }), "E_EVIDENCE_TOO_LARGE"],
      [challenge({ bond: 1 }), "E_CHALLENGE_BOND"],
      [challenge({ proofType: "GUESS" }), "E_PAYLOAD"],
    ] as const;
    const before = await account(swarm, swarm.dids[1]);
    for (const [payload, code] of tries) {
      const result = await swarm.emit(1, "CHALLENGE", needId, payload as never);
      assert.equal(result.type === "refused" ? result.code : "emitted", code);
    }
    assert.equal((await swarm.emit(1, "CHALLENGE", needId, challenge({}))).type, "emitted");
    const repeat = await swarm.emit(1, "CHALLENGE", needId, challenge({}));
    assert.equal(repeat.type === "refused" ? repeat.code : "emitted", "E_CHALLENGE_RATE");
    assert.equal((await pending).status, "final");
    await finalAt(swarm, 2, needId); // the requester saw it final first; node-2 must too
    const late = await swarm.emit(2, "CHALLENGE", needId, challenge({ bond: 100 }));
    assert.equal(late.type === "refused" ? late.code : "emitted", "E_CHALLENGE_WINDOW");
    const after = await account(swarm, swarm.dids[1]);
    assert.ok(
      after.balance >= before.balance - 100 - 1e-9,
      "only the one accepted challenge bonded",
    );
    assert.equal((await account(swarm, poor)).balance, 5, "the poor node lost nothing");
    const [stats0, stats1, stats2] = await swarm.stats();
    // Refused at home, before signing: counted as declined, not as a peer's envelope refused.
    assert.equal(stats2.declined.E_INSUFFICIENT_FUNDS, 1);
    assert.equal(stats2.declined.E_CHALLENGE_WINDOW, 1);
    assert.equal(stats0.declined.E_BOUNTY_CAP, 1);
    assert.equal(stats0.declined.E_ESCROW_WINDOW, 1);
    for (
      const code of [
        "E_PROOF_MALFORMED",
        "E_EVIDENCE_TOO_LARGE",
        "E_CHALLENGE_BOND",
        "E_PAYLOAD",
        "E_CHALLENGE_RATE",
      ]
    ) {
      assert.equal(stats1.declined[code], 1, code);
      assert.equal(stats1.rejected[code], undefined, code);
    }
    await settled(swarm, 3);
  });
});

Deno.test("a node restarted from its data directory folds its ledger journal back and agrees with the others", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "can-swarm-ledger-" });
  try {
    await withSwarm({ dataDir }, async (swarm) => {
      const first = await Promise.all(
        Array.from(
          { length: 6 },
          (_, index) => swarm.post({ op: "reverse", input: `before ${index}`, rounds: 1 }),
        ),
      );
      assert.ok(first.every((outcome) => outcome.status === "final"));
      const before = await settled(swarm, 3);
      assert.ok(before.operations > 12);
      await swarm.restart(1);
      const replayed = await swarm.ledger(1, { kind: "summary" }) as LedgerSummary;
      assert.equal(replayed.digest, before.digest, "the journal folds back to the same ledger");
      assert.equal(replayed.operations, before.operations);
      const second = await swarm.post({ op: "reverse", input: "after", rounds: 1 }, { node: 1 });
      assert.equal(second.status, "final");
      const after = await settled(swarm, 3);
      assert.equal(after.supply, before.supply, "genesis was not minted again");
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

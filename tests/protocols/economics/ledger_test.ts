// Proves the ledger applies each operation whole or not at all, is idempotent by operation id, settles each escrow once, and keeps the supply invariant.
import assert from "node:assert/strict";
import { Ledger, SCOPE_RECHECK_MS } from "../../../protocols/economics/ledger.ts";
import { LedgerError, type LedgerOp } from "../../../protocols/economics/ledger_types.ts";

const A = "did:a";
const B = "did:b";
const C = "did:c";

function funded(): Ledger {
  const ledger = new Ledger();
  ledger.apply({ type: "MINT", opId: "mint-a", atMs: 0, to: A, amount: 1_000 });
  ledger.apply({ type: "MINT", opId: "mint-b", atMs: 0, to: B, amount: 500 });
  return ledger;
}

function refuses(ledger: Ledger, op: LedgerOp, code: string): void {
  const before = JSON.stringify([ledger.account(A), ledger.account(B), ledger.account(C)]);
  const size = ledger.size;
  assert.throws(() => ledger.apply(op), (error: unknown) => {
    assert.ok(error instanceof LedgerError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
  assert.equal(ledger.size, size, "a refused operation is not journalled");
  assert.equal(
    JSON.stringify([ledger.account(A), ledger.account(B), ledger.account(C)]),
    before,
    "a refused operation changes nothing",
  );
  ledger.audit();
}

Deno.test("MINT, TRANSFER and BURN move credit and keep supply = held + burned", () => {
  const ledger = funded();
  ledger.apply({ type: "TRANSFER", opId: "t1", atMs: 1, from: A, to: C, amount: 300 });
  ledger.apply({ type: "BURN", opId: "b1", atMs: 2, from: B, amount: 100 });
  assert.equal(ledger.account(A).balance, 700);
  assert.equal(ledger.account(C).balance, 300);
  assert.equal(ledger.supply, 1_500);
  assert.equal(ledger.burned, 100);
  ledger.audit();
  refuses(
    ledger,
    { type: "TRANSFER", opId: "t2", atMs: 3, from: C, to: A, amount: 301 },
    "E_LEDGER_FUNDS",
  );
  refuses(ledger, { type: "BURN", opId: "b2", atMs: 3, from: A, amount: -1 }, "E_LEDGER_AMOUNT");
  refuses(ledger, { type: "MINT", opId: "m2", atMs: 3, to: A, amount: 0.5 }, "E_LEDGER_AMOUNT");
  refuses(
    ledger,
    { type: "MINT", opId: "m3", atMs: 3, to: A, amount: Number.MAX_SAFE_INTEGER },
    "E_LEDGER_SUPPLY",
  );
});

Deno.test("an operation id applies once: a repeat is a no-op, a different operation under it is a conflict", () => {
  const ledger = funded();
  const op: LedgerOp = { type: "TRANSFER", opId: "pay", atMs: 1, from: A, to: B, amount: 10 };
  assert.ok(ledger.apply(op));
  assert.equal(ledger.apply({ ...op, atMs: 99 }), undefined, "derived later, same effect");
  assert.equal(ledger.account(A).balance, 990);
  refuses(ledger, { ...op, amount: 11 }, "E_LEDGER_OP_CONFLICT");
});

Deno.test("an escrow is settled exactly once: released, refunded or slashed", () => {
  const ledger = funded();
  const escrow = (id: string): LedgerOp => ({
    type: "ESCROW",
    opId: `open-${id}`,
    atMs: 10,
    escrowId: id,
    payer: A,
    amount: 100,
    kind: "bounty",
    needId: "need-1",
    taskId: id === "e2" ? "task-1" : undefined,
    holdUntilMs: 50,
  });
  for (const id of ["e1", "e2", "e3"]) ledger.apply(escrow(id));
  assert.equal(ledger.account(A).escrowed, 300);
  assert.equal(ledger.account(A).locked, 300);
  assert.equal(ledger.apply(escrow("e1")), undefined, "the same ESCROW again is a no-op");
  refuses(ledger, { ...escrow("e1"), opId: "again" }, "E_LEDGER_ESCROW_EXISTS");
  refuses(
    ledger,
    { type: "REFUND", opId: "early", atMs: 49, escrowId: "e1" },
    "E_LEDGER_ESCROW_HELD",
  );
  refuses(
    ledger,
    {
      type: "RELEASE",
      opId: "r0",
      atMs: 20,
      escrowId: "e1",
      payouts: [{ to: B, amount: 90 }],
      burned: 5,
    },
    "E_LEDGER_SPLIT",
  );
  ledger.apply({
    type: "RELEASE",
    opId: "r1",
    atMs: 20,
    escrowId: "e1",
    payouts: [{ to: B, amount: 60 }, { to: C, amount: 30 }],
    burned: 10,
  });
  ledger.apply({ type: "REFUND", opId: "f2", atMs: 50, escrowId: "e2" });
  ledger.apply({ type: "SLASH", opId: "s3", atMs: 60, escrowId: "e3", payouts: [], burned: 100 });
  for (const id of ["e1", "e2", "e3"]) {
    refuses(
      ledger,
      { type: "REFUND", opId: `late-${id}`, atMs: 99, escrowId: id },
      "E_LEDGER_ESCROW_SETTLED",
    );
  }
  refuses(
    ledger,
    { type: "REFUND", opId: "ghost", atMs: 99, escrowId: "e9" },
    "E_LEDGER_UNKNOWN_ESCROW",
  );
  assert.deepEqual(ledger.escrowsOf("need-1").map((each) => each.status), [
    "released",
    "refunded",
    "slashed",
  ]);
  assert.deepEqual(ledger.escrowsOf("task-1").map((each) => each.escrowId), ["e2"]);
  assert.equal(ledger.account(A).balance, 1_000 - 300 + 100);
  assert.equal(ledger.account(B).balance, 560);
  assert.equal(ledger.burned, 110);
  ledger.audit();
});

Deno.test("stake unbonds for its period, stays slashable until then, and is withdrawn after", () => {
  const ledger = funded();
  ledger.apply({ type: "STAKE", opId: "s", atMs: 0, account: A, amount: 600 });
  refuses(
    ledger,
    { type: "STAKE", opId: "s2", atMs: 0, account: A, amount: 401 },
    "E_LEDGER_FUNDS",
  );
  ledger.apply({
    type: "UNSTAKE",
    opId: "u",
    atMs: 100,
    account: A,
    amount: 400,
    releaseAtMs: 1_100,
  });
  refuses(
    ledger,
    { type: "UNSTAKE", opId: "u2", atMs: 100, account: A, amount: 201, releaseAtMs: 1_100 },
    "E_LEDGER_FUNDS",
  );
  assert.deepEqual(
    [ledger.account(A).stake, ledger.account(A).unbonding, ledger.account(A).balance],
    [200, 400, 400],
  );
  refuses(
    ledger,
    { type: "WITHDRAW", opId: "w0", atMs: 1_099, account: A },
    "E_LEDGER_NOTHING_DUE",
  );
  // A slash takes bonded stake first, then what is still unbonding.
  ledger.apply({
    type: "SLASH",
    opId: "cut",
    atMs: 500,
    account: A,
    amount: 300,
    payouts: [{ to: C, amount: 150 }],
    burned: 150,
  });
  assert.deepEqual([ledger.account(A).stake, ledger.account(A).unbonding], [0, 300]);
  refuses(
    ledger,
    { type: "SLASH", opId: "cut2", atMs: 500, account: A, amount: 301, payouts: [], burned: 301 },
    "E_LEDGER_FUNDS",
  );
  ledger.apply({ type: "WITHDRAW", opId: "w1", atMs: 1_100, account: A });
  assert.deepEqual(
    [ledger.account(A).stake, ledger.account(A).unbonding, ledger.account(A).balance],
    [0, 0, 700],
  );
  ledger.audit();
});

Deno.test("history lists an account's entries newest first; malformed operations are refused", () => {
  const ledger = funded();
  ledger.apply({ type: "TRANSFER", opId: "t1", atMs: 1, from: A, to: B, amount: 1 });
  ledger.apply({ type: "TRANSFER", opId: "t2", atMs: 2, from: B, to: A, amount: 1 });
  assert.deepEqual(ledger.history(A).map((entry) => entry.op.opId), ["t2", "t1", "mint-a"]);
  assert.deepEqual(ledger.history(A, 1).map((entry) => entry.op.opId), ["t2"]);
  refuses(ledger, { type: "LEND", opId: "x", atMs: 0 } as never, "E_LEDGER_OP");
  refuses(ledger, { type: "MINT", opId: "", atMs: 0, to: A, amount: 1 }, "E_LEDGER_OP");
  refuses(ledger, { type: "MINT", opId: "m", atMs: Number.NaN, to: A, amount: 1 }, "E_LEDGER_OP");
  refuses(ledger, { type: "MINT", opId: "m", atMs: 0, to: "", amount: 1 }, "E_LEDGER_OP");
  refuses(
    ledger,
    {
      type: "SLASH",
      opId: "both",
      atMs: 0,
      escrowId: "e",
      account: A,
      amount: 1,
      payouts: [],
      burned: 1,
    },
    "E_LEDGER_OP",
  );
});

Deno.test("a NEED's scoped operations and settled escrows are forgotten after its scope; balances stay", () => {
  const ledger = funded();
  const scope = { needId: "need-1", untilMs: 1_000 };
  ledger.apply({
    type: "ESCROW",
    opId: "open-bounty",
    atMs: 10,
    escrowId: "bounty",
    payer: A,
    amount: 100,
    kind: "bounty",
    needId: "need-1",
    holdUntilMs: 900,
  }, scope);
  ledger.apply({
    type: "ESCROW",
    opId: "open-bond",
    atMs: 20,
    escrowId: "bond",
    payer: B,
    amount: 40,
    kind: "bond",
    needId: "need-1",
    taskId: "task-1",
    holdUntilMs: 0,
  }, scope);
  ledger.apply({
    type: "RELEASE",
    opId: "pay-bounty",
    atMs: 30,
    escrowId: "bounty",
    payouts: [{ to: C, amount: 100 }],
    burned: 0,
  }, scope);
  const remembered = ledger.remembered;

  assert.equal(ledger.prune(999), 0, "nothing is forgotten before the scope ends");
  assert.equal(ledger.prune(1_000), 0, "a NEED with an escrow still held is kept");
  assert.ok(ledger.has("open-bond"));
  assert.equal(ledger.escrowsOf("task-1").length, 1);
  // The bond settles after the scope ended, with the NEED's old scope: it joins the kept NEED.
  ledger.apply({ type: "REFUND", opId: "refund-bond", atMs: 1_500, escrowId: "bond" }, scope);
  assert.equal(ledger.prune(1_000 + SCOPE_RECHECK_MS - 1), 0, "it is looked at again later");
  const balances = JSON.stringify([ledger.account(A), ledger.account(B), ledger.account(C)]);
  const supply = ledger.supply;

  assert.equal(ledger.prune(1_000 + SCOPE_RECHECK_MS), 1);
  for (const opId of ["open-bounty", "open-bond", "pay-bounty", "refund-bond"]) {
    assert.equal(ledger.has(opId), false, `${opId} is forgotten`);
  }
  assert.equal(ledger.remembered, remembered - 3, "only the NEED's operations go");
  assert.ok(ledger.has("mint-a"), "unscoped operations stay");
  assert.equal(ledger.escrow("bounty"), undefined);
  assert.deepEqual(ledger.escrowsOf("need-1"), []);
  assert.deepEqual(ledger.escrowsOf("task-1"), []);
  assert.equal(
    JSON.stringify([ledger.account(A), ledger.account(B), ledger.account(C)]),
    balances,
    "balances are never forgotten",
  );
  assert.equal(ledger.supply, supply);
  assert.equal(ledger.openEscrowCount, 0);
  assert.equal(ledger.size, 6, "the journal position still counts every operation");
  ledger.audit();
});

Deno.test("a later operation extends its NEED's scope; open escrows are the held ones", () => {
  const ledger = funded();
  const open = (id: string, needId: string, untilMs: number) =>
    ledger.apply({
      type: "ESCROW",
      opId: `open-${id}`,
      atMs: 0,
      escrowId: id,
      payer: A,
      amount: 10,
      kind: "bounty",
      needId,
      holdUntilMs: 0,
    }, { needId, untilMs });
  open("x1", "need-x", 100);
  open("y1", "need-y", 50);
  assert.deepEqual([...ledger.openEscrows()].map((escrow) => escrow.escrowId), ["x1", "y1"]);
  ledger.apply({ type: "REFUND", opId: "refund-x1", atMs: 0, escrowId: "x1" }, {
    needId: "need-x",
    untilMs: 100,
  });
  ledger.apply({ type: "REFUND", opId: "refund-y1", atMs: 0, escrowId: "y1" }, {
    needId: "need-y",
    untilMs: 300,
  });
  assert.equal(ledger.openEscrowCount, 0);
  assert.equal(ledger.prune(299), 1, "need-x ends at 100; need-y was extended to 300");
  assert.equal(ledger.has("open-x1"), false);
  assert.equal(ledger.has("open-y1"), true);
  assert.equal(ledger.prune(300), 1);
  assert.equal(ledger.has("refund-y1"), false);
  ledger.audit();
});

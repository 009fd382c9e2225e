// Proves, over random operation sequences, that the ledger conserves supply, never goes negative, settles every escrow exactly once, folds its journal back to the same state, that forgetting NEEDs past their scope never changes a balance, and that a ledger restored from a checkpoint goes on exactly as the live one.
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitEqually } from "../../../protocols/economics/amounts.ts";
import { Ledger } from "../../../protocols/economics/ledger.ts";
import {
  type LedgerEntry,
  LedgerError,
  type LedgerOp,
  type LedgerScope,
} from "../../../protocols/economics/ledger_types.ts";

const ACCOUNTS = ["did:a", "did:b", "did:c", "did:d"];
const ESCROWS = ["e0", "e1", "e2", "e3", "e4", "e5"];
/** Escrow i belongs to NEED `n${i % NEEDS}`. */
const NEEDS = 3;

/** An abstract command; amounts of settlements are derived from the escrow so most are valid. */
type Command =
  | { kind: "mint" | "burn" | "stake" | "unstake"; account: number; amount: number }
  | { kind: "transfer"; from: number; to: number; amount: number }
  | { kind: "withdraw"; account: number; atMs: number }
  | { kind: "escrow"; escrow: number; payer: number; amount: number; holdUntilMs: number }
  | {
    kind: "release" | "slashEscrow";
    escrow: number;
    to: number[];
    burnAll: boolean;
    skew: number;
  }
  | { kind: "refund"; escrow: number; atMs: number }
  | { kind: "slashStake"; account: number; amount: number; to: number[] };

const index = (size: number) => fc.integer({ min: 0, max: size - 1 });
const amount = fc.integer({ min: 0, max: 600 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constantFrom("mint", "burn", "stake", "unstake"),
    account: index(4),
    amount,
  }),
  fc.record({ kind: fc.constant("transfer"), from: index(4), to: index(4), amount }),
  fc.record({
    kind: fc.constant("withdraw"),
    account: index(4),
    atMs: fc.integer({ min: 0, max: 3_000 }),
  }),
  fc.record({
    kind: fc.constant("escrow"),
    escrow: index(6),
    payer: index(4),
    amount,
    holdUntilMs: fc.integer({ min: 0, max: 2_000 }),
  }),
  fc.record({
    kind: fc.constantFrom("release", "slashEscrow"),
    escrow: index(6),
    to: fc.array(index(4), { maxLength: 3 }),
    burnAll: fc.boolean(),
    skew: fc.integer({ min: -1, max: 1 }),
  }),
  fc.record({
    kind: fc.constant("refund"),
    escrow: index(6),
    atMs: fc.integer({ min: 0, max: 3_000 }),
  }),
  fc.record({
    kind: fc.constant("slashStake"),
    account: index(4),
    amount,
    to: fc.array(index(4), { maxLength: 3 }),
  }),
);

function toOp(ledger: Ledger, command: Command, step: number): LedgerOp {
  const opId = `op-${step}`;
  const atMs = step;
  switch (command.kind) {
    case "mint":
      return { type: "MINT", opId, atMs, to: ACCOUNTS[command.account], amount: command.amount };
    case "burn":
      return { type: "BURN", opId, atMs, from: ACCOUNTS[command.account], amount: command.amount };
    case "stake":
      return {
        type: "STAKE",
        opId,
        atMs,
        account: ACCOUNTS[command.account],
        amount: command.amount,
      };
    case "unstake":
      return {
        type: "UNSTAKE",
        opId,
        atMs,
        account: ACCOUNTS[command.account],
        amount: command.amount,
        releaseAtMs: atMs + 1_000,
      };
    case "transfer":
      return {
        type: "TRANSFER",
        opId,
        atMs,
        from: ACCOUNTS[command.from],
        to: ACCOUNTS[command.to],
        amount: command.amount,
      };
    case "withdraw":
      return { type: "WITHDRAW", opId, atMs: command.atMs, account: ACCOUNTS[command.account] };
    case "escrow":
      return {
        type: "ESCROW",
        opId,
        atMs,
        escrowId: ESCROWS[command.escrow],
        payer: ACCOUNTS[command.payer],
        amount: command.amount,
        kind: "bounty",
        needId: `n${command.escrow % NEEDS}`,
        holdUntilMs: command.holdUntilMs,
      };
    case "refund":
      return { type: "REFUND", opId, atMs: command.atMs, escrowId: ESCROWS[command.escrow] };
    case "slashStake": {
      const split = distribute(command.amount, command.to, false);
      return {
        type: "SLASH",
        opId,
        atMs,
        account: ACCOUNTS[command.account],
        amount: command.amount,
        ...split,
      };
    }
    default: {
      const escrowId = ESCROWS[command.escrow];
      const total = Math.max(0, (ledger.escrow(escrowId)?.amount ?? 100) + command.skew);
      const split = distribute(total, command.to, command.burnAll);
      return {
        type: command.kind === "release" ? "RELEASE" : "SLASH",
        opId,
        atMs,
        escrowId,
        ...split,
      };
    }
  }
}

function distribute(total: number, to: number[], burnAll: boolean) {
  if (burnAll || to.length === 0) return { payouts: [], burned: total };
  const burned = Math.floor(total / 10);
  const shares = splitEqually(total - burned, to.length);
  return {
    payouts: to.map((who, position) => ({ to: ACCOUNTS[who], amount: shares[position] })),
    burned,
  };
}

function snapshot(ledger: Ledger): string {
  return JSON.stringify({
    supply: ledger.supply,
    burned: ledger.burned,
    accounts: ledger.accountIds().map((id) => ledger.account(id)),
    escrows: [...ledger.escrows()].sort((a, b) => (a.escrowId < b.escrowId ? -1 : 1)),
  });
}

Deno.test("random operation sequences conserve supply, never go negative, settle escrows once, and replay", () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 60 }), (commands) => {
      const ledger = new Ledger();
      const journal: LedgerEntry[] = [];
      commands.forEach((each, step) => {
        try {
          const entry = ledger.apply(toOp(ledger, each, step));
          if (entry !== undefined) journal.push(entry);
        } catch (error) {
          if (!(error instanceof LedgerError)) throw error; // refusals are typed, nothing else escapes
        }
        ledger.audit(); // supply = Σ(balance + locked + unbonding) + burned, no negatives, after every op
      });
      // Close: every escrow still held is refunded; then each has exactly one settlement.
      for (const escrow of [...ledger.escrows()]) {
        if (escrow.status !== "held") continue;
        journal.push(ledger.apply({
          type: "REFUND",
          opId: `close-${escrow.escrowId}`,
          atMs: 10_000,
          escrowId: escrow.escrowId,
        }) as LedgerEntry);
      }
      ledger.audit();
      for (const escrow of ledger.escrows()) {
        assert.notEqual(escrow.status, "held");
        const settlements = journal.filter((entry) =>
          (entry.op.type === "RELEASE" || entry.op.type === "REFUND" ||
            entry.op.type === "SLASH") &&
          (entry.op as { escrowId?: string }).escrowId === escrow.escrowId
        );
        assert.equal(settlements.length, 1, `escrow ${escrow.escrowId} settled once`);
        assert.equal(settlements[0].op.opId, escrow.settledBy);
      }
      // The journal folds back into the same ledger, and folding it twice changes nothing.
      const replayed = new Ledger();
      for (const entry of journal) replayed.apply(entry.op);
      assert.equal(snapshot(replayed), snapshot(ledger));
      for (const entry of journal) assert.equal(replayed.apply(entry.op), undefined);
      assert.equal(snapshot(replayed), snapshot(ledger));
    }),
    { numRuns: 300 },
  );
});

function balances(ledger: Ledger): string {
  return JSON.stringify({
    supply: ledger.supply,
    burned: ledger.burned,
    accounts: ledger.accountIds().map((id) => ledger.account(id)),
  });
}

function outcome(ledger: Ledger, op: LedgerOp, scope: LedgerScope | undefined): string {
  try {
    return ledger.apply(op, scope) === undefined ? "duplicate" : "applied";
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    return error.code;
  }
}

Deno.test("forgetting NEEDs past their scope never changes a balance or an outcome, and forgets only settled NEEDs whose scope ended", () => {
  // Mostly NEED traffic: escrows opened, then released or refunded whole.
  const needCommand: fc.Arbitrary<Command> = fc.oneof(
    { arbitrary: command, weight: 2 },
    {
      arbitrary: fc.record({
        kind: fc.constant("escrow" as const),
        escrow: index(6),
        payer: index(4),
        amount: fc.integer({ min: 1, max: 100 }),
        holdUntilMs: fc.constant(0),
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant("release" as const),
        escrow: index(6),
        to: fc.array(index(4), { minLength: 1, maxLength: 2 }),
        burnAll: fc.constant(false),
        skew: fc.constant(0),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant("refund" as const),
        escrow: index(6),
        atMs: fc.constant(3_000),
      }),
      weight: 2,
    },
  );
  const step = fc.record({ command: needCommand, advanceMs: fc.integer({ min: 0, max: 100 }) });
  fc.assert(
    fc.property(
      fc.array(step, { minLength: 20, maxLength: 100 }),
      fc.array(fc.integer({ min: 0, max: 4_000 }), { minLength: NEEDS, maxLength: NEEDS }),
      fc.nat({ max: 99 }),
      (steps, untils, restoreAt) => {
        const kept = new Ledger();
        const pruned = new Ledger();
        let restored: Ledger | undefined;
        for (const to of ACCOUNTS) {
          const mint: LedgerOp = { type: "MINT", opId: `fund-${to}`, atMs: 0, to, amount: 5_000 };
          kept.apply(mint);
          pruned.apply(mint);
        }
        const forgotten = new Set<string>();
        let nowMs = 0;
        steps.forEach(({ command: each, advanceMs }, index) => {
          nowMs += advanceMs;
          const need = "escrow" in each ? each.escrow % NEEDS : undefined;
          const needId = need === undefined ? undefined : `n${need}`;
          // A forgotten NEED is past its deadline: no message derives its operations any more.
          if (needId !== undefined && forgotten.has(needId)) return;
          if (index === restoreAt) {
            // A restart from a checkpoint taken here goes on exactly as the live ledger does.
            restored = new Ledger();
            restored.restore(pruned.checkpoint());
          }
          const op = toOp(kept, each, index);
          const scope = need === undefined
            ? undefined
            : { needId: `n${need}`, untilMs: untils[need] };
          const expected = outcome(kept, op, scope);
          assert.equal(outcome(pruned, op, scope), expected, op.opId);
          if (restored !== undefined) {
            assert.equal(outcome(restored, op, scope), expected, op.opId);
            assert.equal(restored.prune(nowMs), pruned.prune(nowMs));
            assert.equal(snapshot(restored), snapshot(pruned));
            assert.equal(restored.remembered, pruned.remembered);
          }
          pruned.prune(nowMs);
          pruned.audit();
          assert.equal(balances(pruned), balances(kept));
          for (let n = 0; n < NEEDS; n++) {
            const id = `n${n}`;
            if (forgotten.has(id) || kept.escrowsOf(id).length === 0) continue;
            if (pruned.escrowsOf(id).length > 0) continue;
            forgotten.add(id);
            assert.ok(untils[n] <= nowMs, `${id} forgotten before its scope ended`);
            for (const escrow of kept.escrowsOf(id)) assert.notEqual(escrow.status, "held");
            assert.equal(pruned.has(kept.escrowsOf(id)[0].settledBy as string), false);
          }
        });
        assert.ok(pruned.remembered <= kept.remembered);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("a journal with scopes folds back to the same balances and forgets its ended NEEDs", () => {
  const ledger = new Ledger();
  const journal: LedgerEntry[] = [];
  const keep = (entry: LedgerEntry | undefined) => entry !== undefined && journal.push(entry);
  keep(ledger.apply({ type: "MINT", opId: "mint", atMs: 0, to: "did:a", amount: 100 }));
  const scope = { needId: "n0", untilMs: 500 };
  keep(ledger.apply({
    type: "ESCROW",
    opId: "open",
    atMs: 1,
    escrowId: "e0",
    payer: "did:a",
    amount: 60,
    kind: "bounty",
    needId: "n0",
    holdUntilMs: 0,
  }, scope));
  keep(ledger.apply({ type: "REFUND", opId: "refund", atMs: 2, escrowId: "e0" }, scope));
  const replayed = new Ledger();
  for (const entry of journal) replayed.apply(entry.op, entry.scope);
  assert.equal(balances(replayed), balances(ledger));
  assert.equal(replayed.prune(500), 1);
  assert.equal(replayed.has("open"), false);
  assert.equal(replayed.has("mint"), true);
});

// Proves, over random operation sequences, that the ledger conserves supply, never goes negative, settles every escrow exactly once, and folds its journal back to the same state.
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitEqually } from "../../../protocols/economics/amounts.ts";
import { Ledger } from "../../../protocols/economics/ledger.ts";
import {
  type LedgerEntry,
  LedgerError,
  type LedgerOp,
} from "../../../protocols/economics/ledger_types.ts";

const ACCOUNTS = ["did:a", "did:b", "did:c", "did:d"];
const ESCROWS = ["e0", "e1", "e2", "e3", "e4", "e5"];

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
        needId: "need",
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

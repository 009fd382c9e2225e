/**
 * Staging of the stake and escrow operations (private to the ledger).
 *
 * @module
 */

import { isAmount } from "./amounts.ts";
import type { LedgerDraft } from "./_ledger_draft.ts";
import {
  type Escrow,
  type EscrowOp,
  LedgerError,
  type Payout,
  type RefundOp,
  type ReleaseOp,
  type SlashOp,
  type StakeOp,
  type UnstakeOp,
  type WithdrawOp,
} from "./ledger_types.ts";

/** STAKE, UNSTAKE, WITHDRAW. */
export function applyStakeOp(draft: LedgerDraft, op: StakeOp | UnstakeOp | WithdrawOp): void {
  if (op.type === "STAKE") {
    draft.debit(op.account, op.amount, `STAKE ${op.opId}`);
    draft.account(op.account).stake += op.amount;
    return;
  }
  const account = draft.account(op.account);
  if (op.type === "UNSTAKE") {
    const releaseAtMs = op.releaseAtMs;
    if (!(releaseAtMs >= op.atMs)) {
      throw new LedgerError("E_LEDGER_OP", `UNSTAKE ${op.opId} needs releaseAtMs >= atMs`);
    }
    if (account.stake < op.amount) {
      throw new LedgerError(
        "E_LEDGER_FUNDS",
        `UNSTAKE ${op.opId}: account ${op.account} has ${account.stake} staked, needs ${op.amount}`,
      );
    }
    account.stake -= op.amount;
    account.unbonding += op.amount;
    account.queue.push({ amount: op.amount, releaseAtMs });
    return;
  }
  const due = account.queue.filter((entry) => entry.releaseAtMs <= op.atMs);
  if (due.length === 0) {
    throw new LedgerError(
      "E_LEDGER_NOTHING_DUE",
      `WITHDRAW ${op.opId}: nothing of ${op.account} has finished unbonding at ${op.atMs}`,
    );
  }
  const amount = due.reduce((sum, entry) => sum + entry.amount, 0);
  account.queue = account.queue.filter((entry) => entry.releaseAtMs > op.atMs);
  account.unbonding -= amount;
  account.balance += amount;
}

/** ESCROW, RELEASE, REFUND, SLASH. */
export function applyEscrowOp(
  draft: LedgerDraft,
  op: EscrowOp | ReleaseOp | RefundOp | SlashOp,
): void {
  switch (op.type) {
    case "ESCROW":
      return openEscrow(draft, op);
    case "REFUND": {
      const escrow = heldEscrow(draft, op.escrowId, op.opId);
      if (op.atMs < escrow.holdUntilMs) {
        throw new LedgerError(
          "E_LEDGER_ESCROW_HELD",
          `REFUND ${op.opId}: escrow ${escrow.escrowId} is held until ${escrow.holdUntilMs}`,
        );
      }
      const payer = draft.account(escrow.payer);
      payer.escrowed -= escrow.amount;
      payer.balance += escrow.amount;
      return settle(draft, escrow, "refunded", op.opId);
    }
    case "RELEASE": {
      const escrow = heldEscrow(draft, op.escrowId, op.opId);
      draft.account(escrow.payer).escrowed -= escrow.amount;
      distribute(draft, op, escrow.amount);
      return settle(draft, escrow, "released", op.opId);
    }
    case "SLASH":
      return slash(draft, op);
  }
}

function openEscrow(draft: LedgerDraft, op: EscrowOp): void {
  if (op.kind !== "bounty" && op.kind !== "bond") {
    throw new LedgerError("E_LEDGER_OP", `ESCROW ${op.opId} has unknown kind ${String(op.kind)}`);
  }
  if (typeof op.escrowId !== "string" || op.escrowId.length === 0) {
    throw new LedgerError("E_LEDGER_OP", `ESCROW ${op.opId} needs an escrowId`);
  }
  if (typeof op.needId !== "string" || op.needId.length === 0) {
    throw new LedgerError("E_LEDGER_OP", `ESCROW ${op.opId} needs a needId`);
  }
  if (draft.escrow(op.escrowId) !== undefined) {
    throw new LedgerError("E_LEDGER_ESCROW_EXISTS", `Escrow ${op.escrowId} already exists`);
  }
  draft.debit(op.payer, op.amount, `ESCROW ${op.opId}`);
  draft.account(op.payer).escrowed += op.amount;
  draft.escrows.set(op.escrowId, {
    escrowId: op.escrowId,
    payer: op.payer,
    amount: op.amount,
    kind: op.kind,
    needId: op.needId,
    taskId: op.taskId,
    openedAtMs: op.atMs,
    holdUntilMs: op.holdUntilMs,
    status: "held",
    settledBy: undefined,
  });
}

function slash(draft: LedgerDraft, op: SlashOp): void {
  const fromEscrow = op.escrowId !== undefined;
  const fromStake = op.account !== undefined || op.amount !== undefined;
  if (fromEscrow === fromStake) {
    throw new LedgerError(
      "E_LEDGER_OP",
      `SLASH ${op.opId} must name either an escrow or an account and amount`,
    );
  }
  if (fromEscrow) {
    const escrow = heldEscrow(draft, op.escrowId as string, op.opId);
    draft.account(escrow.payer).escrowed -= escrow.amount;
    distribute(draft, op, escrow.amount);
    return settle(draft, escrow, "slashed", op.opId);
  }
  if (typeof op.account !== "string" || !isAmount(op.amount)) {
    throw new LedgerError("E_LEDGER_OP", `SLASH ${op.opId} needs an account and an amount`);
  }
  const account = draft.account(op.account);
  if (account.stake + account.unbonding < op.amount) {
    throw new LedgerError(
      "E_LEDGER_FUNDS",
      `SLASH ${op.opId}: ${op.account} has ${
        account.stake + account.unbonding
      } slashable, needs ${op.amount}`,
    );
  }
  const fromBonded = Math.min(account.stake, op.amount);
  account.stake -= fromBonded;
  let rest = op.amount - fromBonded;
  // Unbonding credit is still slashable: the most recently unstaked goes first.
  for (let index = account.queue.length - 1; index >= 0 && rest > 0; index--) {
    const entry = account.queue[index];
    const taken = Math.min(entry.amount, rest);
    account.queue[index] = { ...entry, amount: entry.amount - taken };
    account.unbonding -= taken;
    rest -= taken;
  }
  account.queue = account.queue.filter((entry) => entry.amount > 0);
  distribute(draft, op, op.amount);
}

function distribute(
  draft: LedgerDraft,
  op: { readonly opId: string; readonly payouts: readonly Payout[]; readonly burned: number },
  amount: number,
): void {
  if (!Array.isArray(op.payouts)) {
    throw new LedgerError("E_LEDGER_OP", `Operation ${op.opId} needs a list of payouts`);
  }
  let paid = 0;
  for (const payout of op.payouts) {
    if (!isAmount(payout?.amount)) {
      throw new LedgerError(
        "E_LEDGER_AMOUNT",
        `Operation ${op.opId} pays ${String(payout?.amount)}, not an amount`,
      );
    }
    paid += payout.amount;
    draft.account(payout.to).balance += payout.amount;
  }
  if (paid + op.burned !== amount) {
    throw new LedgerError(
      "E_LEDGER_SPLIT",
      `Operation ${op.opId} pays ${paid} and burns ${op.burned}, must total ${amount}`,
    );
  }
  draft.burnedDelta += op.burned;
}

function heldEscrow(draft: LedgerDraft, escrowId: string, opId: string): Escrow {
  const escrow = draft.escrow(escrowId);
  if (escrow === undefined) {
    throw new LedgerError("E_LEDGER_UNKNOWN_ESCROW", `Operation ${opId}: no escrow ${escrowId}`);
  }
  if (escrow.status !== "held") {
    throw new LedgerError(
      "E_LEDGER_ESCROW_SETTLED",
      `Operation ${opId}: escrow ${escrowId} was already ${escrow.status} by ${escrow.settledBy}`,
    );
  }
  return escrow;
}

function settle(
  draft: LedgerDraft,
  escrow: Escrow,
  status: Escrow["status"],
  opId: string,
): void {
  draft.escrows.set(escrow.escrowId, { ...escrow, status, settledBy: opId });
}

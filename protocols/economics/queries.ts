/**
 * Read-only questions a node answers about its ledger (the HTTP endpoint
 * exposes them): totals, one account with its history, the escrows of a
 * NEED or task.
 *
 * @module
 */

import { sha256Hex } from "../work.ts";
import { toCredits } from "./amounts.ts";
import type { Ledger } from "./ledger.ts";
import type { Escrow, LedgerEntry } from "./ledger_types.ts";
import type { BlockedPayout } from "./payouts.ts";
import type { ReputationBook } from "./reputation.ts";

/** A ledger query. */
export type LedgerQuery =
  | { readonly kind: "summary" }
  | { readonly kind: "account"; readonly account: string; readonly historyLimit?: number }
  | { readonly kind: "escrows"; readonly subject: string };

/** Totals, and a digest of every account's holdings (equal digests: equal ledgers). */
export interface LedgerSummary {
  readonly kind: "summary";
  /** Credits. */
  readonly supply: number;
  readonly burned: number;
  readonly held: number;
  readonly accounts: number;
  readonly operations: number;
  readonly escrowsHeld: number;
  /** sha256 over every account's balance, stake, escrowed and unbonding, and the burn. */
  readonly digest: string;
  /** "ok", or why the invariant failed. */
  readonly invariant: string;
}

/** One account, in credits, with its reputation and latest ledger entries. */
export interface AccountAnswer {
  readonly kind: "account";
  readonly account: string;
  readonly balance: number;
  readonly stake: number;
  readonly escrowed: number;
  readonly unbonding: number;
  readonly locked: number;
  readonly reputation: number;
  readonly history: readonly LedgerEntry[];
}

/** The escrows of a NEED or task, in credits, with any blocked payouts (credits too). */
export interface EscrowsAnswer {
  readonly kind: "escrows";
  readonly subject: string;
  readonly escrows: readonly (Omit<Escrow, "amount"> & {
    readonly amount: number;
    /** How it was settled: who got what and what burned (absent while held). */
    readonly settlement: EscrowSettlement | undefined;
    readonly blocked: readonly BlockedPayout[];
  })[];
}

/** An escrow's settlement, in credits. */
export interface EscrowSettlement {
  readonly type: "RELEASE" | "REFUND" | "SLASH";
  readonly payouts: readonly { readonly to: string; readonly amount: number }[];
  readonly burned: number;
}

/** Any answer. */
export type LedgerAnswer = LedgerSummary | AccountAnswer | EscrowsAnswer;

/** Most history entries one answer carries. */
export const HISTORY_LIMIT_MAX = 256;

/** Answers queries over a ledger. */
export class EconomyQueries {
  constructor(
    readonly ledger: Ledger,
    readonly reputation: ReputationBook,
    readonly blocked: ReadonlyMap<string, readonly BlockedPayout[]>,
  ) {}

  /** Answers one query. */
  answer(query: LedgerQuery, nowMs: number): LedgerAnswer {
    switch (query.kind) {
      case "summary":
        return this.#summary();
      case "account":
        return this.#account(query.account, query.historyLimit ?? 50, nowMs);
      case "escrows":
        return this.#escrows(query.subject);
    }
  }

  #summary(): LedgerSummary {
    let held = 0;
    const rows: string[] = [];
    for (const id of this.ledger.accountIds()) {
      const account = this.ledger.account(id);
      held += account.balance + account.locked + account.unbonding;
      rows.push(
        `${id}:${account.balance}:${account.stake}:${account.escrowed}:${account.unbonding}`,
      );
    }
    let invariant = "ok";
    try {
      this.ledger.audit();
    } catch (error) {
      invariant = (error as Error).message;
    }
    return {
      kind: "summary",
      supply: toCredits(this.ledger.supply),
      burned: toCredits(this.ledger.burned),
      held: toCredits(held),
      accounts: rows.length,
      operations: this.ledger.size,
      escrowsHeld: this.ledger.openEscrowCount,
      digest: sha256Hex(`${this.ledger.supply}|${this.ledger.burned}|${rows.join("|")}`),
      invariant,
    };
  }

  #account(id: string, limit: number, nowMs: number): AccountAnswer {
    const account = this.ledger.account(id);
    return {
      kind: "account",
      account: id,
      balance: toCredits(account.balance),
      stake: toCredits(account.stake),
      escrowed: toCredits(account.escrowed),
      unbonding: toCredits(account.unbonding),
      locked: toCredits(account.locked),
      reputation: this.reputation.get(id, nowMs),
      history: this.ledger.history(id, Math.max(0, Math.min(HISTORY_LIMIT_MAX, limit))),
    };
  }

  #settlement(escrow: Escrow): EscrowSettlement | undefined {
    const op = escrow.settledBy === undefined ? undefined : this.ledger.operation(escrow.settledBy);
    if (op === undefined) return undefined;
    if (op.type === "REFUND") {
      return {
        type: "REFUND",
        payouts: [{ to: escrow.payer, amount: toCredits(escrow.amount) }],
        burned: 0,
      };
    }
    if (op.type !== "RELEASE" && op.type !== "SLASH") return undefined;
    return {
      type: op.type,
      payouts: op.payouts.map((payout) => ({ to: payout.to, amount: toCredits(payout.amount) })),
      burned: toCredits(op.burned),
    };
  }

  #escrows(subject: string): EscrowsAnswer {
    return {
      kind: "escrows",
      subject,
      escrows: this.ledger.escrowsOf(subject).map((escrow) => ({
        ...escrow,
        amount: toCredits(escrow.amount),
        settlement: this.#settlement(escrow),
        blocked: (this.blocked.get(escrow.escrowId) ?? []).map((payout) => ({
          ...payout,
          amount: toCredits(payout.amount),
        })),
      })),
    };
  }
}

/**
 * The staging area of one ledger operation (private to the ledger).
 *
 * @module
 */

import { type Escrow, LedgerError, type Unbonding } from "./ledger_types.ts";

/** What a draft reads from the ledger it stages against. */
export interface LedgerReader {
  readonly supply: number;
  record(id: string): Readonly<AccountRecord> | undefined;
  escrow(id: string): Escrow | undefined;
}

/** An account as the ledger keeps it (mutated only inside a committed operation). */
export interface AccountRecord {
  balance: number;
  stake: number;
  escrowed: number;
  unbonding: number;
  queue: Unbonding[];
}

/**
 * The changes one operation makes, staged on copies; committed only when
 * the whole operation is valid.
 */
export class LedgerDraft {
  readonly accounts = new Map<string, AccountRecord>();
  readonly escrows = new Map<string, Escrow>();
  supplyDelta = 0;
  burnedDelta = 0;

  constructor(readonly ledger: LedgerReader) {}

  /** A staged copy of an account (created empty when new). */
  account(id: string): AccountRecord {
    if (typeof id !== "string" || id.length === 0) {
      throw new LedgerError("E_LEDGER_OP", `Account id must be a non-empty string, got ${id}`);
    }
    let staged = this.accounts.get(id);
    if (staged === undefined) {
      const current = this.ledger.record(id);
      staged = current === undefined
        ? { balance: 0, stake: 0, escrowed: 0, unbonding: 0, queue: [] }
        : { ...current, queue: [...current.queue] };
      this.accounts.set(id, staged);
    }
    return staged;
  }

  /** The escrow as staged in this draft, else as the ledger has it. */
  escrow(id: string): Escrow | undefined {
    return this.escrows.get(id) ?? this.ledger.escrow(id);
  }

  /** Takes `amount` of free balance from `id`, or refuses with `E_LEDGER_FUNDS`. */
  debit(id: string, amount: number, what: string): void {
    const account = this.account(id);
    if (account.balance < amount) {
      throw new LedgerError(
        "E_LEDGER_FUNDS",
        `${what}: account ${id} has ${account.balance} free, needs ${amount}`,
      );
    }
    account.balance -= amount;
  }
}

/**
 * The ledger: accounts and escrows folded from an append-only journal of
 * operations. Each operation is checked whole before anything changes (an
 * operation is applied entirely or not at all), is idempotent by its id, and
 * is followed by the supply invariant:
 *
 *   total supply = Σ(balance + locked + unbonding) + burned,  locked = stake + escrowed
 *
 * An escrow is settled exactly once: released, refunded or slashed.
 *
 * Operations applied with a {@linkcode LedgerScope} are forgotten by
 * {@linkcode Ledger.prune} once the scope's time has passed and every escrow
 * of its NEED is settled: their ids, and those escrows. Balances are never
 * forgotten; the journal keeps every operation.
 *
 * @module
 */

import { assert } from "../../runtime/errors.ts";
import { isAmount } from "./amounts.ts";
import { applyEscrowOp, applyStakeOp } from "./_ledger_apply.ts";
import { type AccountRecord, LedgerDraft } from "./_ledger_draft.ts";
import { LedgerScopes } from "./_ledger_scopes.ts";
import {
  type AccountView,
  type Escrow,
  type LedgerEntry,
  LedgerError,
  type LedgerOp,
  type LedgerScope,
} from "./ledger_types.ts";

export type { AccountRecord };

/**
 * A ledger's state at one journal position: what journal compaction keeps
 * instead of the entries up to it. It holds the balances, the escrows and
 * the operation ids the ledger remembers (with their scopes); not the
 * per-account history, which starts again after a restore.
 */
export interface LedgerCheckpoint {
  readonly seq: number;
  readonly supply: number;
  readonly burned: number;
  readonly accounts: readonly { readonly id: string; readonly record: AccountRecord }[];
  readonly escrows: readonly Escrow[];
  readonly operations: readonly { readonly op: LedgerOp; readonly scope?: LedgerScope }[];
}

/** Entries kept per account for history queries. */
export const ACCOUNT_HISTORY_MAX = 256;
/** How long a NEED whose scope ended with an escrow still held waits before it is looked at again. */
export const SCOPE_RECHECK_MS = 60_000;

/** Accounts and escrows folded from operations. */
export class Ledger {
  readonly #accounts = new Map<string, AccountRecord>();
  readonly #escrows = new Map<string, Escrow>();
  /** The escrows still held. */
  readonly #open = new Map<string, Escrow>();
  readonly #scopes = new LedgerScopes();
  readonly #bySubject = new Map<string, string[]>();
  readonly #ops = new Map<string, LedgerOp>();
  readonly #history = new Map<string, LedgerEntry[]>();
  #supply = 0;
  #burned = 0;
  /** Σ(balance + stake + escrowed + unbonding), kept from per-account differences. */
  #held = 0;
  #seq = 0;

  /** Credit ever minted. */
  get supply(): number {
    return this.#supply;
  }

  /** Credit destroyed. */
  get burned(): number {
    return this.#burned;
  }

  /** Operations applied. */
  get size(): number {
    return this.#seq;
  }

  /** Operation ids remembered (applied and not yet forgotten). */
  get remembered(): number {
    return this.#ops.size;
  }

  /** Number of accounts. */
  get accountCount(): number {
    return this.#accounts.size;
  }

  /** Whether an operation id was applied. */
  has(opId: string): boolean {
    return this.#ops.has(opId);
  }

  /** The operation applied under an id. */
  operation(opId: string): LedgerOp | undefined {
    return this.#ops.get(opId);
  }

  /**
   * Applies one operation. Returns its journal entry, or undefined when the
   * same operation (same id and effect; its time may differ) was applied before. Throws {@linkcode LedgerError} (and
   * changes nothing) when it is invalid or reuses an id for another operation.
   *
   * With a `scope`, the operation is forgotten after it (see the module doc).
   *
   * @example
   * ```ts
   * ledger.apply({ type: "MINT", opId: "genesis:a", atMs: 0, to: "did:a", amount: 10 });
   * ```
   */
  apply(op: LedgerOp, scope?: LedgerScope): LedgerEntry | undefined {
    const known = this.#ops.get(op?.opId);
    if (known !== undefined) {
      // When it happened may differ between derivations of one operation; what it does may not.
      if (canonical({ ...known, atMs: 0 }) !== canonical({ ...op, atMs: 0 })) {
        throw new LedgerError(
          "E_LEDGER_OP_CONFLICT",
          `Operation id ${op.opId} was already used for a different ${known.type}`,
        );
      }
      return undefined;
    }
    checkOpShape(op);
    if (op.type === "ESCROW" && scope !== undefined && scope.needId !== op.needId) {
      throw new LedgerError(
        "E_LEDGER_OP",
        `Escrow ${op.escrowId} of NEED ${op.needId} cannot open under the scope of NEED ${scope.needId}`,
      );
    }
    const draft = new LedgerDraft(this);
    stage(draft, op);
    return this.#commit(draft, op, scope);
  }

  /**
   * Forgets the operations of every NEED whose scope ended at or before
   * `nowMs` and whose escrows are all settled (a NEED with one still held is
   * looked at again {@linkcode SCOPE_RECHECK_MS} later). Returns how many
   * NEEDs it forgot.
   */
  prune(nowMs: number): number {
    let forgotten = 0;
    for (
      let due = this.#scopes.nextDue(nowMs);
      due !== undefined;
      due = this.#scopes.nextDue(nowMs)
    ) {
      const escrowIds = this.#bySubject.get(due.needId) ?? [];
      if (escrowIds.some((id) => this.#open.has(id))) {
        this.#scopes.extend(due.needId, nowMs + SCOPE_RECHECK_MS);
        continue;
      }
      for (const opId of due.opIds) this.#ops.delete(opId);
      for (const id of escrowIds) {
        const taskId = this.#escrows.get(id)?.taskId;
        if (taskId !== undefined) this.#unfile(taskId, id);
        this.#escrows.delete(id);
      }
      this.#bySubject.delete(due.needId);
      this.#scopes.drop(due.needId);
      forgotten++;
    }
    return forgotten;
  }

  /** One account's holdings (zero for an unknown account). */
  account(id: string): AccountView {
    const record = this.#accounts.get(id);
    const { balance = 0, stake = 0, escrowed = 0, unbonding = 0 } = record ?? {};
    return {
      account: id,
      balance,
      stake,
      escrowed,
      unbonding,
      locked: stake + escrowed,
      unbondingQueue: [...(record?.queue ?? [])],
    };
  }

  /** Every account id, sorted. */
  accountIds(): string[] {
    return [...this.#accounts.keys()].sort();
  }

  /** The live record of an account (read-only use). */
  record(id: string): Readonly<AccountRecord> | undefined {
    return this.#accounts.get(id);
  }

  /** One escrow. */
  escrow(id: string): Escrow | undefined {
    return this.#escrows.get(id);
  }

  /** Escrows of a NEED or a task, in opening order. */
  escrowsOf(subject: string): Escrow[] {
    return (this.#bySubject.get(subject) ?? []).map((id) => this.#escrows.get(id) as Escrow);
  }

  /** The whole state at the current journal position (see {@linkcode LedgerCheckpoint}). */
  checkpoint(): LedgerCheckpoint {
    const scopeOf = new Map<string, LedgerScope>();
    for (const { needId, untilMs, opIds } of this.#scopes.entries()) {
      for (const opId of opIds) scopeOf.set(opId, { needId, untilMs });
    }
    return {
      seq: this.#seq,
      supply: this.#supply,
      burned: this.#burned,
      accounts: [...this.#accounts].map(([id, record]) => ({
        id,
        record: { ...record, queue: [...record.queue] },
      })),
      escrows: [...this.#escrows.values()],
      operations: [...this.#ops.values()].map((op) => {
        const scope = scopeOf.get(op.opId);
        return scope === undefined ? { op } : { op, scope };
      }),
    };
  }

  /**
   * Loads a checkpoint into this ledger, which must be empty, then audits
   * it (`E_ASSERTION` when the checkpoint does not add up). Operations
   * applied afterwards continue its journal positions.
   */
  restore(checkpoint: LedgerCheckpoint): void {
    assert(this.#seq === 0 && this.#accounts.size === 0, "Only an empty ledger can be restored");
    this.#seq = checkpoint.seq;
    this.#supply = checkpoint.supply;
    this.#burned = checkpoint.burned;
    for (const { id, record } of checkpoint.accounts) {
      this.#accounts.set(id, { ...record, queue: [...record.queue] });
      this.#held += total(record);
    }
    for (const escrow of checkpoint.escrows) {
      this.#escrows.set(escrow.escrowId, escrow);
      if (escrow.status === "held") this.#open.set(escrow.escrowId, escrow);
      for (const subject of new Set([escrow.needId, escrow.taskId])) {
        if (subject !== undefined) this.#file(subject, escrow.escrowId);
      }
    }
    for (const { op, scope } of checkpoint.operations) {
      this.#ops.set(op.opId, op);
      if (scope !== undefined) this.#scopes.add(op.opId, scope);
    }
    this.audit();
  }

  /** Every escrow remembered (for audits and property tests). */
  escrows(): IterableIterator<Escrow> {
    return this.#escrows.values();
  }

  /** The escrows still held. */
  openEscrows(): IterableIterator<Escrow> {
    return this.#open.values();
  }

  /** Number of escrows still held. */
  get openEscrowCount(): number {
    return this.#open.size;
  }

  /** The latest entries that touched an account, newest first. */
  history(account: string, limit = ACCOUNT_HISTORY_MAX): LedgerEntry[] {
    return [...(this.#history.get(account) ?? [])].reverse().slice(0, limit);
  }

  /**
   * Recomputes every total from scratch and checks the supply invariant,
   * non-negative holdings, that each account's escrowed credit equals its
   * held escrows, and that the open escrows are exactly the held ones.
   * Throws `E_ASSERTION` when anything is off.
   */
  audit(): void {
    let held = 0;
    const escrowedBy = new Map<string, number>();
    let heldEscrows = 0;
    for (const escrow of this.#escrows.values()) {
      if (escrow.status !== "held") continue;
      heldEscrows++;
      assert(this.#open.get(escrow.escrowId) === escrow, `Held escrow ${escrow.escrowId} not open`);
      escrowedBy.set(escrow.payer, (escrowedBy.get(escrow.payer) ?? 0) + escrow.amount);
    }
    assert(heldEscrows === this.#open.size, `${this.#open.size} open escrows, ${heldEscrows} held`);
    for (const [id, account] of this.#accounts) {
      checkRecord(id, account);
      assert(
        account.escrowed === (escrowedBy.get(id) ?? 0),
        `Account ${id} records ${account.escrowed} escrowed, its held escrows sum to ${
          escrowedBy.get(id) ?? 0
        }`,
      );
      held += account.balance + account.stake + account.escrowed + account.unbonding;
    }
    assert(
      this.#supply === held + this.#burned,
      `Supply ${this.#supply} != held ${held} + burned ${this.#burned}`,
    );
  }

  #commit(draft: LedgerDraft, op: LedgerOp, scope: LedgerScope | undefined): LedgerEntry {
    let heldDelta = 0;
    for (const [id, staged] of draft.accounts) {
      checkRecord(id, staged);
      const before = this.#accounts.get(id);
      heldDelta += total(staged) - (before === undefined ? 0 : total(before));
    }
    const supply = this.#supply + draft.supplyDelta;
    const burned = this.#burned + draft.burnedDelta;
    const held = this.#held + heldDelta;
    // The invariant, checked after every operation before it takes effect.
    assert(
      supply === held + burned,
      `Operation ${op.opId} (${op.type}) breaks the supply invariant: ${supply} != ${held} + ${burned}`,
    );
    const entry: LedgerEntry = scope === undefined
      ? { seq: ++this.#seq, op }
      : { seq: ++this.#seq, op, scope };
    for (const [id, staged] of draft.accounts) {
      this.#accounts.set(id, staged);
      this.#remember(id, entry);
    }
    for (const [id, escrow] of draft.escrows) {
      if (!this.#escrows.has(id)) {
        for (const subject of new Set([escrow.needId, escrow.taskId])) {
          if (subject !== undefined) this.#file(subject, id);
        }
      }
      this.#escrows.set(id, escrow);
      if (escrow.status === "held") this.#open.set(id, escrow);
      else this.#open.delete(id);
    }
    this.#supply = supply;
    this.#burned = burned;
    this.#held = held;
    this.#ops.set(op.opId, op);
    if (scope !== undefined) this.#scopes.add(op.opId, scope);
    return entry;
  }

  /** Adds an escrow id to a subject's list. */
  #file(subject: string, escrowId: string): void {
    const list = this.#bySubject.get(subject);
    if (list === undefined) this.#bySubject.set(subject, [escrowId]);
    else list.push(escrowId);
  }

  /** Takes one escrow id off a subject's list. */
  #unfile(subject: string, escrowId: string): void {
    const list = this.#bySubject.get(subject);
    if (list === undefined) return;
    const kept = list.filter((id) => id !== escrowId);
    if (kept.length === 0) this.#bySubject.delete(subject);
    else this.#bySubject.set(subject, kept);
  }

  #remember(account: string, entry: LedgerEntry): void {
    const list = this.#history.get(account) ?? [];
    list.push(entry);
    if (list.length > ACCOUNT_HISTORY_MAX) list.shift();
    this.#history.set(account, list);
  }
}

function stage(draft: LedgerDraft, op: LedgerOp): void {
  switch (op.type) {
    case "MINT":
      if (draft.ledger.supply + op.amount > Number.MAX_SAFE_INTEGER) {
        throw new LedgerError("E_LEDGER_SUPPLY", `MINT ${op.opId} would overflow the supply`);
      }
      draft.account(op.to).balance += op.amount;
      draft.supplyDelta += op.amount;
      return;
    case "TRANSFER":
      draft.debit(op.from, op.amount, `TRANSFER ${op.opId}`);
      draft.account(op.to).balance += op.amount;
      return;
    case "BURN":
      draft.debit(op.from, op.amount, `BURN ${op.opId}`);
      draft.burnedDelta += op.amount;
      return;
    case "STAKE":
    case "UNSTAKE":
    case "WITHDRAW":
      return applyStakeOp(draft, op);
    default:
      return applyEscrowOp(draft, op);
  }
}

const AMOUNT_FIELDS: Record<LedgerOp["type"], readonly string[]> = {
  MINT: ["amount"],
  TRANSFER: ["amount"],
  BURN: ["amount"],
  STAKE: ["amount"],
  UNSTAKE: ["amount"],
  WITHDRAW: [],
  ESCROW: ["amount"],
  RELEASE: ["burned"],
  REFUND: [],
  SLASH: ["burned"],
};

function checkOpShape(op: LedgerOp): void {
  if (typeof op !== "object" || op === null || !Object.hasOwn(AMOUNT_FIELDS, op.type)) {
    throw new LedgerError("E_LEDGER_OP", `Unknown ledger operation ${String(op?.type)}`);
  }
  if (typeof op.opId !== "string" || op.opId.length === 0) {
    throw new LedgerError("E_LEDGER_OP", `Operation ${op.type} needs a non-empty opId`);
  }
  if (typeof op.atMs !== "number" || !Number.isFinite(op.atMs)) {
    throw new LedgerError("E_LEDGER_OP", `Operation ${op.opId} needs a finite atMs`);
  }
  for (const field of ["holdUntilMs", "releaseAtMs"]) {
    const value = (op as unknown as Record<string, unknown>)[field];
    if (field in op && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
      throw new LedgerError(
        "E_LEDGER_OP",
        `Operation ${op.opId} field ${field} must be a time >= 0`,
      );
    }
  }
  for (const field of AMOUNT_FIELDS[op.type]) {
    const value = (op as unknown as Record<string, unknown>)[field];
    if (!isAmount(value)) {
      throw new LedgerError(
        "E_LEDGER_AMOUNT",
        `Operation ${op.opId} field ${field} must be an integer >= 0, got ${String(value)}`,
      );
    }
  }
}

function checkRecord(id: string, account: AccountRecord): void {
  for (const key of ["balance", "stake", "escrowed", "unbonding"] as const) {
    assert(isAmount(account[key]), `Account ${id} ${key} must be an amount, got ${account[key]}`);
  }
  const queued = account.queue.reduce((sum, entry) => sum + entry.amount, 0);
  assert(queued === account.unbonding, `Account ${id} unbonding ${account.unbonding} != ${queued}`);
}

function total(account: Readonly<AccountRecord>): number {
  return account.balance + account.stake + account.escrowed + account.unbonding;
}

/** A stable rendering of an operation, to tell a duplicate from a conflict. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) =>
      item !== null && typeof item === "object" && !Array.isArray(item)
        ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : item,
  );
}

/**
 * The ledger's vocabulary: accounts, escrows, and the operations of its
 * append-only journal. Every operation names its own id; applying an id a
 * second time is a no-op, which is what lets every node derive the same
 * operations from the same accepted messages and fold them safely.
 *
 * Amounts are integer micro-credits.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** A credit to one account, part of a release or a slash. */
export interface Payout {
  readonly to: string;
  readonly amount: number;
}

/** What an escrow holds credit for. */
export type EscrowKind = "bounty" | "bond";

/** An escrow's state: held, or settled exactly once. */
export type EscrowStatus = "held" | "released" | "refunded" | "slashed";

/** Credit set aside by a payer until a thread settles it. */
export interface Escrow {
  readonly escrowId: string;
  readonly payer: string;
  readonly amount: number;
  readonly kind: EscrowKind;
  readonly needId: string;
  readonly taskId: string | undefined;
  readonly openedAtMs: number;
  /** A refund is refused before this time (the bounty stays for the challenge windows). */
  readonly holdUntilMs: number;
  readonly status: EscrowStatus;
  /** Operation that settled it. */
  readonly settledBy: string | undefined;
}

/** Unstaked credit waiting out the unbonding period (still slashable). */
export interface Unbonding {
  readonly amount: number;
  readonly releaseAtMs: number;
}

/** One account's holdings. `locked` = stake + escrowed. */
export interface AccountView {
  readonly account: string;
  readonly balance: number;
  readonly stake: number;
  readonly escrowed: number;
  readonly unbonding: number;
  readonly locked: number;
  readonly unbondingQueue: readonly Unbonding[];
}

interface OpBase {
  /** Unique id; a second operation with this id is a duplicate (or a conflict). */
  readonly opId: string;
  /** Node time at which the operation happened. */
  readonly atMs: number;
}

/** Creates credit (genesis). */
export interface MintOp extends OpBase {
  readonly type: "MINT";
  readonly to: string;
  readonly amount: number;
}

/** Moves free balance between accounts. */
export interface TransferOp extends OpBase {
  readonly type: "TRANSFER";
  readonly from: string;
  readonly to: string;
  readonly amount: number;
}

/** Destroys free balance. */
export interface BurnOp extends OpBase {
  readonly type: "BURN";
  readonly from: string;
  readonly amount: number;
}

/** Bonds free balance as stake. */
export interface StakeOp extends OpBase {
  readonly type: "STAKE";
  readonly account: string;
  readonly amount: number;
}

/** Starts unbonding stake; it stays slashable until the unbonding period ends. */
export interface UnstakeOp extends OpBase {
  readonly type: "UNSTAKE";
  readonly account: string;
  readonly amount: number;
  /** When the unbonding ends (atMs + the unbonding period). */
  readonly releaseAtMs: number;
}

/** Returns unbonded stake whose period has ended to the free balance. */
export interface WithdrawOp extends OpBase {
  readonly type: "WITHDRAW";
  readonly account: string;
}

/** Locks a payer's free balance in an escrow. */
export interface EscrowOp extends OpBase {
  readonly type: "ESCROW";
  readonly escrowId: string;
  readonly payer: string;
  readonly amount: number;
  readonly kind: EscrowKind;
  readonly needId: string;
  readonly taskId?: string;
  readonly holdUntilMs: number;
}

/** Settles an escrow by paying it out (payouts may include the payer); burned is destroyed. */
export interface ReleaseOp extends OpBase {
  readonly type: "RELEASE";
  readonly escrowId: string;
  readonly payouts: readonly Payout[];
  readonly burned: number;
}

/** Settles an escrow by returning it whole to its payer. */
export interface RefundOp extends OpBase {
  readonly type: "REFUND";
  readonly escrowId: string;
}

/**
 * Forfeits credit: a whole escrow (a rejected challenge's bond), or `amount`
 * of an account's stake (stake first, then its unbonding credit). The
 * forfeited credit is paid out and burned; payouts + burned = the amount.
 */
export interface SlashOp extends OpBase {
  readonly type: "SLASH";
  readonly escrowId?: string;
  readonly account?: string;
  readonly amount?: number;
  readonly payouts: readonly Payout[];
  readonly burned: number;
}

/** Every ledger operation. */
export type LedgerOp =
  | MintOp
  | TransferOp
  | BurnOp
  | StakeOp
  | UnstakeOp
  | WithdrawOp
  | EscrowOp
  | ReleaseOp
  | RefundOp
  | SlashOp;

/**
 * The NEED an operation was derived from, and the time after which no
 * message can derive it again (the NEED is past its deadline, so it cannot
 * be accepted anew). Past that time the ledger forgets the operation's id,
 * and the NEED's escrows once all of them are settled: the memory a node
 * needs then depends on the NEEDs within their deadlines, not on its age.
 */
export interface LedgerScope {
  readonly needId: string;
  readonly untilMs: number;
}

/** An applied operation in this node's journal. */
export interface LedgerEntry {
  /** Position in this node's journal (nodes may fold in different orders). */
  readonly seq: number;
  readonly op: LedgerOp;
  /** The NEED it belongs to, when it was applied with one. */
  readonly scope?: LedgerScope;
}

/** Codes of ledger refusals. */
export type LedgerErrorCode =
  | "E_LEDGER_OP"
  | "E_LEDGER_AMOUNT"
  | "E_LEDGER_FUNDS"
  | "E_LEDGER_UNKNOWN_ESCROW"
  | "E_LEDGER_ESCROW_EXISTS"
  | "E_LEDGER_ESCROW_SETTLED"
  | "E_LEDGER_ESCROW_HELD"
  | "E_LEDGER_SPLIT"
  | "E_LEDGER_OP_CONFLICT"
  | "E_LEDGER_NOTHING_DUE"
  | "E_LEDGER_SUPPLY";

/** An operation the ledger refuses; the ledger is then unchanged. */
export class LedgerError extends SwarmError {
  declare readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * Ledger operations derived from accepted lifecycle messages (private to
 * the economy). Each derivation reads only the message, the thread's agreed
 * state and the registry, and names its operations by ids every node
 * derives alike, so folding them is idempotent everywhere.
 *
 * @module
 */

import type { InvalidateChallengePayload } from "../lifecycle/payloads.ts";
import type { ChallengeState, Lease, ThreadState } from "../lifecycle/state.ts";
import { shareOf, toMicro } from "./amounts.ts";
import type { Ledger } from "./ledger.ts";
import type { LedgerOp } from "./ledger_types.ts";
import type { EconomicsParams } from "./params.ts";
import {
  type BlockedPayout,
  finalPayouts,
  heartbeatSlash,
  rejectedBond,
  upheldSlashes,
  verifyBountyOf,
  withdrawnBond,
} from "./payouts.ts";
import type { ParticipantRegistry } from "./registry.ts";

/** What settlements read. */
export interface SettleContext {
  readonly ledger: Ledger;
  readonly registry: ParticipantRegistry;
  readonly params: EconomicsParams;
}

/** Operations and the payouts they blocked. */
export interface Derived {
  readonly ops: LedgerOp[];
  readonly blocked: BlockedPayout[];
}

/** Escrow id of a NEED's bounty. */
export const needEscrowId = (needId: string) => `need:${needId}`;
/** Escrow id of a challenge's bond. */
export const bondEscrowId = (challengeId: string) => `bond:${challengeId}`;

/** The credit a NEED escrows: its bounty plus the verify bounty, micro-credits. */
export function needEscrowAmount(thread: ThreadState, params: EconomicsParams): number {
  const bounty = toMicro(thread.need.bounty);
  return bounty + verifyBountyOf(bounty, params);
}

/** ESCROW of a NEED's bounty, held until its deadline. */
export function escrowNeed(thread: ThreadState, atMs: number, params: EconomicsParams): LedgerOp {
  return {
    type: "ESCROW",
    opId: `escrow:${needEscrowId(thread.needId)}`,
    atMs,
    escrowId: needEscrowId(thread.needId),
    payer: thread.requester,
    amount: needEscrowAmount(thread, params),
    kind: "bounty",
    needId: thread.needId,
    holdUntilMs: thread.need.deadlineMs,
  };
}

/** RELEASE of a final NEED's escrow to its workers and attesters. */
export function releaseNeed(thread: ThreadState, atMs: number, context: SettleContext): Derived {
  const escrow = context.ledger.escrow(needEscrowId(thread.needId));
  if (escrow === undefined || escrow.status !== "held") return { ops: [], blocked: [] };
  const settlement = finalPayouts(thread, escrow.amount, context.registry);
  return {
    ops: [{
      type: "RELEASE",
      opId: `release:${escrow.escrowId}`,
      atMs,
      escrowId: escrow.escrowId,
      payouts: settlement.payouts,
      burned: settlement.burned,
    }],
    blocked: settlement.blocked,
  };
}

/** REFUND of an expired NEED's escrow. */
export function refundNeed(needId: string, atMs: number, ledger: Ledger): LedgerOp[] {
  const escrow = ledger.escrow(needEscrowId(needId));
  if (escrow === undefined || escrow.status !== "held" || atMs < escrow.holdUntilMs) return [];
  return [{ type: "REFUND", opId: `refund:${escrow.escrowId}`, atMs, escrowId: escrow.escrowId }];
}

/** ESCROW of a challenge's bond. */
export function escrowBond(
  thread: ThreadState,
  challenge: ChallengeState,
  atMs: number,
): LedgerOp {
  return {
    type: "ESCROW",
    opId: `escrow:${bondEscrowId(challenge.challengeId)}`,
    atMs,
    escrowId: bondEscrowId(challenge.challengeId),
    payer: challenge.challenger,
    amount: toMicro(challenge.bond),
    kind: "bond",
    needId: thread.needId,
    taskId: challenge.taskId,
    holdUntilMs: 0,
  };
}

/** Settles a ruled challenge: its bond, and on UPHELD the attesters' stake. */
export function settleChallenge(
  thread: ThreadState,
  ruling: InvalidateChallengePayload,
  atMs: number,
  context: SettleContext,
): Derived {
  const challenge = thread.challenges?.get(ruling.challengeId) as ChallengeState;
  const escrow = context.ledger.escrow(bondEscrowId(challenge.challengeId));
  const ops: LedgerOp[] = [];
  const blocked: BlockedPayout[] = [];
  const held = escrow !== undefined && escrow.status === "held";
  const bondOp = (settlement: ReturnType<typeof withdrawnBond>) => {
    if (!held) return;
    ops.push({
      type: "SLASH",
      opId: `settle:${escrow.escrowId}`,
      atMs,
      escrowId: escrow.escrowId,
      payouts: settlement.payouts,
      burned: settlement.burned,
    });
    blocked.push(...settlement.blocked);
  };
  switch (ruling.verdict) {
    case "REFUSED":
    case "UPHELD":
      if (held) {
        ops.push({
          type: "REFUND",
          opId: `settle:${escrow.escrowId}`,
          atMs,
          escrowId: escrow.escrowId,
        });
      }
      break;
    case "REJECTED": {
      const worker = thread.tasks.get(ruling.taskId)?.commits.get(ruling.commitId)?.worker;
      const defenders = worker === undefined ? ruling.attesters : [worker, ...ruling.attesters];
      bondOp(rejectedBond(challenge, defenders, escrow?.amount ?? 0, context));
      break;
    }
    default:
      bondOp(withdrawnBond(challenge, escrow?.amount ?? 0, context.params));
  }
  if (ruling.verdict === "UPHELD") {
    const stakeOps = slashStakes(thread, challenge, ruling, atMs, context);
    ops.push(...stakeOps.ops);
    blocked.push(...stakeOps.blocked);
  }
  return { ops, blocked };
}

function slashStakes(
  thread: ThreadState,
  challenge: ChallengeState,
  ruling: InvalidateChallengePayload,
  atMs: number,
  context: SettleContext,
): Derived {
  const worker = thread.tasks.get(ruling.taskId)?.commits.get(ruling.commitId)?.worker ?? "";
  // A slash never takes more than the account still has (it may have been slashed meanwhile).
  const capped = ruling.slashes.map(({ account, amount }) => {
    const holdings = context.ledger.account(account);
    return { account, amount: Math.min(amount, holdings.stake + holdings.unbonding) };
  }).filter((slash) => slash.amount > 0);
  const splits = upheldSlashes(
    capped,
    challenge,
    ruling.dissenters,
    worker,
    ruling.reward,
    context,
  );
  return {
    ops: splits.map((split) => ({
      type: "SLASH",
      opId: `slash:${challenge.challengeId}:${split.account}`,
      atMs,
      account: split.account,
      amount: split.amount,
      payouts: split.payouts,
      burned: split.burned,
    })),
    blocked: splits.flatMap((split) => split.blocked),
  };
}

/** The missed-heartbeat slash of the holder of a lease that expired (burned). */
export function slashHeartbeat(lease: Lease, atMs: number, context: SettleContext): LedgerOp[] {
  const holdings = context.ledger.account(lease.holder);
  const amount = heartbeatSlash(lease, holdings.stake + holdings.unbonding, context.params);
  if (amount === 0) return [];
  return [{
    type: "SLASH",
    opId: `slash:lease:${lease.leaseId}`,
    atMs,
    account: lease.holder,
    amount,
    payouts: [],
    burned: amount,
  }];
}

/** The stake an attester (or a policy-breaching worker) loses to an upheld challenge. */
export function stakeSlashOf(ledger: Ledger, account: string, share: number): number {
  const holdings = ledger.account(account);
  return shareOf(holdings.stake + holdings.unbonding, share);
}

/**
 * Who gets what when a thread settles: pure functions from a thread's agreed
 * state to payouts, so every node computes the same ones.
 *
 * - A final NEED pays its bounty to the workers of the final commits and its
 *   verify bounty in equal shares to the attesters each FINALIZE named.
 * - An upheld challenge slashes the attesters; each slash is split 50 % to the
 *   challenger (its reward, at most 2× its bond, 4× in bootstrap), 40 % to
 *   the verifiers who had voted the result down, 10 % burned.
 * - A rejected challenge's bond goes to the defenders (the worker and the
 *   attesters), 10 % burned; a withdrawn or unprovable one costs a 10 % fee.
 * - Payouts to a party related to the payer (same identity, organisation,
 *   AS or entity), and to verifiers related to the worker they verified, are
 *   blocked: refunded to the payer, or burned when the payer was slashed.
 *
 * @module
 */

import type { ChallengeState, ThreadState } from "../lifecycle/state.ts";
import type { Lease } from "../lifecycle/state.ts";
import { shareOf, splitEqually, toMicro } from "./amounts.ts";
import type { Payout } from "./ledger_types.ts";
import type { EconomicsParams } from "./params.ts";
import type { ParticipantRegistry } from "./registry.ts";

/** A payout that was blocked, and why. */
export interface BlockedPayout {
  readonly to: string;
  readonly amount: number;
  readonly reason: string;
}

/** Payouts of one settlement. */
export interface Settlement {
  readonly payouts: Payout[];
  readonly burned: number;
  readonly blocked: BlockedPayout[];
}

/** The verify bounty escrowed with a bounty, micro-credits. */
export function verifyBountyOf(bountyMicro: number, params: EconomicsParams): number {
  return shareOf(bountyMicro, params.verifyBountyShare);
}

/**
 * Payouts of a final NEED's escrow: per task, an equal share of the bounty
 * to the worker of its final commit and of the verify bounty to the
 * attesters its FINALIZE named.
 */
export function finalPayouts(
  thread: ThreadState,
  escrowMicro: number,
  registry: ParticipantRegistry,
): Settlement {
  const payer = thread.requester;
  const bountyMicro = Math.min(escrowMicro, toMicro(thread.need.bounty));
  const tasks = [...thread.tasks.values()].sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
  const payouts = new Payouts();
  const blocked: BlockedPayout[] = [];
  if (tasks.length === 0) {
    payouts.add(payer, escrowMicro);
    return { payouts: payouts.list(), burned: 0, blocked };
  }
  const workerShares = splitEqually(bountyMicro, tasks.length);
  const verifyShares = splitEqually(escrowMicro - bountyMicro, tasks.length);
  tasks.forEach((task, index) => {
    const commit = task.verifiedCommit === undefined
      ? undefined
      : task.commits.get(task.verifiedCommit);
    const worker = commit?.worker ?? payer;
    const pay = (to: string, amount: number, reason: string | undefined) => {
      if (reason === undefined) return payouts.add(to, amount);
      blocked.push({ to, amount, reason });
      payouts.add(payer, amount);
    };
    pay(
      worker,
      workerShares[index],
      registry.related(worker, payer) ? "related to the requester" : undefined,
    );
    const attesters = task.finalAttesters ?? commit?.tally.approvals ?? [];
    if (attesters.length === 0) return payouts.add(payer, verifyShares[index]);
    const shares = splitEqually(verifyShares[index], attesters.length);
    attesters.forEach((attester, position) => {
      const reason = registry.related(attester, payer)
        ? "related to the requester"
        : registry.related(attester, worker)
        ? "related to the worker"
        : undefined;
      pay(attester, shares[position], reason);
    });
  });
  return { payouts: payouts.list(), burned: 0, blocked };
}

/** One stake slash of an upheld challenge, with its split. */
export interface StakeSlash extends Settlement {
  readonly account: string;
  readonly amount: number;
}

/**
 * Splits the stake slashed by an upheld challenge: per slashed account,
 * the challenger's share pays its reward (up to `rewardMicro` in total), the
 * rest of that share and the honest share go in equal parts to the verifiers
 * who voted the commit down, and the burn share is burned.
 */
export function upheldSlashes(
  slashes: readonly { readonly account: string; readonly amount: number }[],
  challenge: ChallengeState,
  dissenters: readonly string[],
  worker: string,
  rewardMicro: number,
  context: { readonly registry: ParticipantRegistry; readonly params: EconomicsParams },
): StakeSlash[] {
  const { registry, params } = context;
  const slashed = slashes.map((slash) => slash.account);
  const tainted = (did: string) =>
    registry.related(did, worker) || slashed.some((account) => registry.related(did, account));
  const rewardBlocked = tainted(challenge.challenger);
  const honest = dissenters.filter((did) => !tainted(did));
  let rewardLeft = rewardBlocked ? 0 : rewardMicro;
  return slashes.map(({ account, amount }) => {
    const payouts = new Payouts();
    const blocked: BlockedPayout[] = [];
    const challengerShare = shareOf(amount, params.upheldChallengerShare);
    const honestShare = shareOf(amount, params.upheldHonestShare);
    let burned = amount - challengerShare - honestShare;
    const reward = Math.min(challengerShare, rewardLeft);
    rewardLeft -= reward;
    if (reward > 0) payouts.add(challenge.challenger, reward);
    if (rewardBlocked && challengerShare > 0) {
      blocked.push({
        to: challenge.challenger,
        amount: challengerShare,
        reason: "related to a slashed party",
      });
    }
    const pool = honestShare + challengerShare - reward;
    if (honest.length === 0) burned += pool;
    else {splitEqually(pool, honest.length).forEach((share, index) =>
        payouts.add(honest[index], share)
      );}
    return { account, amount, payouts: payouts.list(), burned, blocked };
  });
}

/**
 * A rejected challenge's bond: to the defenders (the commit's worker and its
 * attesters) in equal shares after the burn; defenders related to the
 * challenger get nothing (their share is burned).
 */
export function rejectedBond(
  challenge: ChallengeState,
  defenders: readonly string[],
  bondMicro: number,
  context: { readonly registry: ParticipantRegistry; readonly params: EconomicsParams },
): Settlement {
  const burnShare = shareOf(bondMicro, context.params.rejectedBondBurnShare);
  const unique = [...new Set(defenders)];
  const eligible = unique.filter((did) => !context.registry.related(did, challenge.challenger));
  const blocked = unique.filter((did) => !eligible.includes(did)).map((to) => ({
    to,
    amount: 0,
    reason: "related to the challenger",
  }));
  if (eligible.length === 0) return { payouts: [], burned: bondMicro, blocked };
  const payouts = new Payouts();
  splitEqually(bondMicro - burnShare, eligible.length).forEach((share, index) =>
    payouts.add(eligible[index], share)
  );
  return { payouts: payouts.list(), burned: burnShare, blocked };
}

/** A withdrawn or unprovable challenge's bond: back to the challenger less the fee, which is burned. */
export function withdrawnBond(
  challenge: ChallengeState,
  bondMicro: number,
  params: EconomicsParams,
): Settlement {
  const fee = shareOf(bondMicro, params.withdrawFeeShare);
  return {
    payouts: bondMicro - fee > 0 ? [{ to: challenge.challenger, amount: bondMicro - fee }] : [],
    burned: fee,
    blocked: [],
  };
}

/**
 * The missed-heartbeat slash of a lease that expired: 1 % of the slashable
 * stake per unit of severity, at most 10 %; severity is the number of
 * heartbeats the lease spanned (1..10).
 */
export function heartbeatSlash(
  lease: Lease,
  slashableMicro: number,
  params: EconomicsParams,
): number {
  const spanned = (lease.expiresAtMs - lease.grantedAtMs) / Math.max(1, lease.heartbeatIntervalMs);
  const severity = Math.min(10, Math.max(1, Math.round(spanned)));
  const share = Math.min(params.heartbeatSlashMax, params.heartbeatSlashPerSeverity * severity);
  return shareOf(slashableMicro, share);
}

/** The share of stake slashed for a policy violation of `severity` (0..10): base × (1 + severity/10). */
export function policySlashShare(severity: number, params: EconomicsParams): number {
  const clamped = Math.min(10, Math.max(0, severity));
  return Math.min(1, params.policySlashBase * (1 + clamped / 10));
}

/** Payouts merged by account, listed in account order. */
class Payouts {
  readonly #byAccount = new Map<string, number>();

  add(to: string, amount: number): void {
    if (amount <= 0) return;
    this.#byAccount.set(to, (this.#byAccount.get(to) ?? 0) + amount);
  }

  list(): Payout[] {
    return [...this.#byAccount.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([to, amount]) => ({ to, amount }));
  }
}

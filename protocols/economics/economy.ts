/**
 * The economy of one node: its ledger, reputation book and selection
 * inputs, driven by the lifecycle messages the node accepts. The node core
 * calls four hooks:
 *
 * - `stamp` before signing: pins the committees (NEED, DECIDE) and the
 *   economic consequences of a ruling (INVALIDATE) from this node's ledger;
 * - `admit` after the reducer accepted a message and before it takes
 *   effect: refuses what cannot be funded (`E_INSUFFICIENT_FUNDS`, parkable:
 *   the credit may still be on its way), committees that break the
 *   diversity caps, and a local challenger over its rate;
 * - `apply` once it took effect: derives the ledger operations (escrow at
 *   NEED and CHALLENGE, release at FINALIZE, refund at expiry, settlement
 *   at INVALIDATE, slashing at an expired lease) and folds them;
 * - `sweep` on the node's clock: finished unbonding, unruled challenges.
 *
 * Operations are named by ids derived from the messages, so every node that
 * accepts the same messages reaches the same balances, whatever the order.
 * Each is scoped to its NEED until the NEED's deadline and expiry grace:
 * after that no message can derive it again, so `sweep` lets the ledger
 * forget it (a node's memory follows the NEEDs within their deadlines).
 *
 * @module
 */

import { errorCode } from "../../runtime/errors.ts";
import type { Store } from "../../runtime/store/store.ts";
import { ProtocolError } from "../lifecycle/errors.ts";
import type { LifecycleMessage, LifecycleVerb } from "../lifecycle/payloads.ts";
import type { ReduceView } from "../lifecycle/reducer.ts";
import type { ThreadState, Transition } from "../lifecycle/state.ts";
import type { SwarmParams } from "../params.ts";
import { MICRO_PER_CREDIT, toMicro } from "./amounts.ts";
import {
  bondEscrowId,
  type Derived,
  escrowBond,
  escrowNeed,
  needEscrowAmount,
  needEscrowId,
  refundNeed,
  releaseNeed,
  settleChallenge,
  type SettleContext,
  slashHeartbeat,
} from "./_settle.ts";
import { stampPayload } from "./_stamp.ts";
import { EconomyQueries, type LedgerAnswer, type LedgerQuery } from "./queries.ts";
import { LedgerJournal } from "./journal.ts";
import { Ledger } from "./ledger.ts";
import type { LedgerOp, LedgerScope } from "./ledger_types.ts";
import type { BlockedPayout } from "./payouts.ts";
import { RateLimiter } from "./rate_limiter.ts";
import type { ParticipantRegistry } from "./registry.ts";
import { RecencyBook } from "./recency.ts";
import { ReputationBook } from "./reputation.ts";
import { diversityViolations, type SelectionCandidate, selectWeighted } from "./selection.ts";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

/** What an economy needs to know about its swarm. */
export interface EconomyConfig {
  readonly params: SwarmParams;
  readonly registry: ParticipantRegistry;
  /** DIDs of the registered verifiers (committee candidates). */
  readonly verifiers: readonly string[];
}

/** Counters of an economy. */
export interface EconomyStats {
  readonly supply: number;
  readonly burned: number;
  readonly accounts: number;
  readonly operations: number;
  readonly escrowsHeld: number;
  /** Operation ids the ledger still remembers (NEEDs past their deadline are forgotten). */
  readonly operationsRemembered: number;
  /** Challenge rulings by verdict and code, e.g. `REFUSED:E_CHALLENGE_WINDOW`. */
  readonly rulings: Readonly<Record<string, number>>;
  readonly blockedPayouts: number;
  /** Ledger refusals of derived operations (should stay empty). */
  readonly ledgerErrors: Readonly<Record<string, number>>;
  readonly journalPending: number;
  readonly journalFailures: number;
  readonly journalCompactions: number;
}

/** Blocked payouts remembered per escrow, for queries. */
const BLOCKED_REMEMBERED_MAX = 10_000;

/** The economy hooks of a node core. */
export class Economy {
  readonly ledger = new Ledger();
  readonly reputation: ReputationBook;
  readonly #config: EconomyConfig;
  readonly #verifiers: ReadonlySet<string>;
  readonly #recency: RecencyBook;
  readonly #limiter: RateLimiter;
  readonly #rulings = new Map<string, number>();
  readonly #ledgerErrors = new Map<string, number>();
  readonly #blocked = new Map<string, BlockedPayout[]>();
  readonly #blockedOldest = new EvictionCursor(this.#blocked);
  #blockedCount = 0;
  #journal: LedgerJournal | undefined;

  constructor(config: EconomyConfig) {
    this.#config = config;
    this.#verifiers = new Set(config.verifiers);
    this.reputation = new ReputationBook(config.params.economics);
    this.#recency = new RecencyBook(config.params.economics);
    const economics = config.params.economics;
    this.#limiter = new RateLimiter({
      max: economics.challengeRateMax,
      windowMs: economics.challengeRateWindowMs,
    });
  }

  /** The registry of participants. */
  get registry(): ParticipantRegistry {
    return this.#config.registry;
  }

  /**
   * Folds the journal in `store` (when given: its checkpoint, then the
   * entries after it) back into the ledger, then
   * applies genesis (a no-op when the journal already holds it).
   */
  async open(store: Store | undefined): Promise<void> {
    if (store !== undefined) {
      this.#journal = new LedgerJournal(store);
      const { checkpoint, entries } = await this.#journal.load();
      if (checkpoint !== undefined) this.ledger.restore(checkpoint);
      for (const entry of entries) this.ledger.apply(entry.op, entry.scope);
    }
    for (const participant of this.#config.registry.participants()) {
      const minted = toMicro(participant.genesisBalance);
      const staked = toMicro(participant.genesisStake);
      if (minted > 0) {
        this.#fold(
          {
            type: "MINT",
            opId: `genesis:mint:${participant.did}`,
            atMs: 0,
            to: participant.did,
            amount: minted,
          },
        );
      }
      if (staked > 0) {
        this.#fold(
          {
            type: "STAKE",
            opId: `genesis:stake:${participant.did}`,
            atMs: 0,
            account: participant.did,
            amount: staked,
          },
        );
      }
    }
  }

  /** Fills the fields of an outgoing payload that come from this node's economy. */
  stamp(
    kind: LifecycleVerb,
    thread: ThreadState | undefined,
    payload: unknown,
    view: ReduceView,
  ): unknown {
    return stampPayload(kind, thread, payload, view, {
      ledger: this.ledger,
      verifierCount: this.#verifiers.size,
      select: (subject, size, exclude) =>
        this.committee(subject, size, view.nowMs, new Set(exclude)),
    });
  }

  /**
   * Refuses a message the reducer accepted when the economy cannot carry it;
   * throws {@linkcode ProtocolError}.
   */
  admit(
    message: LifecycleMessage,
    before: ThreadState | undefined,
    transition: Transition,
    view: ReduceView,
  ): void {
    const thread = transition.thread;
    if (message.kind === "NEED" && before === undefined) {
      if (thread.need.committee !== undefined) this.#checkCaps(thread.need.committee, "NEED");
      const escrow = this.ledger.escrow(needEscrowId(thread.needId));
      if (escrow !== undefined && escrow.status !== "held") {
        // This node paid it out or refunded it, then forgot the thread: a NEED replayed now (a
        // replay attack on a core that restarted, or a stale copy) must not run and pay again.
        throw new ProtocolError(
          "E_NEED_CLOSED",
          `NEED ${thread.needId} was settled already (its escrow was ${escrow.status})`,
        );
      }
      if (escrow === undefined) {
        this.#requireFunds(thread.requester, needEscrowAmount(thread, view.params.economics), view);
      }
    } else if (message.kind === "DECIDE" && before?.decision === undefined) {
      if (thread.resultCommittee !== undefined) this.#checkCaps(thread.resultCommittee, "DECIDE");
    } else if (message.kind === "CHALLENGE") {
      const opened = transition.effects.find((effect) => effect.type === "challenge-opened");
      if (opened === undefined || this.ledger.has(`escrow:${bondEscrowId(message.id)}`)) return;
      if (view.origin === "local" && !this.#limiter.allows(message.sender, view.nowMs)) {
        throw new ProtocolError(
          "E_CHALLENGE_RATE",
          `${message.sender} opened ${view.params.economics.challengeRateMax} challenges in the last ${view.params.economics.challengeRateWindowMs} ms`,
        );
      }
      const bond = (message as LifecycleMessage<"CHALLENGE">).payload.bond;
      this.#requireFunds(message.sender, toMicro(bond), view);
    } else if (message.kind === "INVALIDATE") {
      const ruling = (message as LifecycleMessage<"INVALIDATE">).payload;
      if (ruling.target === "CHALLENGE" && ruling.verdict === "UPHELD") {
        this.#checkCaps(ruling.committee, "INVALIDATE");
      }
    }
  }

  /** Derives and folds the ledger operations of an accepted message. */
  apply(
    message: LifecycleMessage,
    before: ThreadState | undefined,
    transition: Transition,
    view: ReduceView,
  ): void {
    const thread = transition.thread;
    const atMs = view.nowMs;
    const context = this.#context();
    switch (message.kind) {
      case "ATTEST":
      case "ATTEST_PLAN":
        return this.#recency.seen(message.sender, atMs);
      case "NEED":
        if (before === undefined) {
          this.#fold(escrowNeed(thread, atMs, view.params.economics), this.#scope(thread));
        }
        return;
      case "CHALLENGE":
        return this.#onChallenge(message, thread, atMs);
      case "INVALIDATE":
        return this.#onInvalidate(message as LifecycleMessage<"INVALIDATE">, thread, atMs, context);
      case "FINALIZE":
        return this.#onFinalize(message as LifecycleMessage<"FINALIZE">, transition, atMs, context);
      case "RELEASE": {
        const lease = before?.tasks.get((message.payload as { taskId: string }).taskId)?.lease;
        if (lease !== undefined) {
          for (const op of slashHeartbeat(lease, atMs, context)) {
            this.#fold(op, this.#scope(thread));
          }
        }
        return;
      }
    }
  }

  /** The NEEDs `payer` escrowed that are still open before their deadline, at most `limit`. */
  openNeedsOf(payer: string, nowMs: number, limit: number): string[] {
    const needs: string[] = [];
    for (const escrow of this.ledger.openEscrows()) {
      if (needs.length >= limit) break;
      if (escrow.kind === "bounty" && escrow.payer === payer && escrow.holdUntilMs > nowMs) {
        needs.push(escrow.needId);
      }
    }
    return needs;
  }

  /** Refunds a NEED this node expired on its own (its decider never did). */
  expiredLocally(needId: string, nowMs: number): void {
    for (const op of refundNeed(needId, nowMs, this.ledger)) {
      this.#fold(op, this.#scopeOfNeed(needId, nowMs));
    }
  }

  /**
   * Returns finished unbonding to balances, refunds bonds no decider ever
   * ruled on, expires NEEDs escrowed here whose thread the node no longer
   * holds (`holds`), lets the ledger forget the NEEDs past their scope, and
   * compacts the journal when that is due.
   *
   * A NEED escrowed here can lose its thread when the node restarts before
   * any peer heard of it: nobody can finish or expire it then, so it is
   * refunded after its deadline and grace, as an open thread would be.
   */
  sweep(nowMs: number, holds: (needId: string) => boolean = () => true): void {
    for (const account of this.ledger.accountIds()) {
      const due = this.ledger.account(account).unbondingQueue.filter((entry) =>
        entry.releaseAtMs <= nowMs
      );
      if (due.length === 0) continue;
      const latest = Math.max(...due.map((entry) => entry.releaseAtMs));
      this.#fold({ type: "WITHDRAW", opId: `withdraw:${account}:${latest}`, atMs: nowMs, account });
    }
    const staleBefore = nowMs - this.#config.params.economics.challengeRefundAfterMs;
    const lapsedBefore = nowMs - this.#config.params.needExpiryGraceMs;
    const open = [...this.ledger.openEscrows()];
    for (const escrow of open) {
      if (escrow.kind !== "bounty" || escrow.holdUntilMs > lapsedBefore) continue;
      if (!holds(escrow.needId)) this.expiredLocally(escrow.needId, nowMs);
    }
    const stale = open.filter((escrow) =>
      escrow.kind === "bond" && escrow.openedAtMs <= staleBefore
    );
    for (const escrow of stale) {
      this.#fold({
        type: "REFUND",
        opId: `settle:${escrow.escrowId}`,
        atMs: nowMs,
        escrowId: escrow.escrowId,
      }, this.#scopeOfNeed(escrow.needId, nowMs));
      this.#count(this.#rulings, "REFUNDED:E_CHALLENGE_UNRULED");
    }
    this.ledger.prune(nowMs);
    this.#journal?.compactIfDue(() => this.ledger.checkpoint());
  }

  /** The committee for `subject` from this node's view of stake, reputation and recency. */
  committee(subject: string, size: number, nowMs: number, exclude?: ReadonlySet<string>): string[] {
    const candidates = this.candidates(nowMs).filter((candidate) => !exclude?.has(candidate.did));
    return selectWeighted(subject, candidates, size, this.#config.params.economics);
  }

  /** Every registered verifier as selection sees it now. */
  candidates(nowMs: number): SelectionCandidate[] {
    return [...this.#verifiers].map((did) => {
      const meta = this.#config.registry.meta(did);
      return {
        did,
        stake: this.ledger.account(did).stake,
        reputation: this.reputation.get(did, nowMs),
        recency: this.#recency.factor(did, nowMs),
        org: meta.org,
        asn: meta.asn,
        region: meta.region,
        entity: meta.entity,
      };
    });
  }

  /** Answers a read-only ledger query. */
  query(query: LedgerQuery, nowMs: number): LedgerAnswer {
    return new EconomyQueries(this.ledger, this.reputation, this.#blocked).answer(query, nowMs);
  }

  /** Resolves once the journal has written everything applied so far. */
  async flush(): Promise<void> {
    await this.#journal?.flush();
  }

  /** Counters. */
  stats(): EconomyStats {
    const journal = this.#journal?.stats;
    return {
      supply: this.ledger.supply / MICRO_PER_CREDIT,
      burned: this.ledger.burned / MICRO_PER_CREDIT,
      accounts: this.ledger.accountCount,
      operations: this.ledger.size,
      escrowsHeld: this.ledger.openEscrowCount,
      operationsRemembered: this.ledger.remembered,
      rulings: Object.fromEntries(this.#rulings),
      blockedPayouts: this.#blockedCount,
      ledgerErrors: Object.fromEntries(this.#ledgerErrors),
      journalPending: journal?.pending ?? 0,
      journalFailures: journal?.commitFailures ?? 0,
      journalCompactions: journal?.compactions ?? 0,
    };
  }

  #onChallenge(message: LifecycleMessage, thread: ThreadState, atMs: number): void {
    const challenge = thread.challenges?.get(message.id);
    if (challenge === undefined || challenge.challengeId !== message.id) return;
    // Every challenge counts toward its challenger's rate; only its own node refuses on it.
    this.#limiter.admit(message.sender, atMs);
    this.#fold(escrowBond(thread, challenge, atMs), this.#scope(thread));
  }

  #onInvalidate(
    message: LifecycleMessage<"INVALIDATE">,
    thread: ThreadState,
    atMs: number,
    context: SettleContext,
  ): void {
    const ruling = message.payload;
    if (ruling.target === "NEED") {
      for (const op of refundNeed(ruling.needId, atMs, this.ledger)) {
        this.#fold(op, this.#scope(thread));
      }
      return;
    }
    this.#count(this.#rulings, `${ruling.verdict}:${ruling.code}`);
    this.#settle(
      settleChallenge(thread, ruling, atMs, context),
      bondEscrowId(ruling.challengeId),
      this.#scope(thread),
    );
    if (ruling.verdict !== "UPHELD") return;
    for (const slash of ruling.slashes) {
      if (ruling.attesters.includes(slash.account)) {
        this.reputation.failedAttestation(slash.account, atMs);
      }
    }
    const challenger = thread.challenges?.get(ruling.challengeId)?.challenger;
    if (challenger !== undefined) this.reputation.upheldChallenge(challenger, atMs);
  }

  #onFinalize(
    message: LifecycleMessage<"FINALIZE">,
    transition: Transition,
    atMs: number,
    context: SettleContext,
  ): void {
    const thread = transition.thread;
    const commit = thread.tasks.get(message.payload.taskId)?.commits.get(message.payload.commitId);
    for (const dissenter of commit?.tally.rejections ?? []) {
      this.reputation.failedAttestation(dissenter, atMs);
    }
    if (!transition.effects.some((effect) => effect.type === "need-final")) return;
    this.#settle(releaseNeed(thread, atMs, context), `need:${thread.needId}`, this.#scope(thread));
  }

  #settle(derived: Derived, subject: string, scope: LedgerScope): void {
    for (const op of derived.ops) this.#fold(op, scope);
    if (derived.blocked.length === 0) return;
    this.#blockedCount += derived.blocked.length;
    if (this.#blocked.size >= BLOCKED_REMEMBERED_MAX) {
      this.#blockedOldest.evict();
    }
    this.#blocked.set(subject, derived.blocked);
  }

  #requireFunds(account: string, amount: number, view: ReduceView): void {
    const free = this.ledger.account(account).balance;
    if (free >= amount) return;
    throw new ProtocolError(
      "E_INSUFFICIENT_FUNDS",
      `${account} has ${free / MICRO_PER_CREDIT} credits free, needs ${amount / MICRO_PER_CREDIT}`,
      view.nowMs + view.params.economics.fundingRetryMs,
    );
  }

  #checkCaps(committee: readonly string[], what: string): void {
    const members = committee.map((did) => this.#config.registry.meta(did));
    const violation = diversityViolations(members, this.#config.params.economics)[0];
    if (violation === undefined) return;
    throw new ProtocolError(
      "E_COMMITTEE_INVALID",
      `${what} pins a committee that breaks the diversity caps: ${violation}`,
    );
  }

  /** The scope of a thread's operations: its NEED, until its deadline and expiry grace. */
  #scope(thread: ThreadState): LedgerScope {
    return {
      needId: thread.needId,
      untilMs: thread.need.deadlineMs + this.#config.params.needExpiryGraceMs,
    };
  }

  /** The scope of a NEED known by id: its bounty escrow holds until its deadline. */
  #scopeOfNeed(needId: string, nowMs: number): LedgerScope {
    const deadlineMs = this.ledger.escrow(needEscrowId(needId))?.holdUntilMs ?? nowMs;
    return { needId, untilMs: deadlineMs + this.#config.params.needExpiryGraceMs };
  }

  #fold(op: LedgerOp, scope?: LedgerScope): void {
    try {
      const entry = this.ledger.apply(op, scope);
      if (entry !== undefined) this.#journal?.append(entry);
    } catch (error) {
      this.#count(this.#ledgerErrors, errorCode(error));
    }
  }

  #count(counts: Map<string, number>, key: string): void {
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  #context(): SettleContext {
    return {
      ledger: this.ledger,
      registry: this.#config.registry,
      params: this.#config.params.economics,
    };
  }
}

/**
 * The shard decider: owns a set of the 256 decide buckets. For the needs in
 * its buckets it writes each DECIDE through the decide log (fenced by its
 * bucket tokens and the epoch) and publishes it, rules on challenges
 * (INVALIDATE, see `_arbiter.ts`), finalizes verified results once their
 * challenge window has passed and no challenge is pending, expires NEEDs
 * whose deadline passed (INVALIDATE of the NEED, so every node refunds the
 * escrow on the same message), and, as the lease monitor, releases leases
 * that expired without a commit.
 *
 * A decision the log could not take (unreachable from a minority side, a
 * stale epoch after a RECONCILE) is retried with backoff while the NEED is
 * still open; a stale fence means another decider owns the bucket now, so
 * the bucket is given up. What it finalizes is kept in the node's store, so
 * a restarted decider finalizes a task with the same record again.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorCode, errorMessage } from "../runtime/errors.ts";
import {
  bucketOf,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
  sameDecision,
  type StaleFenceError,
} from "../runtime/store/decide_log.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import type { FinalizePayload } from "../protocols/lifecycle/payloads.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
import { retainUntilMs, type SwarmParams, swarmParams } from "../protocols/params.ts";
import { Arbiter, type ArbiterMessage, type ArbiterStats } from "./_arbiter.ts";
import { finalizeRecord, keepCommittee, keptCommittee } from "./_finalizer.ts";
import {
  checkLease,
  forgetFinal,
  freeRejected,
  leaseCheckAfter,
  type LeaseMonitorMessage,
} from "./_lease_monitor.ts";
import {
  checkUnclaimed,
  type ClaimRelayConfig,
  type ClaimRelayMessage,
  stopWatching,
  watchUnclaimed,
} from "./_claim_relay.ts";
import type { CoreMessage, RoleEvent } from "./swarm_messages.ts";

/** Settings of a shard decider. */
export interface DeciderConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly did: string;
  readonly decideLog: DecideLog;
  /** Buckets this decider owns. */
  readonly buckets: readonly number[];
  /** Slack after a lease's expiry before it is released (clock skew). Default 1,000 ms. */
  readonly leaseGraceMs?: number;
  /** Protocol parameters (challenge rules); default the defaults. */
  readonly params?: SwarmParams;
  /** Where the evidence of challenges and the artifacts they dispute are read. */
  readonly cas?: ContentStore;
  /** How often NEED deadlines are checked. Default 1,000 ms. */
  readonly expiryCheckMs?: number;
}

/** Messages of a shard decider. */
export type DeciderMessage =
  | RoleEvent
  | LeaseMonitorMessage
  | ClaimRelayMessage
  | {
    readonly type: "fenced";
    readonly buckets: readonly number[];
    readonly tokens: Settled<FenceToken[]>;
  }
  | { readonly type: "decided"; readonly needId: string; readonly outcome: Settled<DecideOutcome> }
  /**
   * Take ownership of more buckets: a failover, or (`borrowed`) an AP side
   * deciding for owners it cannot reach during a partition — it decides
   * for them but leaves finalization (the payout) to the owner, after the
   * heal, so the two sides never pay different attesters for one task.
   */
  | {
    readonly type: "take-buckets";
    readonly buckets: readonly number[];
    readonly borrowed?: boolean;
  }
  /** Give up buckets (another decider owns them now). */
  | { readonly type: "drop-buckets"; readonly buckets: readonly number[] }
  /** Which buckets this decider owns now (a membership service checking on it). */
  | { readonly type: "owned"; readonly replyTo: ActorRef<readonly number[]> }
  | { readonly type: "retry-decide"; readonly needId: string }
  | { readonly type: "retry-publish"; readonly record: DecideRecord; readonly attempt: number }
  | {
    readonly type: "publish-refreshed";
    readonly record: DecideRecord;
    readonly attempt: number;
    readonly thread: Settled<ThreadState | undefined>;
  }
  | {
    readonly type: "publish-ready";
    readonly record: DecideRecord;
    readonly approvers: readonly string[];
    readonly committee: Settled<readonly string[] | undefined>;
  }
  | { readonly type: "epoch-read"; readonly needId: string; readonly epoch: Settled<number> }
  | { readonly type: "finalize"; readonly needId: string; readonly taskId: string }
  | {
    readonly type: "adopt";
    readonly buckets: readonly number[];
    readonly threads: Settled<readonly ThreadState[]>;
  }
  | {
    readonly type: "finalize-ready";
    readonly needId: string;
    readonly taskId: string;
    /**
     * The record to announce; "deposed" when a newer fence holds the bucket,
     * "unleased" when the log no longer holds the verified commit's lease.
     */
    readonly payload: Settled<FinalizePayload | "deposed" | "unleased" | undefined>;
    /** This decider's fence of the bucket when it checked. */
    readonly fence: number | undefined;
  }
  | ArbiterMessage
  | { readonly type: "expiry-check" };

/** Counters of a decider (its arbiter's among them). */
export interface DeciderStats extends ArbiterStats {
  decided: number;
  conflicts: number;
  failures: number;
  /** CLAIMs published for workers that left them in their leases (`_claim_relay.ts`). */
  claimsRelayed?: number;
}

/** Attempts at one decision before the decider leaves it (with backoff, about two minutes). */
const DECIDE_ATTEMPTS_MAX = 30;
/** Backoff of decide retries: the first pause, and the longest. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5_000;
/** Attempts at publishing a decision whose votes this node has not all seen yet. */
const PUBLISH_ATTEMPTS_MAX = 10;

/** A plan quorum this decider still has to turn into a decision. */
interface PendingDecision {
  readonly proposalId: string;
  readonly kPlan: number;
  readonly lamport: number;
  attempt: number;
  /** A write is on its way to the log (one at a time). */
  writing?: boolean;
}

/** Makes a shard decider behaviour. */
export function decider(
  config: DeciderConfig,
  stats: DeciderStats = { decided: 0, conflicts: 0, failures: 0 },
): Behavior<DeciderMessage> {
  return new Decider(config, stats);
}

class Decider implements Behavior<DeciderMessage> {
  readonly #config: DeciderConfig;
  readonly #stats: DeciderStats;
  readonly #owned: Set<number>;
  /** Owned buckets held only on loan (AP partition): decided here, finalized by their owner. */
  readonly #borrowed = new Set<number>();
  readonly #fences = new Map<number, number>();
  /** Fence acquisitions in flight, by bucket: the log may show this decider's next token already. */
  readonly #fencing = new Map<number, number>();
  readonly #threads = new Map<string, ThreadState>();
  readonly #quorums = new Map<string, PendingDecision>();
  readonly #pending: Extract<RoleEvent, { type: "effect" }>[] = [];
  readonly #arbiter: Arbiter;
  readonly #relay: ClaimRelayConfig;
  readonly #params: SwarmParams;
  /** NEEDs whose expiry this decider announced (INVALIDATE of the NEED). */
  readonly #expiring = new Set<string>();
  #epoch = 0;
  #ready = false;

  constructor(config: DeciderConfig, stats: DeciderStats) {
    this.#config = config;
    this.#stats = stats;
    this.#owned = new Set(config.buckets);
    const params = config.params ?? swarmParams();
    this.#params = params;
    this.#arbiter = new Arbiter(
      config.core,
      params,
      config.cas,
      stats,
      (thread) => this.#rulingFence(thread),
    );
    this.#relay = {
      decideLog: config.decideLog,
      unclaimedCheckMs: params.leaseTtlMinMs,
      relayed: () => stats.claimsRelayed = (stats.claimsRelayed ?? 0) + 1,
    };
  }

  preStart(ctx: ActorContext<DeciderMessage>): void {
    // Every effect: the decider keeps each thread of its buckets as the last effect left it.
    this.#config.core.tell({ type: "watch", role: ctx.self as ActorRef<RoleEvent> });
    this.#fence(ctx, this.#config.buckets);
    ctx.schedule(this.#config.expiryCheckMs ?? 1_000, { type: "expiry-check" }, { key: "expiry" });
  }

  receive(ctx: ActorContext<DeciderMessage>, message: DeciderMessage): void {
    switch (message.type) {
      case "core-ready":
      case "epoch":
        this.#epoch = Math.max(this.#epoch, message.epoch);
        return;
      case "fenced":
        return this.#fenced(ctx, message);
      case "take-buckets": {
        const fresh = message.buckets.filter((bucket) => !this.#owned.has(bucket));
        for (const bucket of message.buckets) {
          this.#owned.add(bucket);
          if (message.borrowed === true) this.#borrowed.add(bucket);
          else this.#borrowed.delete(bucket);
        }
        this.#fence(ctx, message.buckets);
        if (fresh.length === 0) return;
        // The previous owner's timers (lease checks, finalizations) are not ours: adopt its work.
        return ctx.ask<CoreMessage, readonly ThreadState[]>(
          this.#config.core,
          (replyTo) => ({ type: "open-threads", replyTo }),
          (threads) => ({ type: "adopt", buckets: fresh, threads }),
        );
      }
      case "adopt":
        return this.#adopt(ctx, message);
      case "drop-buckets":
        for (const bucket of message.buckets) this.#relinquish(bucket);
        return;
      case "owned":
        message.replyTo.tell([...this.#owned].sort((left, right) => left - right));
        return;
      case "effect":
        if (!this.#ready) return void this.#pending.push(message);
        return this.#onEffect(ctx, message);
      case "retry-decide":
        return this.#attempt(ctx, message.needId);
      case "epoch-read":
        if (message.epoch.ok) this.#epoch = Math.max(this.#epoch, message.epoch.value);
        return this.#attempt(ctx, message.needId);
      case "decided":
        return this.#decided(ctx, message);
      case "retry-publish":
        // The votes that carry the decision may have come in without an effect (a proposal that
        // reached quorum after another): read the core's thread, not the copy kept here.
        return ctx.ask<CoreMessage, ThreadState | undefined>(
          this.#config.core,
          (replyTo) => ({ type: "thread", needId: message.record.needId, replyTo }),
          (thread) => ({ ...message, type: "publish-refreshed", thread }),
        );
      case "publish-refreshed": {
        // A written decision is announced even by a decider that has lost the bucket since:
        // nobody else would (a new owner only re-announces its own).
        const { record, attempt, thread } = message;
        if (!thread.ok || thread.value === undefined) return this.#publish(ctx, record, attempt);
        if (this.#owned.has(bucketOf(record.needId))) {
          this.#threads.set(record.needId, thread.value);
        }
        return this.#publish(ctx, record, attempt, thread.value);
      }
      case "publish-ready": {
        // The committee seated the first time, if this decision was announced before.
        const committee = message.committee.ok ? message.committee.value : undefined;
        // The log's bookkeeping (when it may forget the record) is not part of the decision.
        const { retainUntilMs: _retention, ...decision } = message.record;
        this.#config.core.tell({
          type: "emit",
          kind: "DECIDE",
          thread: message.record.needId,
          epoch: message.record.epoch,
          fence: message.record.fence,
          payload: {
            ...decision,
            approvers: [...message.approvers],
            ...(committee === undefined ? {} : { committee: [...committee] }),
          },
        });
        return;
      }
      case "finalize":
        return this.#finalize(ctx, message.needId, message.taskId);
      case "proof-fetched":
      case "ruling-answered":
      case "rule-again":
        return this.#arbiter.receive(ctx, this.#threads.get(message.needId), message);
      case "expiry-check":
        this.#expireDue(ctx.nowMs());
        ctx.schedule(this.#config.expiryCheckMs ?? 1_000, { type: "expiry-check" }, {
          key: "expiry",
        });
        return;
      case "finalize-ready":
        return this.#finalizeReady(ctx, message);
      case "check-lease":
      case "released":
      case "lease-read":
      case "release-announced":
        return checkLease(ctx, this.#config, this.#threads, message);
      case "check-unclaimed":
      case "unclaimed-read":
        return checkUnclaimed(ctx, this.#relay, this.#threads, message);
    }
  }

  /** Acquires fence tokens for `buckets`, retrying while the decide log is out of reach. */
  #fence(ctx: ActorContext<DeciderMessage>, buckets: readonly number[]): void {
    const log = this.#config.decideLog;
    for (const bucket of buckets) this.#fencing.set(bucket, (this.#fencing.get(bucket) ?? 0) + 1);
    const tokens = Promise.all(buckets.map((bucket) => log.acquireFence(bucket, this.#config.did)));
    ctx.pipeToSelf(tokens, (result) => ({ type: "fenced", buckets, tokens: result }));
  }

  #fenced(ctx: ActorContext<DeciderMessage>, message: Extract<DeciderMessage, { type: "fenced" }>) {
    for (const bucket of message.buckets) {
      const left = (this.#fencing.get(bucket) ?? 1) - 1;
      if (left > 0) this.#fencing.set(bucket, left);
      else this.#fencing.delete(bucket);
    }
    if (message.tokens.ok) {
      for (const token of message.tokens.value) {
        // Two takes of a bucket can answer out of order: its newest token is the one it holds
        // (an older one would make it think itself deposed, and give the bucket up).
        const held = this.#fences.get(token.bucket) ?? 0;
        if (this.#owned.has(token.bucket) && token.token > held) {
          this.#fences.set(token.bucket, token.token);
        }
      }
    } else {
      ctx.log.warn("fencing failed; retrying", { code: errorCode(message.tokens.error) });
      const buckets = message.buckets.filter((bucket) => this.#owned.has(bucket));
      ctx.schedule(RETRY_MAX_MS * (0.5 + ctx.random()), { type: "take-buckets", buckets });
    }
    if (!this.#ready) {
      this.#ready = true;
      for (const event of this.#pending.splice(0)) this.#onEffect(ctx, event);
      // Threads the core took before this decider watched it (after a restart, say) sent it no
      // effects: adopt those of its buckets as a new owner would.
      ctx.ask<CoreMessage, readonly ThreadState[]>(
        this.#config.core,
        (replyTo) => ({ type: "open-threads", replyTo }),
        (threads) => ({ type: "adopt", buckets: [...this.#owned], threads }),
      );
    }
    for (const needId of this.#quorums.keys()) this.#attempt(ctx, needId);
  }

  /**
   * Takes over the open threads of `buckets` that this decider holds no copy
   * of (none came with an effect): their quorums, leases, results.
   */
  #adopt(ctx: ActorContext<DeciderMessage>, message: Extract<DeciderMessage, { type: "adopt" }>) {
    if (!message.threads.ok) return;
    const buckets = new Set(message.buckets);
    for (const thread of message.threads.value) {
      const needId = thread.needId;
      if (!buckets.has(bucketOf(needId)) || !this.#owned.has(bucketOf(needId))) continue;
      if (this.#threads.has(needId)) continue; // its effects reached this decider
      this.#threads.set(needId, thread);
      if (thread.phase === "OPEN" && thread.quorumProposal !== undefined) {
        const pending = { proposalId: thread.quorumProposal, kPlan: thread.kPlan, lamport: 1 };
        this.#quorums.set(needId, { ...pending, attempt: 0 });
        this.#attempt(ctx, needId);
      }
      for (const task of thread.tasks.values()) {
        if (task.status === "DECIDED" || task.status === "DRAFT") {
          watchUnclaimed(ctx, this.#relay, { type: "task-ready", needId, taskId: task.taskId });
        }
        if (task.status === "CLAIMED" && task.lease !== undefined) {
          const { leaseId, holder, expiresAtMs } = task.lease;
          const lease = { needId, taskId: task.taskId, leaseId, holder, expiresAtMs };
          leaseCheckAfter(ctx, this.#config, { type: "lease-granted", ...lease });
        }
        if (task.status === "VERIFIED" && task.finalizeAfterMs !== undefined) {
          const finalize = { type: "finalize" as const, needId, taskId: task.taskId };
          ctx.schedule(Math.max(0, task.finalizeAfterMs - ctx.nowMs()), finalize);
        }
      }
      // A challenge its previous arbiter (this decider before a restart, or the bucket's previous
      // owner before a failover) never ruled on holds the FINALIZE back: rule on it here.
      for (const challenge of thread.challenges?.values() ?? []) {
        if (challenge.verdict === undefined) {
          this.#arbiter.opened(ctx, thread, challenge.challengeId);
        }
      }
    }
  }

  /**
   * Gives a bucket up, with the work of its threads: timers already set
   * (finalizations, lease checks, expiries) must not act for the new owner,
   * who adopts the threads and finalizes them itself (two deciders
   * finalizing one task with different attesters would pay different
   * verifiers on different nodes).
   */
  /**
   * Whether a fence newer than `checked` may be this decider's own: a take of
   * the bucket is in flight, or answered since the check. Only otherwise does
   * a newer fence in the log mean another decider holds the bucket.
   */
  #refencing(bucket: number, checked: number | undefined): boolean {
    return this.#fencing.has(bucket) || this.#fences.get(bucket) !== checked;
  }

  #relinquish(bucket: number): void {
    this.#owned.delete(bucket);
    this.#fences.delete(bucket);
    this.#borrowed.delete(bucket);
    for (const needId of [...this.#threads.keys()]) {
      if (bucketOf(needId) !== bucket) continue;
      this.#threads.delete(needId);
      this.#quorums.delete(needId);
      this.#expiring.delete(needId);
    }
  }

  #onEffect(ctx: ActorContext<DeciderMessage>, event: Extract<RoleEvent, { type: "effect" }>) {
    const { effect, thread } = event;
    if (!this.#owned.has(bucketOf(effect.needId))) return;
    this.#threads.set(effect.needId, thread);
    switch (effect.type) {
      case "plan-quorum":
        return this.#onQuorum(ctx, effect);
      case "need-decided":
        this.#quorums.delete(effect.needId);
        keepCommittee(ctx.store, thread, this.#config.did, this.#params).catch((error) =>
          ctx.log.warn("keeping the committee failed", { code: errorCode(error) })
        );
        return;
      case "result-quorum":
        ctx.schedule(Math.max(0, effect.finalizeAfterMs - ctx.nowMs()), {
          type: "finalize",
          needId: effect.needId,
          taskId: effect.taskId,
        });
        return;
      case "lease-granted":
        stopWatching(ctx, effect.taskId);
        return leaseCheckAfter(ctx, this.#config, effect);
      case "task-ready":
        watchUnclaimed(ctx, this.#relay, effect);
        return freeRejected(ctx, this.#config, this.#threads, effect);
      case "task-final":
        stopWatching(ctx, effect.taskId);
        return forgetFinal(ctx, this.#threads, effect);
      case "challenge-opened":
        return this.#arbiter.opened(ctx, thread, effect.challengeId);
      case "challenge-withdrawn":
        return this.#arbiter.withdrawn(ctx, thread, effect.challengeId);
      case "challenge-resolved": {
        const task = thread.tasks.get(effect.taskId);
        if (task?.status === "VERIFIED" && ctx.nowMs() >= (task.finalizeAfterMs ?? Infinity)) {
          this.#finalize(ctx, effect.needId, effect.taskId);
        }
        return;
      }
      case "need-final":
      case "need-expired":
        this.#threads.delete(effect.needId);
        this.#quorums.delete(effect.needId);
        this.#expiring.delete(effect.needId);
        return;
    }
  }

  #onQuorum(ctx: ActorContext<DeciderMessage>, effect: Extract<Effect, { type: "plan-quorum" }>) {
    const { proposalId, kPlan, lamport } = effect;
    this.#quorums.set(effect.needId, { proposalId, kPlan, lamport, attempt: 0 });
    this.#attempt(ctx, effect.needId);
  }

  /** Tries to write the pending decision of `needId` (if it is still wanted and fenced). */
  #attempt(ctx: ActorContext<DeciderMessage>, needId: string): void {
    const pending = this.#quorums.get(needId);
    if (pending === undefined || pending.writing === true) return;
    const bucket = bucketOf(needId);
    const thread = this.#threads.get(needId);
    // Never past the deadline: the log forgets a decision a while after it (`decideRetentionMs`),
    // and only because nobody may decide the NEED any more.
    if (
      !this.#owned.has(bucket) || thread?.phase !== "OPEN" ||
      ctx.nowMs() >= thread.need.deadlineMs
    ) {
      return void this.#quorums.delete(needId);
    }
    const fence = this.#fences.get(bucket);
    if (fence === undefined) return; // tried again once the bucket is fenced
    pending.writing = true;
    const record: DecideRecord = {
      needId,
      proposalId: pending.proposalId,
      epoch: this.#epoch,
      lamport: pending.lamport + 1,
      kPlan: pending.kPlan,
      decider: this.#config.did,
      fence,
      decidedAtMs: ctx.nowMs(),
      retainUntilMs: retainUntilMs(thread.need.deadlineMs, this.#params.decideRetentionMs),
    };
    ctx.pipeToSelf(
      this.#config.decideLog.tryDecide(record),
      (outcome) => ({ type: "decided", needId, outcome }),
    );
  }

  #decided(
    ctx: ActorContext<DeciderMessage>,
    message: Extract<DeciderMessage, { type: "decided" }>,
  ) {
    const { needId, outcome } = message;
    const pending = this.#quorums.get(needId);
    if (pending !== undefined) pending.writing = false;
    if (!outcome.ok) return this.#failed(ctx, needId, outcome.error);
    this.#quorums.delete(needId);
    if (outcome.value.status === "conflict") {
      this.#stats.conflicts++;
      // A decision of this decider's own (an earlier incarnation's) may never have been
      // published; once this node holds it, it was.
      const existing = outcome.value.existing;
      const held = this.#threads.get(needId)?.decision;
      if (existing.decider === this.#config.did && !(held && sameDecision(held, existing))) {
        this.#publish(ctx, existing, 0);
      }
      return;
    }
    this.#stats.decided++;
    if (outcome.value.status === "decided" && ctx.buggify("decider.spurious-retry", needId)) {
      // Rare path: the write is retried as if its answer had been lost (it must be idempotent).
      const record = outcome.value.record;
      this.#quorums.set(needId, { ...record, attempt: 0 });
      return ctx.pipeToSelf(
        this.#config.decideLog.tryDecide(record),
        (again) => ({ type: "decided", needId, outcome: again }),
      );
    }
    this.#publish(ctx, outcome.value.record, 0);
  }

  #failed(ctx: ActorContext<DeciderMessage>, needId: string, error: unknown): void {
    this.#stats.failures++;
    const code = errorCode(error);
    ctx.log.warn("decide failed", { needId, code, reason: errorMessage(error) });
    const pending = this.#quorums.get(needId);
    if (pending === undefined) return;
    if (
      code === "E_STALE_FENCE" &&
      !this.#refencing(bucketOf(needId), (error as StaleFenceError).given)
    ) {
      // Another decider holds this bucket now: leave its needs to it.
      this.#relinquish(bucketOf(needId));
      return void this.#quorums.delete(needId);
    }
    if (++pending.attempt >= DECIDE_ATTEMPTS_MAX) return void this.#quorums.delete(needId);
    if (code === "E_STALE_EPOCH") {
      const epoch = this.#config.decideLog.currentEpoch();
      return ctx.pipeToSelf(epoch, (result) => ({ type: "epoch-read", needId, epoch: result }));
    }
    const delayMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** pending.attempt);
    ctx.schedule(delayMs * (0.5 + ctx.random()), { type: "retry-decide", needId });
  }

  /** Publishes a written decision once this node has seen the votes that carry it. */
  #publish(
    ctx: ActorContext<DeciderMessage>,
    record: DecideRecord,
    attempt: number,
    fresh?: ThreadState,
  ): void {
    if (attempt === 0 && ctx.buggify("decider.late-publish", record.needId)) {
      // Rare path: the decision is written but announced late (a slow network, a GC pause).
      return void ctx.schedule(1_000 + ctx.random() * 2_000, {
        type: "retry-publish",
        record,
        attempt: 1,
      });
    }
    const thread = fresh ?? this.#threads.get(record.needId);
    const tally = thread?.proposals.get(record.proposalId)?.tally;
    const approvers = tally?.approvals ?? [];
    if (approvers.length < record.kPlan) {
      if (attempt + 1 < PUBLISH_ATTEMPTS_MAX) {
        ctx.schedule(RETRY_MAX_MS / 5, { type: "retry-publish", record, attempt: attempt + 1 });
      }
      return;
    }
    const approved = [...approvers];
    ctx.pipeToSelf(
      keptCommittee(ctx.store, record.needId),
      (committee) => ({ type: "publish-ready", record, approvers: approved, committee }),
    );
  }

  /**
   * The fence a ruling on `thread` (an INVALIDATE) carries: this decider's
   * fence of the bucket. Its own core publishes the ruling only once the
   * decide log names it as that fence's holder (a paused decider that lost
   * the bucket meanwhile must not rule), and peers check the same before
   * they take a ruling from a decider other than the NEED's (a failover).
   * Undefined until the bucket's fence is back: no ruling goes out before.
   */
  #rulingFence(thread: ThreadState): number | undefined {
    return this.#fences.get(bucketOf(thread.needId));
  }

  /** Expires the NEEDs of this decider's buckets whose deadline has passed. */
  #expireDue(nowMs: number): void {
    for (const [needId, thread] of this.#threads) {
      if (this.#expiring.has(needId) || nowMs < thread.need.deadlineMs) continue;
      if (thread.phase !== "OPEN" && thread.phase !== "DECIDED") continue;
      const fence = this.#rulingFence(thread);
      if (fence === undefined) continue; // the bucket's fence is not back yet: at a later check
      this.#expiring.add(needId);
      this.#config.core.tell({
        type: "emit",
        kind: "INVALIDATE",
        thread: needId,
        payload: { target: "NEED", needId, code: "E_DEADLINE" },
        fence,
      });
    }
  }

  /**
   * Finalizes a verified task with the record kept in the store (made and
   * kept the first time); a pending challenge holds it back (its ruling
   * triggers it again).
   */
  #finalize(ctx: ActorContext<DeciderMessage>, needId: string, taskId: string): void {
    const bucket = bucketOf(needId);
    if (!this.#owned.has(bucket) || this.#borrowed.has(bucket)) return;
    const thread = this.#threads.get(needId);
    const commitId = thread?.tasks.get(taskId)?.verifiedCommit;
    if (thread === undefined || commitId === undefined) return;
    if (this.#arbiter.blocks(thread, commitId)) return;
    if (thread.tasks.get(taskId)?.status !== "VERIFIED") return;
    const fence = this.#fences.get(bucket);
    const leaseId = thread.tasks.get(taskId)?.commits.get(commitId)?.leaseId as string;
    const log = this.#config.decideLog;
    // A FINALIZE is a decision too: only the holder of the bucket's newest fence makes one (a
    // zombie decider that was paused while another took its buckets must not, P4), and only
    // under the lease the log holds, marked final first: of two leases an AP merge finds on the
    // task, it keeps the final one, and the other side's work is set aside.
    const payload = fence === undefined
      ? Promise.reject(new Error(`No fence for bucket ${bucket} yet`))
      : log.currentFence(bucket).then(async (current) => {
        if (current !== fence) return "deposed" as const;
        const record = await finalizeRecord(ctx.store, thread, taskId, this.#params);
        if (record === undefined) return undefined;
        return await log.markFinal(taskId, leaseId) ? record : "unleased" as const;
      });
    ctx.pipeToSelf(
      payload,
      (result) => ({ type: "finalize-ready", needId, taskId, payload: result, fence }),
    );
  }

  /** Announces a finalization, gives up a bucket it was deposed from, retries when unsure. */
  #finalizeReady(
    ctx: ActorContext<DeciderMessage>,
    message: Extract<DeciderMessage, { type: "finalize-ready" }>,
  ): void {
    const { needId, taskId, payload } = message;
    const bucket = bucketOf(needId);
    if (!this.#owned.has(bucket)) return;
    if (payload.ok && payload.value === "deposed" && !this.#refencing(bucket, message.fence)) {
      return this.#relinquish(bucket);
    }
    if (!payload.ok || payload.value === "deposed" || payload.value === "unleased") {
      // The decide log is out of reach, our fence is not back yet, our own newer fence is on its
      // way, or the log does not hold the commit's lease (yet: an AP replica that has not caught
      // up with the lease granted while its bucket was lent; or no more: a merge kept another
      // side's lease, and its RECONCILE sets this commit aside, which ends the retries): try
      // again later.
      return void ctx.schedule(RETRY_MAX_MS * (0.5 + ctx.random()), {
        type: "finalize",
        needId,
        taskId,
      });
    }
    if (payload.value === undefined) return;
    this.#config.core.tell({
      type: "emit",
      kind: "FINALIZE",
      thread: needId,
      payload: payload.value,
    });
  }
}

/**
 * The shard decider: owns a set of the 256 decide buckets. For the needs in
 * its buckets it writes each DECIDE through the decide log (fenced by its
 * bucket tokens and the epoch) and publishes it, finalizes verified results
 * once their challenge window has passed, and, as the lease monitor,
 * releases leases that expired without a commit.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorCode } from "../runtime/errors.ts";
import {
  bucketOf,
  type DecideLog,
  type DecideOutcome,
  type DecideRecord,
  type FenceToken,
} from "../runtime/store/decide_log.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
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
}

/** Messages of a shard decider. */
export type DeciderMessage =
  | RoleEvent
  | { readonly type: "fenced"; readonly tokens: Settled<FenceToken[]> }
  | { readonly type: "decided"; readonly needId: string; readonly outcome: Settled<DecideOutcome> }
  /** Take ownership of more buckets (a failover, or AP membership during a partition). */
  | { readonly type: "take-buckets"; readonly buckets: readonly number[] }
  /** Give up buckets (another decider owns them now). */
  | { readonly type: "drop-buckets"; readonly buckets: readonly number[] }
  | { readonly type: "finalize"; readonly needId: string; readonly taskId: string }
  | {
    readonly type: "check-lease";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
  }
  | {
    readonly type: "released";
    readonly needId: string;
    readonly taskId: string;
    readonly leaseId: string;
    readonly ok: boolean;
  };

/** Counters of a decider. */
export interface DeciderStats {
  decided: number;
  conflicts: number;
  failures: number;
}

/** Makes a shard decider behaviour. */
export function decider(
  config: DeciderConfig,
  stats: DeciderStats = { decided: 0, conflicts: 0, failures: 0 },
): Behavior<DeciderMessage> {
  const owned = new Set(config.buckets);
  const fences = new Map<number, number>();
  const threads = new Map<string, ThreadState>();
  const pending: Extract<RoleEvent, { type: "effect" }>[] = [];
  let epoch = 0;
  let ready = false;
  const mine = (needId: string) => owned.has(bucketOf(needId));

  const decide = (
    ctx: ActorContext<DeciderMessage>,
    effect: Extract<Effect, { type: "plan-quorum" }>,
    thread: ThreadState,
  ) => {
    const proposal = thread.proposals.get(effect.proposalId);
    const fence = fences.get(bucketOf(effect.needId));
    if (proposal === undefined || fence === undefined) return;
    const record: DecideRecord = {
      needId: effect.needId,
      proposalId: effect.proposalId,
      epoch,
      lamport: effect.lamport + 1,
      kPlan: effect.kPlan,
      decider: config.did,
      fence,
      decidedAtMs: ctx.nowMs(),
    };
    ctx.pipeToSelf(
      config.decideLog.tryDecide(record),
      (outcome) => ({ type: "decided", needId: effect.needId, outcome }),
    );
  };

  const publishDecision = (
    ctx: ActorContext<DeciderMessage>,
    message: Extract<DeciderMessage, { type: "decided" }>,
  ) => {
    if (!message.outcome.ok) {
      stats.failures++;
      return ctx.log.warn("decide failed", { code: errorCode(message.outcome.error) });
    }
    const outcome = message.outcome.value;
    if (outcome.status === "conflict") {
      stats.conflicts++;
      if (outcome.existing.decider !== config.did) return;
    } else stats.decided++;
    const record = outcome.status === "conflict" ? outcome.existing : outcome.record;
    const approvers = threads.get(record.needId)?.proposals.get(record.proposalId)?.tally.approvals;
    if (approvers === undefined) return;
    config.core.tell({
      type: "emit",
      kind: "DECIDE",
      thread: record.needId,
      epoch: record.epoch,
      fence: record.fence,
      payload: { ...record, approvers: [...approvers] },
    });
  };

  const finalize = (needId: string, taskId: string) => {
    const task = threads.get(needId)?.tasks.get(taskId);
    if (task === undefined || task.status !== "VERIFIED" || task.verifiedCommit === undefined) {
      return;
    }
    const commit = task.commits.get(task.verifiedCommit);
    if (commit === undefined) return;
    config.core.tell({
      type: "emit",
      kind: "FINALIZE",
      thread: needId,
      payload: {
        needId,
        taskId,
        commitId: commit.commitId,
        attesters: [...commit.tally.approvals],
        kResult: task.kResult,
      },
    });
  };

  const checkLease = (
    ctx: ActorContext<DeciderMessage>,
    message: Extract<DeciderMessage, { type: "check-lease" }>,
  ) => {
    const task = threads.get(message.needId)?.tasks.get(message.taskId);
    if (task?.status !== "CLAIMED" || task.lease?.leaseId !== message.leaseId) return;
    const released = config.decideLog.releaseLease(message.taskId, message.leaseId);
    const { needId, taskId, leaseId } = message;
    ctx.pipeToSelf(
      released,
      (result) => ({ type: "released", needId, taskId, leaseId, ok: result.ok && result.value }),
    );
  };

  const onEffect = (
    ctx: ActorContext<DeciderMessage>,
    event: Extract<RoleEvent, { type: "effect" }>,
  ) => {
    const { effect, thread } = event;
    if (!mine(effect.needId)) return;
    threads.set(effect.needId, thread);
    switch (effect.type) {
      case "plan-quorum":
        return decide(ctx, effect, thread);
      case "result-quorum":
        ctx.schedule(Math.max(0, effect.finalizeAfterMs - ctx.nowMs()), {
          type: "finalize",
          needId: effect.needId,
          taskId: effect.taskId,
        });
        return;
      case "lease-granted":
        ctx.schedule(
          Math.max(0, effect.expiresAtMs - ctx.nowMs()) + (config.leaseGraceMs ?? 1_000),
          {
            type: "check-lease",
            needId: effect.needId,
            taskId: effect.taskId,
            leaseId: effect.leaseId,
          },
          { key: `lease:${effect.taskId}` },
        );
        return;
      case "lease-ended":
        ctx.cancelSchedule(`lease:${effect.taskId}`);
        return;
      case "need-final":
      case "need-expired":
        threads.delete(effect.needId);
        return;
    }
  };

  return {
    preStart(ctx) {
      config.core.tell({ type: "watch", role: ctx.self as ActorRef<RoleEvent> });
      const tokens = Promise.all(
        config.buckets.map((bucket) => config.decideLog.acquireFence(bucket, config.did)),
      );
      ctx.pipeToSelf(tokens, (result) => ({ type: "fenced", tokens: result }));
    },
    receive(ctx, message) {
      switch (message.type) {
        case "core-ready":
        case "epoch":
          epoch = message.epoch;
          return;
        case "fenced":
          if (!message.tokens.ok) throw message.tokens.error;
          for (const token of message.tokens.value) {
            if (owned.has(token.bucket)) fences.set(token.bucket, token.token);
          }
          ready = true;
          for (const event of pending.splice(0)) onEffect(ctx, event);
          return;
        case "take-buckets": {
          for (const bucket of message.buckets) owned.add(bucket);
          const tokens = Promise.all(
            message.buckets.map((bucket) => config.decideLog.acquireFence(bucket, config.did)),
          );
          ctx.pipeToSelf(tokens, (result) => ({ type: "fenced", tokens: result }));
          return;
        }
        case "drop-buckets":
          for (const bucket of message.buckets) {
            owned.delete(bucket);
            fences.delete(bucket);
          }
          return;
        case "effect":
          if (!ready) return void pending.push(message);
          return onEffect(ctx, message);
        case "decided":
          return publishDecision(ctx, message);
        case "finalize":
          return finalize(message.needId, message.taskId);
        case "check-lease":
          return checkLease(ctx, message);
        case "released":
          if (!message.ok) return;
          config.core.tell({
            type: "emit",
            kind: "RELEASE",
            thread: message.needId,
            payload: {
              needId: message.needId,
              taskId: message.taskId,
              leaseId: message.leaseId,
              reason: "expired",
            },
          });
          return;
      }
    },
  };
}

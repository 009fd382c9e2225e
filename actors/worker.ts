/**
 * The worker: bids for ready tasks by taking a lease in the decide log,
 * announces it with CLAIM, runs the task, stores the output in the content
 * store and COMMITs it under the lease, heartbeating while it works.
 *
 * A committed task's lease is kept until a while after the task is final
 * (or until its NEED expires, or the task is reopened): released at commit,
 * it would let a bidder whose node has not yet heard this CLAIM (a node
 * that lags by seconds under load) take a second lease and publish a second
 * CLAIM, and nodes that saw the two CLAIMs in different orders would
 * disagree on who holds the task.
 *
 * Every step that waits (the lease, the store, the core) comes back as a
 * message, so a worker serves many tasks at once, up to its concurrency;
 * ready tasks beyond that wait in a bounded backlog.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorCode } from "../runtime/errors.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import type { DecideLog, LeaseOutcome } from "../runtime/store/decide_log.ts";
import type { TaskSpec } from "../protocols/lifecycle/payloads.ts";
import { selectCommittee } from "../protocols/committee.ts";
import { rejectedWorker } from "../protocols/lifecycle/lease.ts";
import { toHex } from "../protocols/envelope/mod.ts";
import { runWork, sha256Hex, telemetryOf, type WorkTelemetry } from "../protocols/work.ts";
import type { Effect } from "../protocols/lifecycle/state.ts";
import type { CoreMessage, EmitResult, RoleEvent } from "./swarm_messages.ts";

/** Settings of a worker. */
export interface WorkerConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly did: string;
  readonly decideLog: DecideLog;
  readonly cas: ContentStore;
  /** Lease length asked for; at least the protocol minimum (60 s by default). */
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;
  /** Every worker of the swarm; with it, only the two preferred workers bid for a fresh task. */
  readonly workers?: readonly string[];
  /** Most tasks in progress at once. Default 256. */
  readonly concurrency?: number;
  /** Test hook: commit a wrong output (a byzantine worker). */
  readonly wrongOutput?: boolean;
  /** Test hook: claim a tenth of the cost the work really took (caught by the commit gate). */
  readonly understateTelemetry?: boolean;
}

interface Candidate {
  readonly needId: string;
  readonly taskId: string;
  readonly spec: TaskSpec;
  /** Reopened (DRAFT) tasks are retried when their old lease is still being released. */
  readonly reopened?: boolean;
  readonly attempt?: number;
}

interface Job extends Candidate {
  readonly leaseId: string;
}

type WorkerMessage =
  | RoleEvent
  | { readonly type: "leased"; readonly job: Job; readonly outcome: Settled<LeaseOutcome> }
  | { readonly type: "claimed"; readonly job: Job; readonly result: Settled<EmitResult> }
  | {
    readonly type: "stored";
    readonly job: Job;
    readonly cid: Settled<string>;
    readonly digest: string;
    readonly telemetry: WorkTelemetry;
  }
  | { readonly type: "committed"; readonly job: Job; readonly result: Settled<EmitResult> }
  | { readonly type: "heartbeat"; readonly taskId: string }
  | { readonly type: "release-final"; readonly taskId: string }
  | { readonly type: "rebid"; readonly candidate: Candidate };

/** Bidders per fresh task when the worker list is known. */
const PREFERRED_BIDDERS = 2;

/** Tries at a reopened task whose previous lease is still held, and the pause between them. */
const REBID_ATTEMPTS_MAX = 5;
const REBID_DELAY_MS = 200;

/** Ready tasks waiting for a free slot; beyond this they are left to other workers. */
const BACKLOG_MAX = 100_000;

/** Committed tasks whose lease is kept until they are final; beyond this, released at once. */
const COMMITTED_MAX = 100_000;

/** How long a final task's lease is kept (as long as nodes remember finished threads). */
const FINAL_LEASE_RETENTION_MS = 60_000;

/** Makes a worker behaviour. */
export function worker(config: WorkerConfig): Behavior<WorkerMessage> {
  return new Worker(config);
}

class Worker implements Behavior<WorkerMessage> {
  readonly #config: WorkerConfig;
  readonly #jobs = new Map<string, Job>();
  /** Committed jobs by task id, their leases held until the task is final. */
  readonly #committed = new Map<string, Job>();
  readonly #backlog: Candidate[] = [];
  readonly #concurrency: number;
  #backlogHead = 0;
  #epoch = 0;

  constructor(config: WorkerConfig) {
    this.#config = config;
    this.#concurrency = config.concurrency ?? 256;
  }

  preStart(ctx: ActorContext<WorkerMessage>): void {
    this.#config.core.tell({ type: "watch", role: ctx.self as ActorRef<RoleEvent> });
  }

  receive(ctx: ActorContext<WorkerMessage>, message: WorkerMessage): void {
    switch (message.type) {
      case "core-ready":
      case "epoch":
        this.#epoch = message.epoch;
        return;
      case "effect":
        this.#settleCommitted(ctx, message.effect);
        return this.#bid(ctx, message);
      case "leased":
        return this.#claim(ctx, message.job, message.outcome);
      case "claimed":
        return this.#work(ctx, message.job, message.result);
      case "stored":
        return this.#commit(ctx, message);
      case "committed":
        return this.#finish(
          ctx,
          message.job,
          true,
          message.result.ok && message.result.value.type === "emitted",
        );
      case "heartbeat":
        return this.#heartbeat(ctx, message.taskId);
      case "release-final": {
        const job = this.#committed.get(message.taskId);
        if (job !== undefined) this.#release(ctx, job);
        return;
      }
      case "rebid":
        if (this.#jobs.size < this.#concurrency) return this.#start(ctx, message.candidate);
        return;
    }
  }

  #bid(ctx: ActorContext<WorkerMessage>, event: Extract<RoleEvent, { type: "effect" }>): void {
    if (event.effect.type !== "task-ready") return;
    const task = event.thread.tasks.get(event.effect.taskId);
    if (task === undefined || (task.status !== "DECIDED" && task.status !== "DRAFT")) return;
    if (rejectedWorker(task, this.#config.did)) return;
    const preferred = this.#config.workers === undefined || task.status === "DRAFT" ||
      selectCommittee(`work:${task.taskId}`, this.#config.workers, PREFERRED_BIDDERS).includes(
        this.#config.did,
      );
    if (!preferred) return;
    const candidate = {
      needId: event.effect.needId,
      taskId: task.taskId,
      spec: task.spec,
      reopened: task.status === "DRAFT",
    };
    if (this.#jobs.size < this.#concurrency) return this.#start(ctx, candidate);
    if (this.#backlog.length - this.#backlogHead >= BACKLOG_MAX) {
      return ctx.log.warn("worker backlog full", { taskId: task.taskId });
    }
    this.#backlog.push(candidate);
  }

  #start(ctx: ActorContext<WorkerMessage>, candidate: Candidate): void {
    if (this.#jobs.has(candidate.taskId)) return;
    const job: Job = { ...candidate, leaseId: toHex(ctx.randomBytes(12)) };
    this.#jobs.set(job.taskId, job);
    const nowMs = ctx.nowMs();
    const lease = this.#config.decideLog.tryLease({
      taskId: job.taskId,
      leaseId: job.leaseId,
      holder: this.#config.did,
      grantedAtMs: nowMs,
      expiresAtMs: nowMs + this.#config.leaseTtlMs,
      epoch: this.#epoch,
    });
    ctx.pipeToSelf(lease, (outcome) => ({ type: "leased", job, outcome }));
  }

  #claim(ctx: ActorContext<WorkerMessage>, job: Job, outcome: Settled<LeaseOutcome>): void {
    if (!outcome.ok || outcome.value.status !== "granted") {
      this.#finish(ctx, job, false);
      // The worker that lost a reopened task may not have released its lease yet: try again.
      const attempt = (job.attempt ?? 0) + 1;
      if (outcome.ok && job.reopened && attempt < REBID_ATTEMPTS_MAX) {
        const { needId, taskId, spec, reopened } = job;
        ctx.schedule(REBID_DELAY_MS, {
          type: "rebid",
          candidate: { needId, taskId, spec, reopened, attempt },
        });
      }
      return;
    }
    const lease = outcome.value.lease;
    ctx.ask<CoreMessage, EmitResult>(this.#config.core, (replyTo) => ({
      type: "emit",
      kind: "CLAIM",
      thread: job.needId,
      replyTo,
      payload: {
        needId: job.needId,
        taskId: job.taskId,
        leaseId: job.leaseId,
        leaseTtlMs: this.#config.leaseTtlMs,
        grantedAtMs: lease.grantedAtMs,
        cost: 1,
        etaMs: 1_000,
        heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
      },
    }), (result) => ({ type: "claimed", job, result }));
  }

  #work(ctx: ActorContext<WorkerMessage>, job: Job, result: Settled<EmitResult>): void {
    if (!result.ok || result.value.type !== "emitted") return this.#finish(ctx, job, true);
    ctx.schedule(this.#config.heartbeatIntervalMs, { type: "heartbeat", taskId: job.taskId }, {
      key: `heartbeat:${job.taskId}`,
    });
    const done = runWork(job.spec);
    const output = this.#config.wrongOutput ? `${done.output} (tampered)` : done.output;
    const digest = this.#config.wrongOutput ? sha256Hex(output) : done.digest;
    const stored = this.#config.cas.put(new TextEncoder().encode(output)).then((cid) =>
      cid.toString()
    );
    const measured = telemetryOf(done);
    const telemetry = this.#config.understateTelemetry
      ? { ...measured, costUnits: Math.max(1, Math.floor(measured.costUnits / 10)) }
      : measured;
    ctx.pipeToSelf(stored, (cid) => ({ type: "stored", job, cid, digest, telemetry }));
  }

  #commit(
    ctx: ActorContext<WorkerMessage>,
    message: Extract<WorkerMessage, { type: "stored" }>,
  ): void {
    const { job, cid } = message;
    if (!cid.ok) return this.#finish(ctx, job, true);
    ctx.ask<CoreMessage, EmitResult>(this.#config.core, (replyTo) => ({
      type: "emit",
      kind: "COMMIT",
      thread: job.needId,
      replyTo,
      payload: {
        needId: job.needId,
        taskId: job.taskId,
        leaseId: job.leaseId,
        artifacts: [cid.value],
        outputDigest: message.digest,
        verifyBounty: 1,
        telemetry: message.telemetry,
      },
    }), (result) => ({ type: "committed", job, result }));
  }

  #heartbeat(ctx: ActorContext<WorkerMessage>, taskId: string): void {
    const job = this.#jobs.get(taskId);
    if (job === undefined) return;
    const expiresAtMs = ctx.nowMs() + this.#config.leaseTtlMs;
    this.#config.decideLog.renewLease(taskId, job.leaseId, expiresAtMs).catch((error) =>
      ctx.log.warn("lease renewal failed", { taskId, code: errorCode(error) })
    );
    this.#config.core.tell({
      type: "emit",
      kind: "HEARTBEAT",
      thread: job.needId,
      payload: { needId: job.needId, taskId, leaseId: job.leaseId, expiresAtMs },
    });
    ctx.schedule(this.#config.heartbeatIntervalMs, { type: "heartbeat", taskId }, {
      key: `heartbeat:${taskId}`,
    });
  }

  /** Releases the leases of committed tasks that were reopened or expired, or (later) became final. */
  #settleCommitted(ctx: ActorContext<WorkerMessage>, effect: Effect): void {
    if (this.#committed.size === 0) return;
    if (effect.type === "task-final" && this.#committed.has(effect.taskId)) {
      ctx.schedule(
        FINAL_LEASE_RETENTION_MS,
        { type: "release-final", taskId: effect.taskId },
        { key: `release:${effect.taskId}` },
      );
      return;
    }
    if (effect.type === "task-ready") {
      const job = this.#committed.get(effect.taskId);
      if (job !== undefined) this.#release(ctx, job);
      return;
    }
    if (effect.type !== "need-expired") return;
    for (const job of [...this.#committed.values()]) {
      if (job.needId === effect.needId) this.#release(ctx, job);
    }
  }

  #release(ctx: ActorContext<WorkerMessage>, job: Job): void {
    if (this.#committed.delete(job.taskId)) ctx.cancelSchedule(`release:${job.taskId}`);
    this.#config.decideLog.releaseLease(job.taskId, job.leaseId).catch((error) =>
      ctx.log.warn("lease release failed; the lease monitor will free it", {
        code: errorCode(error),
      })
    );
  }

  /**
   * Ends a job and starts waiting ones. A leased job's lease is released,
   * or, once committed, kept until the task is final.
   */
  #finish(ctx: ActorContext<WorkerMessage>, job: Job, leased: boolean, committed = false): void {
    this.#jobs.delete(job.taskId);
    if (leased) {
      ctx.cancelSchedule(`heartbeat:${job.taskId}`);
      if (committed && this.#committed.size < COMMITTED_MAX) {
        this.#committed.set(job.taskId, job);
      } else this.#release(ctx, job);
    }
    while (this.#jobs.size < this.#concurrency && this.#backlogHead < this.#backlog.length) {
      this.#start(ctx, this.#backlog[this.#backlogHead++]);
    }
    if (this.#backlogHead === this.#backlog.length) {
      this.#backlog.length = 0;
      this.#backlogHead = 0;
    }
  }
}

/**
 * The worker: bids for ready tasks by taking a lease in the decide log,
 * announces it with CLAIM, runs the task, stores the output in the content
 * store and COMMITs it under the lease, heartbeating while it works. The
 * CLAIM is signed first and written into the lease with the grant, so a
 * worker that dies between the grant and the CLAIM's publication does not
 * hold the task for good: the lease monitor publishes the CLAIM for it. The
 * decide log is the authority on the lease: a heartbeat is announced only
 * once the log renewed it, a result is committed only once the log confirms
 * the lease is still this worker's, and a committed lease is kept until it
 * runs out, so no lagging worker can claim the task again meanwhile.
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
import { bytesToBase64Url } from "../protocols/identity/ed25519.ts";
import { runWork, sha256Hex, telemetryOf, type WorkTelemetry } from "../protocols/work.ts";
import type { ThreadState } from "../protocols/lifecycle/state.ts";
import { retainUntilMs, SWARM_PARAMS_DEFAULT } from "../protocols/params.ts";
import type { CoreMessage, EmitResult, RoleEvent } from "./swarm_messages.ts";
import { EvictionCursor } from "../runtime/eviction_cursor.ts";

/** Settings of a worker. */
export interface WorkerConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly did: string;
  readonly decideLog: DecideLog;
  readonly cas: ContentStore;
  /** Lease length asked for; at least the protocol minimum (60 s by default). */
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;
  /** How long past a NEED's deadline its leases are kept (`decideRetentionMs`). Default 1 h. */
  readonly leaseRetentionMs?: number;
  /** Every worker of the swarm; with it, only the two preferred workers bid for a fresh task. */
  readonly workers?: readonly string[];
  /** Most tasks in progress at once. Default 256. */
  readonly concurrency?: number;
  /** Test hook: commit a wrong output (a byzantine worker). */
  readonly wrongOutput?: boolean;
  /** Test hook: claim a tenth of the cost the work really took (caught by the commit gate). */
  readonly understateTelemetry?: boolean;
  /**
   * Test hook: the first time it wins each task, drop the signed CLAIM
   * instead of publishing it and forget the job, as a worker that died right
   * after the grant would (the lease keeps the CLAIM; nobody publishes it).
   */
  readonly loseFirstClaims?: boolean;
}

interface Candidate {
  readonly needId: string;
  /** The NEED's deadline: its leases are kept until a while after it. */
  readonly deadlineMs: number;
  readonly taskId: string;
  readonly spec: TaskSpec;
  /** Bids made for this task so far (retries after a refusal). */
  readonly attempt: number;
  /** The task was reopened (DRAFT): its previous lease may still be on its way out. */
  readonly reopened: boolean;
  /** The newest lease this worker's node had seen on the task: the CLAIM follows it. */
  readonly after: string | undefined;
  /**
   * This worker's own lease that held the task when this bid was refused: a
   * grant whose answer never came (an orphan), freed before bidding again.
   */
  readonly orphan?: string;
}

interface Job extends Candidate {
  readonly leaseId: string;
  /** When the lease was asked for (the CLAIM names it). */
  readonly grantedAtMs: number;
}

type WorkerMessage =
  | RoleEvent
  | { readonly type: "signed"; readonly job: Job; readonly result: Settled<EmitResult> }
  | { readonly type: "leased"; readonly job: Job; readonly outcome: Settled<LeaseOutcome> }
  | { readonly type: "claimed"; readonly job: Job; readonly result: Settled<EmitResult> }
  | {
    readonly type: "stored";
    readonly job: Job;
    readonly cid: Settled<string>;
    readonly digest: string;
    readonly telemetry: WorkTelemetry;
    /** Set once BUGGIFY slowed this job down (it is slowed at most once). */
    readonly slowed?: boolean;
    /** Confirmations of the lease tried so far (the decide log did not answer). */
    readonly confirmAttempt?: number;
  }
  | {
    readonly type: "confirmed";
    readonly job: Job;
    readonly cid: string;
    readonly digest: string;
    readonly telemetry: WorkTelemetry;
    readonly held: Settled<LeaseConfirmation>;
    readonly confirmAttempt?: number;
  }
  | { readonly type: "commit-signed"; readonly job: Job; readonly result: Settled<EmitResult> }
  | {
    readonly type: "mark";
    readonly job: Job;
    readonly commit: string;
    readonly attempt: number;
  }
  | {
    readonly type: "commit-marked";
    readonly job: Job;
    /** The signed COMMIT, held by the core until the mark is written. */
    readonly commit: string;
    readonly marked: Settled<boolean>;
    /** Marks tried so far (the decide log did not answer). */
    readonly attempt: number;
  }
  | { readonly type: "committed"; readonly job: Job; readonly result: Settled<EmitResult> }
  | { readonly type: "heartbeat"; readonly taskId: string }
  | {
    readonly type: "renewed";
    readonly job: Job;
    readonly expiresAtMs: number;
    readonly held: Settled<boolean>;
  }
  | { readonly type: "rebid"; readonly candidate: Candidate }
  | { readonly type: "claim-check"; readonly job: Job; readonly check: number }
  | {
    readonly type: "claim-checked";
    readonly job: Job;
    readonly check: number;
    readonly thread: Settled<ThreadState | undefined>;
  }
  | {
    readonly type: "rechecked";
    readonly candidate: Candidate;
    readonly thread: Settled<ThreadState | undefined>;
  }
  | { readonly type: "epoch-read"; readonly epoch: Settled<number> }
  | {
    readonly type: "orphan-freed";
    readonly candidate: Candidate;
    readonly leaseId: string;
    /** The decide log answered the release (whether or not it still held the lease). */
    readonly answered: boolean;
  };

/** Bidders per fresh task when the worker list is known. */
const PREFERRED_BIDDERS = 2;

/** Ready tasks waiting for a free slot; beyond this they are left to other workers. */
const BACKLOG_MAX = 100_000;

/** Bids per task before this worker leaves it to others. */
const BID_ATTEMPTS_MAX = 8;
/** First pause before a bid is retried; it doubles with every attempt. */
const REBID_BASE_MS = 500;
/** Leases asked for whose grant went unanswered, remembered at most (oldest first out). */
const UNSURE_LEASES_MAX = 4_096;

/** Confirmations of a lease before a commit, when the decide log does not answer. */
const CONFIRM_ATTEMPTS_MAX = 5;
/** A lease with at least this share of its ttl left is confirmed by reading it alone. */
const FRESH_LEASE_SHARE = 0.9;
/** First pause before a confirmation is tried again; it doubles with every attempt. */
const CONFIRM_RETRY_MS = 1_000;

/**
 * Looks at the thread after a CLAIM whose outcome the core did not tell in
 * time: at least this many, and enough to span the lease (a busy core may
 * take that long, and the decider publishes a lost CLAIM within a lease TTL).
 */
const CLAIM_CHECKS_MIN = 10;
/** Pause between those looks (the CLAIM may still be queued behind the core's other work). */
const CLAIM_CHECK_MS = 2_000;

/** Makes a worker behaviour. */
export function worker(config: WorkerConfig): Behavior<WorkerMessage> {
  return new Worker(config);
}

class Worker implements Behavior<WorkerMessage> {
  readonly #config: WorkerConfig;
  readonly #jobs = new Map<string, Job>();
  readonly #backlog: Candidate[] = [];
  /** Leases this worker asked for whose grant it never heard of (the call failed). */
  readonly #unsure = new Set<string>();
  readonly #unsureOldest = new EvictionCursor(this.#unsure);
  /**
   * Jobs whose task was reopened while they were bidding for it: the
   * task-ready of the reopening was passed over (one job per task), so a
   * bid that then fails is made again, as for a reopened task.
   */
  readonly #reopenedMeanwhile = new WeakSet<Job>();
  readonly #concurrency: number;
  readonly #claimChecks: number;
  /** Tasks whose first CLAIM the `loseFirstClaims` test hook dropped. */
  readonly #lostClaims = new Set<string>();
  /** The latest expiry each job's HEARTBEATs announced. */
  readonly #announced = new WeakMap<Job, number>();
  #backlogHead = 0;
  #epoch = 0;

  constructor(config: WorkerConfig) {
    this.#config = config;
    this.#concurrency = config.concurrency ?? 256;
    this.#claimChecks = Math.max(CLAIM_CHECKS_MIN, Math.ceil(config.leaseTtlMs / CLAIM_CHECK_MS));
  }

  preStart(ctx: ActorContext<WorkerMessage>): void {
    this.#config.core.tell({
      type: "watch",
      role: ctx.self as ActorRef<RoleEvent>,
      effects: ["task-ready"],
    });
  }

  receive(ctx: ActorContext<WorkerMessage>, message: WorkerMessage): void {
    switch (message.type) {
      case "core-ready":
      case "epoch":
        this.#epoch = Math.max(this.#epoch, message.epoch);
        return;
      case "effect":
        return this.#bid(ctx, message);
      case "signed":
        return this.#lease(ctx, message.job, message.result);
      case "leased":
        return this.#claim(ctx, message.job, message.outcome);
      case "claimed":
        return this.#work(ctx, message.job, message.result);
      case "claim-check":
        return ctx.ask<CoreMessage, ThreadState | undefined>(
          this.#config.core,
          (replyTo) => ({ type: "thread", needId: message.job.needId, replyTo }),
          (thread) => ({ type: "claim-checked", job: message.job, check: message.check, thread }),
        );
      case "claim-checked":
        return this.#claimChecked(ctx, message);
      case "stored":
        if (message.slowed !== true && ctx.buggify("worker.slow-work", message.job.needId)) {
          // Rare path: the work takes long (the heartbeats keep the lease alive meanwhile).
          const delayMs = ctx.random() * 0.5 * this.#config.leaseTtlMs;
          return void ctx.schedule(delayMs, { ...message, slowed: true });
        }
        if (message.slowed !== true && ctx.buggify("worker.stall", message.job.needId)) {
          // Rare path: the worker stalls past its lease (no heartbeats): the lease monitor must
          // release the task, and this worker must find its lease gone and not commit.
          ctx.cancelSchedule(`heartbeat:${message.job.taskId}`);
          const delayMs = 1.2 * this.#config.leaseTtlMs;
          return void ctx.schedule(delayMs, { ...message, slowed: true });
        }
        return this.#confirm(ctx, message);
      case "confirmed":
        return this.#commit(ctx, message);
      case "commit-signed":
        return this.#markCommitted(ctx, message.job, message.result);
      case "mark":
        if (this.#jobs.get(message.job.taskId) !== message.job) return;
        return this.#mark(ctx, message.job, message.commit, message.attempt);
      case "commit-marked":
        return this.#publishCommit(ctx, message);
      case "committed":
        // The lease stays in the decide log until it runs out: nobody may claim this task again
        // unless its result is rejected (then the lease monitor frees it).
        return this.#finish(ctx, message.job, "keep");
      case "heartbeat":
        return this.#heartbeat(ctx, message.taskId);
      case "renewed":
        return this.#renewed(ctx, message);
      case "rebid":
        return ctx.ask<CoreMessage, ThreadState | undefined>(
          this.#config.core,
          (replyTo) => ({ type: "thread", needId: message.candidate.needId, replyTo }),
          (thread) => ({ type: "rechecked", candidate: message.candidate, thread }),
        );
      case "rechecked": {
        const task = message.thread.ok
          ? message.thread.value?.tasks.get(message.candidate.taskId)
          : undefined;
        if (task?.status !== "DECIDED" && task?.status !== "DRAFT") return;
        const { orphan, ...stale } = message.candidate;
        const candidate = { ...stale, after: task.leaseIds?.at(-1) };
        if (orphan === undefined) return this.#enqueue(ctx, candidate);
        const freed = this.#config.decideLog.releaseLease(candidate.taskId, orphan);
        return ctx.pipeToSelf(freed, (result) => ({
          type: "orphan-freed",
          candidate,
          leaseId: orphan,
          answered: result.ok,
        }));
      }
      case "orphan-freed":
        // Unanswered again: it stays this worker's to free at the next refused bid.
        if (message.answered) this.#unsure.delete(message.leaseId);
        return this.#enqueue(ctx, message.candidate);
      case "epoch-read":
        if (message.epoch.ok) this.#epoch = Math.max(this.#epoch, message.epoch.value);
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
    this.#enqueue(ctx, {
      needId: event.effect.needId,
      deadlineMs: event.thread.need.deadlineMs,
      taskId: task.taskId,
      spec: task.spec,
      attempt: 0,
      reopened: task.status === "DRAFT",
      after: task.leaseIds?.at(-1),
    });
  }

  #enqueue(ctx: ActorContext<WorkerMessage>, candidate: Candidate): void {
    if (this.#jobs.size < this.#concurrency) return this.#start(ctx, candidate);
    if (this.#backlog.length - this.#backlogHead >= BACKLOG_MAX) {
      return ctx.log.warn("worker backlog full", { taskId: candidate.taskId });
    }
    this.#backlog.push(candidate);
  }

  /** Bids: signs the CLAIM (held by the core under the lease id) that the lease will carry. */
  #start(ctx: ActorContext<WorkerMessage>, candidate: Candidate): void {
    const running = this.#jobs.get(candidate.taskId);
    if (running !== undefined) {
      if (candidate.reopened) this.#reopenedMeanwhile.add(running);
      return;
    }
    const job: Job = {
      ...candidate,
      leaseId: toHex(ctx.randomBytes(12)),
      grantedAtMs: ctx.nowMs(),
    };
    this.#jobs.set(job.taskId, job);
    ctx.ask<CoreMessage, EmitResult>(this.#config.core, (replyTo) => ({
      type: "emit",
      kind: "CLAIM",
      thread: job.needId,
      hold: job.leaseId,
      replyTo,
      payload: {
        needId: job.needId,
        taskId: job.taskId,
        leaseId: job.leaseId,
        leaseTtlMs: this.#config.leaseTtlMs,
        grantedAtMs: job.grantedAtMs,
        cost: 1,
        etaMs: 1_000,
        heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
        ...(job.after === undefined ? {} : { after: job.after }),
      },
    }), (result) => ({ type: "signed", job, result }));
  }

  /** Takes the lease in the decide log, with the signed CLAIM written into it. */
  #lease(ctx: ActorContext<WorkerMessage>, job: Job, result: Settled<EmitResult>): void {
    const held = result.ok && result.value.type === "held" ? result.value : undefined;
    const current = this.#jobs.get(job.taskId) === job;
    if (!current || held === undefined) {
      // Unanswered in time, the CLAIM may still be signed and held: it must not hold its thread.
      this.#config.core.tell({ type: "drop-held", key: job.leaseId });
    }
    if (!current) return;
    if (held === undefined) {
      // Refused (the task is no longer open to this worker), or no answer from a busy core.
      this.#finish(ctx, job, "none");
      if (!result.ok) this.#rebidLater(ctx, job, result);
      else if (this.#reopenedMeanwhile.has(job)) this.#rebidLater(ctx, job, undefined);
      return;
    }
    const lease = this.#config.decideLog.tryLease({
      taskId: job.taskId,
      needId: job.needId,
      leaseId: job.leaseId,
      holder: this.#config.did,
      grantedAtMs: job.grantedAtMs,
      expiresAtMs: job.grantedAtMs + this.#config.leaseTtlMs,
      epoch: this.#epoch,
      claim: bytesToBase64Url(held.bytes),
      retainUntilMs: retainUntilMs(
        job.deadlineMs,
        this.#config.leaseRetentionMs ?? SWARM_PARAMS_DEFAULT.decideRetentionMs,
      ),
    });
    ctx.pipeToSelf(lease, (outcome) => ({ type: "leased", job, outcome }));
  }

  /** Publishes the CLAIM the granted lease carries (or drops it when the lease went elsewhere). */
  #claim(ctx: ActorContext<WorkerMessage>, job: Job, outcome: Settled<LeaseOutcome>): void {
    if (!outcome.ok || outcome.value.status !== "granted") {
      this.#config.core.tell({ type: "drop-held", key: job.leaseId });
    }
    if (!outcome.ok) {
      // The log may have taken the lease all the same: remember it as this worker's.
      if (this.#unsure.size >= UNSURE_LEASES_MAX) {
        this.#unsureOldest.evict();
      }
      this.#unsure.add(job.leaseId);
    }
    if (!outcome.ok || outcome.value.status !== "granted") {
      this.#finish(ctx, job, "none");
      return this.#rebidLater(ctx, job, outcome);
    }
    if (this.#config.loseFirstClaims === true && !this.#lostClaims.has(job.taskId)) {
      this.#lostClaims.add(job.taskId);
      this.#config.core.tell({ type: "drop-held", key: job.leaseId });
      return this.#finish(ctx, job, "none");
    }
    ctx.ask<CoreMessage, EmitResult>(
      this.#config.core,
      (replyTo) => ({ type: "publish-held", key: job.leaseId, kind: "CLAIM", replyTo }),
      (result) => ({ type: "claimed", job, result }),
    );
  }

  /**
   * Retries a refused bid later while the task stays open: after a failure
   * of the decide log (unreachable, stale epoch), or when a reopened task's
   * old lease is still being freed. A fresh task held by another lease is
   * left to its holder: if it fails, the lease monitor reopens the task. The
   * exception is this worker's own lease whose grant timed out although the
   * log took it: no CLAIM was ever made under it, nothing else would free
   * it, and the task would stay unclaimed; it is freed and the task bid for
   * again. A bid that the core refused (`outcome` undefined) is made again
   * only when the task was reopened meanwhile.
   */
  #rebidLater(
    ctx: ActorContext<WorkerMessage>,
    job: Job,
    outcome: Settled<LeaseOutcome> | undefined,
  ): void {
    if (job.attempt + 1 >= BID_ATTEMPTS_MAX) return;
    const reopened = job.reopened || this.#reopenedMeanwhile.has(job);
    if (outcome?.ok === true && !reopened) {
      const held = outcome.value.status === "held" ? outcome.value.existing : undefined;
      if (held === undefined || !this.#unsure.has(held.leaseId)) return;
      const candidate = { ...retryOf(job, false), orphan: held.leaseId };
      return void ctx.schedule(0, { type: "rebid", candidate });
    }
    if (outcome?.ok === false && errorCode(outcome.error) === "E_STALE_EPOCH") {
      ctx.pipeToSelf(this.#config.decideLog.currentEpoch(), (epoch) => ({
        type: "epoch-read",
        epoch,
      }));
    }
    const delayMs = REBID_BASE_MS * 2 ** job.attempt * (0.5 + ctx.random());
    ctx.schedule(delayMs, { type: "rebid", candidate: retryOf(job, reopened) });
  }

  /**
   * Ends a job whose lease is gone without a COMMIT, and looks at its task
   * again: the task-ready of its reopening may have come while the job still
   * held the task (and was passed over), and nothing else would bring it back.
   */
  #abandon(ctx: ActorContext<WorkerMessage>, job: Job, lease: "release" | "none"): void {
    this.#finish(ctx, job, lease);
    if (job.attempt + 1 < BID_ATTEMPTS_MAX) {
      ctx.schedule(0, { type: "rebid", candidate: retryOf(job, true) });
    }
  }

  #work(ctx: ActorContext<WorkerMessage>, job: Job, result: Settled<EmitResult>): void {
    if (this.#jobs.get(job.taskId) !== job) return;
    if (!result.ok) {
      // No answer in time (a busy core): the CLAIM may still be published. Releasing the lease now
      // would leave a task CLAIMED under a lease nobody holds, which nothing ever reopens.
      return void ctx.schedule(CLAIM_CHECK_MS, { type: "claim-check", job, check: 0 });
    }
    if (result.value.type !== "emitted") return this.#finish(ctx, job, "release");
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

  /**
   * Settles a CLAIM whose outcome was not told: the thread shows it under
   * this job's lease (work on), or after the last look still shows the task
   * open (the CLAIM was refused or lost: release the lease and bid again),
   * or shows it moved on (release the lease).
   */
  #claimChecked(
    ctx: ActorContext<WorkerMessage>,
    message: Extract<WorkerMessage, { type: "claim-checked" }>,
  ): void {
    const { job, check } = message;
    if (this.#jobs.get(job.taskId) !== job) return;
    const task = message.thread.ok ? message.thread.value?.tasks.get(job.taskId) : undefined;
    if (task?.status === "CLAIMED" && task.lease?.leaseId === job.leaseId) {
      const emitted = { type: "emitted", id: "", kind: "CLAIM", thread: job.needId } as const;
      return this.#work(ctx, job, { ok: true, value: emitted });
    }
    const open = !message.thread.ok || task?.status === "DECIDED" || task?.status === "DRAFT";
    if (open && check + 1 < this.#claimChecks) {
      return void ctx.schedule(CLAIM_CHECK_MS, { type: "claim-check", job, check: check + 1 });
    }
    this.#finish(ctx, job, "release");
    if (!open) return;
    const candidate: Candidate = { ...job, attempt: job.attempt + 1 };
    if (candidate.attempt < BID_ATTEMPTS_MAX) ctx.schedule(0, { type: "rebid", candidate });
  }

  /** Confirms the lease is still this worker's in the decide log before committing under it. */
  #confirm(
    ctx: ActorContext<WorkerMessage>,
    message: Extract<WorkerMessage, { type: "stored" }>,
  ): void {
    const { job, cid, digest, telemetry, confirmAttempt } = message;
    if (!cid.ok || !this.#jobs.has(job.taskId)) return this.#finish(ctx, job, "release");
    const held = confirmLease(this.#config.decideLog, job, ctx.nowMs(), this.#config.leaseTtlMs);
    ctx.pipeToSelf(
      held,
      (held) => ({
        type: "confirmed",
        job,
        cid: cid.value,
        digest,
        telemetry,
        held,
        confirmAttempt,
      }),
    );
  }

  #commit(
    ctx: ActorContext<WorkerMessage>,
    message: Extract<WorkerMessage, { type: "confirmed" }>,
  ): void {
    const { job } = message;
    if (!this.#jobs.has(job.taskId)) return;
    const attempt = message.confirmAttempt ?? 0;
    if (!message.held.ok && attempt + 1 < CONFIRM_ATTEMPTS_MAX) {
      // The decide log did not answer: the lease may well be ours still (releasing it now would
      // leave the task CLAIMED under a lease nobody holds). Ask again; the heartbeats go on.
      const { cid, digest, telemetry } = message;
      return void ctx.schedule(CONFIRM_RETRY_MS * 2 ** attempt, {
        type: "stored",
        job,
        cid: { ok: true, value: cid },
        digest,
        telemetry,
        slowed: true,
        confirmAttempt: attempt + 1,
      });
    }
    if (!message.held.ok || message.held.value.status === "lost") {
      // Lost (released as expired) or unreachable: committing now could overlap another lease.
      ctx.log.warn("lease not confirmed; result abandoned", { taskId: job.taskId });
      return this.#abandon(ctx, job, message.held.ok ? "none" : "release");
    }
    // Peers judge the COMMIT by the expiry they know when they get to it, which may be much
    // later under load: a renewal is announced first, or they would refuse it as expired.
    const confirmed = message.held.value;
    if (confirmed.status === "renewed") this.#announceLease(job, confirmed.expiresAtMs);
    ctx.ask<CoreMessage, EmitResult>(this.#config.core, (replyTo) => ({
      type: "emit",
      kind: "COMMIT",
      thread: job.needId,
      hold: commitHoldKey(job),
      replyTo,
      payload: {
        needId: job.needId,
        taskId: job.taskId,
        leaseId: job.leaseId,
        artifacts: [message.cid],
        outputDigest: message.digest,
        verifyBounty: 1,
        telemetry: message.telemetry,
      },
    }), (result) => ({ type: "commit-signed", job, result }));
  }

  /**
   * Writes the signed COMMIT (held by the core) into the lease: from then on
   * the lease monitor cannot release the lease as expired, so no RELEASE can
   * overtake the COMMIT on its way to the decider.
   */
  #markCommitted(ctx: ActorContext<WorkerMessage>, job: Job, result: Settled<EmitResult>): void {
    if (this.#jobs.get(job.taskId) !== job) return;
    const held = result.ok && result.value.type === "held" ? result.value : undefined;
    if (held === undefined) {
      // Refused (the lease ran out on this node's clock), or no answer from a busy core: the lease
      // is left to run out, and the lease monitor reopens the task.
      this.#config.core.tell({ type: "drop-held", key: commitHoldKey(job) });
      return this.#finish(ctx, job, "keep");
    }
    this.#mark(ctx, job, bytesToBase64Url(held.bytes), 0);
  }

  #mark(ctx: ActorContext<WorkerMessage>, job: Job, commit: string, attempt: number): void {
    const marked = this.#config.decideLog.markCommitted(job.taskId, job.leaseId, commit);
    ctx.pipeToSelf(marked, (marked) => ({ type: "commit-marked", job, commit, marked, attempt }));
  }

  /** Publishes the COMMIT once its lease carries it; drops it when the lease is gone. */
  #publishCommit(
    ctx: ActorContext<WorkerMessage>,
    message: Extract<WorkerMessage, { type: "commit-marked" }>,
  ): void {
    const { job, marked, attempt } = message;
    if (this.#jobs.get(job.taskId) !== job) return;
    if (!marked.ok && attempt + 1 < CONFIRM_ATTEMPTS_MAX) {
      // The decide log did not answer: the mark may or may not be written (asking again is
      // idempotent). The COMMIT waits, held; the heartbeats go on.
      const again = { type: "mark", job, commit: message.commit, attempt: attempt + 1 } as const;
      return void ctx.schedule(CONFIRM_RETRY_MS * 2 ** attempt, again);
    }
    if (!marked.ok || !marked.value) {
      this.#config.core.tell({ type: "drop-held", key: commitHoldKey(job) });
      ctx.log.warn("lease not marked committed; result abandoned", { taskId: job.taskId });
      // Unmarked for want of an answer, the lease may carry the COMMIT all the same: it stays,
      // and the lease monitor frees it once it finds no COMMIT came. A lost lease is not ours.
      return this.#abandon(ctx, job, "none");
    }
    ctx.ask<CoreMessage, EmitResult>(
      this.#config.core,
      (replyTo) => ({ type: "publish-held", key: commitHoldKey(job), kind: "COMMIT", replyTo }),
      (result) => ({ type: "committed", job, result }),
    );
  }

  /** Renews the lease in the decide log first; only a renewed lease is announced by HEARTBEAT. */
  #heartbeat(ctx: ActorContext<WorkerMessage>, taskId: string): void {
    const job = this.#jobs.get(taskId);
    if (job === undefined) return;
    if (ctx.buggify("worker.skip-heartbeat", job.needId)) {
      // Rare path: a heartbeat goes missing (a GC pause, a slow disk).
      return void ctx.schedule(this.#config.heartbeatIntervalMs, { type: "heartbeat", taskId }, {
        key: `heartbeat:${taskId}`,
      });
    }
    const expiresAtMs = ctx.nowMs() + this.#config.leaseTtlMs;
    const held = this.#config.decideLog.renewLease(taskId, job.leaseId, expiresAtMs);
    ctx.pipeToSelf(held, (result) => ({ type: "renewed", job, expiresAtMs, held: result }));
    ctx.schedule(this.#config.heartbeatIntervalMs, { type: "heartbeat", taskId }, {
      key: `heartbeat:${taskId}`,
    });
  }

  #renewed(ctx: ActorContext<WorkerMessage>, message: Extract<WorkerMessage, { type: "renewed" }>) {
    const { job } = message;
    if (this.#jobs.get(job.taskId) !== job) return;
    if (!message.held.ok) {
      return ctx.log.warn("lease renewal failed", {
        taskId: job.taskId,
        code: errorCode(message.held.error),
      });
    }
    if (!message.held.value) {
      ctx.log.warn("lease lost; task abandoned", { taskId: job.taskId });
      return this.#abandon(ctx, job, "none");
    }
    this.#announceLease(job, message.expiresAtMs);
  }

  /**
   * Announces by HEARTBEAT that the decide log holds `job`'s lease until
   * `expiresAtMs`, unless a later expiry was announced already: a periodic
   * renewal can finish after the one made before COMMIT, and peers refuse a
   * HEARTBEAT that moves the expiry back (`E_LEASE_TTL`).
   */
  #announceLease(job: Job, expiresAtMs: number): void {
    if (expiresAtMs <= (this.#announced.get(job) ?? -Infinity)) return;
    this.#announced.set(job, expiresAtMs);
    this.#config.core.tell({
      type: "emit",
      kind: "HEARTBEAT",
      thread: job.needId,
      payload: { needId: job.needId, taskId: job.taskId, leaseId: job.leaseId, expiresAtMs },
    });
  }

  /**
   * Ends a job and starts waiting ones. `release` gives the lease back (the
   * work failed), `keep` leaves it to run out (the result is committed),
   * `none` means there is no lease of this worker's to give back.
   */
  #finish(ctx: ActorContext<WorkerMessage>, job: Job, lease: "release" | "keep" | "none"): void {
    if (this.#jobs.get(job.taskId) === job) this.#jobs.delete(job.taskId);
    if (lease !== "none") ctx.cancelSchedule(`heartbeat:${job.taskId}`);
    if (lease === "release") {
      this.#config.decideLog.releaseLease(job.taskId, job.leaseId).catch((error) =>
        ctx.log.warn("lease release failed; the lease monitor will free it", {
          code: errorCode(error),
        })
      );
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

/** What confirming a lease before COMMIT found: still held, renewed (to `expiresAtMs`), or lost. */
type LeaseConfirmation =
  | { readonly status: "held" | "lost" }
  | { readonly status: "renewed"; readonly expiresAtMs: number };

/**
 * Whether the decide log still holds `job`'s lease: read, and renewed to now
 * + ttl unless nearly its whole ttl is left. A fresh lease needs no write
 * (nothing releases a lease before it expires); one that has run a while is
 * renewed, so a COMMIT slow to reach the decider under load still finds its
 * lease held for about a ttl and the lease monitor does not reopen the task.
 */
async function confirmLease(
  decideLog: DecideLog,
  job: { readonly taskId: string; readonly leaseId: string },
  nowMs: number,
  ttlMs: number,
): Promise<LeaseConfirmation> {
  const lease = await decideLog.getLease(job.taskId);
  if (lease === undefined || lease.leaseId !== job.leaseId) return { status: "lost" };
  if (lease.expiresAtMs - nowMs >= ttlMs * FRESH_LEASE_SHARE) return { status: "held" };
  const expiresAtMs = nowMs + ttlMs;
  const renewed = await decideLog.renewLease(job.taskId, job.leaseId, expiresAtMs);
  return renewed ? { status: "renewed", expiresAtMs } : { status: "lost" };
}

/** The key the core holds a job's signed COMMIT under until its lease carries it. */
function commitHoldKey(job: Job): string {
  return `${job.leaseId}:commit`;
}

/** A new bid for `job`'s task, one attempt further. */
function retryOf(job: Job, reopened: boolean): Candidate {
  return {
    needId: job.needId,
    deadlineMs: job.deadlineMs,
    taskId: job.taskId,
    spec: job.spec,
    attempt: job.attempt + 1,
    reopened,
    after: job.after, // read again from the thread before the bid (`rechecked`)
  };
}

/**
 * The node core: the one actor per node that speaks the wire protocol.
 *
 * Egress: roles ask it to emit; it checks the message against the
 * lifecycle first (a message this node would refuse is never sent), signs
 * it once with the node's identity and Lamport clock, publishes it on the
 * thread's shard topic, logs it, and applies it locally. Ingress: every
 * envelope from a peer is verified once per node (signature, kind, size,
 * policy hash, replay window), its payload validated, logged, and applied.
 * Applying means running the pure lifecycle reducer on the thread and
 * telling the roles the effects. Messages that arrive before what they refer
 * to are parked and retried; every refusal is counted by its code.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import { errorCode, errorMessage } from "../runtime/errors.ts";
import { bucketOf, type DecideLog } from "../runtime/store/decide_log.ts";
import { type AuditLog } from "../protocols/audit/mod.ts";
import {
  envelopeCid,
  EnvelopeSigner,
  LamportClock,
  ReplayCache,
  type SignedEnvelope,
  verifyEnvelope,
} from "../protocols/envelope/mod.ts";
import type { Identity, SignatureVerifier } from "../protocols/identity/mod.ts";
import { committeeFor } from "../protocols/committee.ts";
import { isParkable, ProtocolError } from "../protocols/lifecycle/errors.ts";
import {
  isLifecycleVerb,
  type LifecycleMessage,
  type LifecycleVerb,
  parsePayload,
} from "../protocols/lifecycle/payloads.ts";
import { expireIfDue, reduce, type ReduceView } from "../protocols/lifecycle/reducer.ts";
import type { ProtocolMutations } from "../protocols/lifecycle/mutations.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
import type { SwarmParams } from "../protocols/params.ts";
import {
  DECIDE_CHECKS_MAX,
  DECIDE_RECHECK_MS,
  DecideConfirmations,
  judgeDecide,
} from "./_decide_confirmation.ts";
import { ParkingLot } from "./_parking_lot.ts";
import { ThreadArchive } from "./_thread_archive.ts";
import type {
  AcceptedHook,
  CoreMessage,
  CoreStats,
  EffectHook,
  EmitRequest,
  RoleEvent,
} from "./swarm_messages.ts";

/** Settings of a node core. */
export interface NodeCoreConfig {
  readonly identity: Identity;
  readonly decideLog: DecideLog;
  readonly params: SwarmParams;
  /** DIDs of the active verifiers of the swarm. */
  readonly verifiers: readonly string[];
  /** Hash of the policy capsule this node runs; envelopes under another are refused. */
  readonly policyHash: string;
  readonly audit?: AuditLog;
  readonly signatureVerifier?: SignatureVerifier;
  /**
   * Whether the swarm starts in bootstrap mode (K = 1). Default true: a swarm
   * leaves bootstrap only when its bootstrap monitor says so.
   */
  readonly bootstrap?: boolean;
  /** Sees every accepted message (history for checkers). */
  readonly onAccepted?: AcceptedHook;
  /** Sees every effect the lifecycle produces (history for checkers). */
  readonly onEffect?: EffectHook;
  /** `cp` (default): a NEED's decision is final; `ap`: a higher decision supersedes a lower one. */
  readonly decideMode?: "cp" | "ap";
  /** Deliberately broken protocol rules, for mutation tests only. */
  readonly mutations?: ProtocolMutations;
  /** Most parked messages. Default 10,000. */
  readonly parkingCapacity?: number;
  /** A parked message is dropped after this long. Default 30,000 ms. */
  readonly parkedTtlMs?: number;
  /** Interval of the housekeeping sweep. Default 1,000 ms. */
  readonly sweepIntervalMs?: number;
  /** Finished threads are forgotten after this long. Default 60,000 ms. */
  readonly finishedRetentionMs?: number;
}

/** Where nodes ask each other for envelopes they missed. */
export const SYNC_TOPIC = "/swarm/sync";
/** Envelopes per sync reply message. */
const SYNC_CHUNK_MAX = 256;
/** Most threads answered per sync request. */
const SYNC_THREADS_MAX = 10_000;
/** A node asks for the same unknown thread at most this often. */
const SYNC_REQUEST_INTERVAL_MS = 2_000;

/** Ids of accepted envelopes remembered, so sync replies skip them cheaply. */
const ACCEPTED_IDS_MAX = 65_536;
/** Envelope ids remembered as audited, so a re-delivery (a sync) is not logged twice. */
const AUDITED_IDS_MAX = 65_536;

/** Number of shard topics; a thread's topic is its decide bucket. */
export const SHARD_TOPICS = 256;

/** The gossip topic of a thread: one per decide bucket, so subscriptions never grow with threads. */
export function shardTopic(thread: string): string {
  return `/swarm/shard/${bucketOf(thread)}`;
}

/** Makes a node core behaviour. */
export function nodeCore(config: NodeCoreConfig): Behavior<CoreMessage> {
  return new NodeCore(config);
}

class NodeCore implements Behavior<CoreMessage> {
  readonly #config: NodeCoreConfig;
  readonly #threads = new Map<string, ThreadState>();
  readonly #finishedAtMs = new Map<string, number>();
  readonly #roles: ActorRef<RoleEvent>[] = [];
  readonly #highestFence = new Map<number, number>();
  readonly #rejected = new Map<string, number>();
  readonly #committees = new Map<string, ReadonlySet<string>>();
  readonly #verifiers: ReadonlySet<string>;
  readonly #replay = new ReplayCache();
  readonly #parking: ParkingLot;
  readonly #archive = new ThreadArchive();
  readonly #syncRequestedAtMs = new Map<string, number>();
  /** Ids of envelopes already in the audit log (insertion order: oldest first). */
  readonly #audited = new Set<string>();
  /** Ids of envelopes accepted, so a sync reply skips them before verifying (oldest first). */
  readonly #acceptedIds = new Set<string>();
  readonly #confirmations = new DecideConfirmations(10_000);
  #signer: EnvelopeSigner | undefined;
  #clock: LamportClock | undefined;
  #epoch = 0;
  /** Set by the bootstrap monitor; starts in bootstrap when verifiers are few. */
  #bootstrap: boolean;
  #emitted = 0;
  #accepted = 0;
  #finalNeeds = 0;

  constructor(config: NodeCoreConfig) {
    this.#config = config;
    this.#verifiers = new Set(config.verifiers);
    this.#parking = new ParkingLot(config.parkingCapacity ?? 10_000);
    this.#bootstrap = config.bootstrap ?? true;
  }

  async preStart(ctx: ActorContext<CoreMessage>): Promise<void> {
    // Subscribe first: envelopes that arrive while the clock opens wait in the mailbox.
    for (let bucket = 0; bucket < SHARD_TOPICS; bucket++) ctx.subscribe(`/swarm/shard/${bucket}`);
    ctx.subscribe(SYNC_TOPIC);
    this.#clock = await LamportClock.open(ctx.store);
    this.#signer = new EnvelopeSigner(this.#config.identity, this.#clock);
    this.#epoch = await this.#config.decideLog.currentEpoch();
    ctx.schedule(this.#config.sweepIntervalMs ?? 1_000, { type: "sweep" }, { key: "sweep" });
    // Catch up on whatever is still open: this node may be restarting after a crash.
    ctx.publish(SYNC_TOPIC, { type: "sync-request", replyTo: ctx.self });
  }

  async receive(ctx: ActorContext<CoreMessage>, message: CoreMessage): Promise<void> {
    switch (message.type) {
      case "envelope":
        if (ctx.sender !== undefined && sameAddress(ctx.sender, ctx.self)) return;
        return await this.#ingress(ctx, message.bytes, false);
      case "sync-request":
        if (sameAddress(message.replyTo, ctx.self)) return;
        return this.#answerSync(message);
      case "sync-reply":
        if (!Array.isArray(message.envelopes)) return this.#count("E_SYNC_REPLY");
        for (const bytes of message.envelopes.slice(0, SYNC_CHUNK_MAX)) {
          await this.#ingress(ctx, bytes, true);
        }
        return;
      case "emit":
        return await this.#emit(ctx, message);
      case "watch":
        this.#roles.push(message.role);
        message.role.tell({
          type: "core-ready",
          did: this.#config.identity.did,
          epoch: this.#epoch,
          bootstrap: this.#bootstrap,
          core: ctx.self,
        });
        return;
      case "thread":
        message.replyTo.tell(this.#threads.get(message.needId));
        return;
      case "open-threads":
        message.replyTo.tell(
          [...this.#threads.values()].filter((thread) =>
            thread.phase === "OPEN" || thread.phase === "DECIDED"
          ),
        );
        return;
      case "stats":
        message.replyTo.tell(this.#stats());
        return;
      case "sweep":
        // Rare path: the core crashes; the node's supervisor restarts it and every role with it.
        if (ctx.buggify("core.crash") && ctx.random() < 0.1) {
          throw new Error("BUGGIFY: the node core crashed");
        }
        this.#sweep(ctx);
        ctx.schedule(this.#config.sweepIntervalMs ?? 1_000, { type: "sweep" }, { key: "sweep" });
        return;
      case "retry":
        return this.#retryParked(ctx, message.thread);
      case "set-epoch":
        this.#setEpoch(message.epoch);
        return;
      case "set-bootstrap":
        if (this.#bootstrap === message.bootstrap) return;
        this.#committees.clear();
        this.#bootstrap = message.bootstrap;
        for (const role of this.#roles) {
          role.tell({ type: "bootstrap", bootstrap: message.bootstrap });
        }
        return;
      case "decide-checked":
        return this.#decideChecked(ctx, message);
      case "decide-recheck":
        return this.#checkDecide(ctx, message.id);
      case "audit-failed":
        this.#count("E_AUDIT");
        ctx.log.error("audit append failed", { reason: message.reason });
        return;
    }
  }

  async #emit(ctx: ActorContext<CoreMessage>, request: EmitRequest): Promise<void> {
    const signer = this.#signer as EnvelopeSigner;
    let envelope: SignedEnvelope;
    try {
      const payload = parsePayload(request.kind, request.payload);
      this.#dryRun(ctx, request.kind === "DECIDE", {
        id: "pending",
        kind: request.kind,
        thread: request.thread,
        sender: signer.did,
        lamport: 1,
        payload,
      });
      envelope = await signer.sign({
        kind: request.kind,
        thread: request.thread,
        payload: payload as never,
        policy: this.#config.policyHash,
        epoch: request.epoch,
        fence: request.fence,
      }, ctx);
    } catch (error) {
      this.#count(errorCode(error));
      request.replyTo?.tell({
        type: "refused",
        code: errorCode(error),
        message: errorMessage(error),
        kind: request.kind,
      });
      return;
    }
    this.#emitted++;
    ctx.publish(shardTopic(request.thread), { type: "envelope", bytes: envelope.bytes });
    this.#audit(ctx, envelope, "out");
    // This node's decider emits a DECIDE only after writing it to the log.
    this.#accept(ctx, toMessage(envelope, request.kind), envelope.bytes, request.kind === "DECIDE");
    request.replyTo?.tell({
      type: "emitted",
      id: envelope.id,
      kind: request.kind,
      thread: request.thread,
    });
  }

  /**
   * Verifies and applies an envelope from a peer. Envelopes re-sent by a
   * sync skip the replay cache (they are legitimately seen twice) and are
   * deduplicated by id instead.
   */
  async #ingress(ctx: ActorContext<CoreMessage>, bytes: unknown, fromSync: boolean): Promise<void> {
    if (!(bytes instanceof Uint8Array)) return this.#count("E_ENCODING");
    // A sync reply repeats what this node mostly has already: skip those before verifying.
    if (fromSync && this.#acceptedIds.has(envelopeCid(bytes).toString())) return;
    const result = await verifyEnvelope(bytes, {
      policy: this.#config.policyHash,
      replay: fromSync ? undefined : this.#replay,
      nowNs: ctx.now(),
      verifier: this.#config.signatureVerifier,
    });
    if (!result.ok) {
      this.#count(result.error.code);
      ctx.log.warn("refused envelope", { code: result.error.code, reason: result.error.message });
      return;
    }
    const envelope = result.envelope;
    if (
      this.#archive.has(envelope.thread, envelope.id) ||
      this.#parking.holds(envelope.thread, envelope.id) || this.#confirmations.has(envelope.id)
    ) {
      return;
    }
    await (this.#clock as LamportClock).observe(envelope.lamport);
    if (!isLifecycleVerb(envelope.kind)) return this.#count("E_KIND_UNSUPPORTED");
    let message: LifecycleMessage;
    try {
      message = toMessage(envelope, envelope.kind, parsePayload(envelope.kind, envelope.payload));
    } catch (error) {
      return this.#count(errorCode(error));
    }
    this.#audit(ctx, envelope, "in");
    if (message.kind !== "DECIDE") return this.#accept(ctx, message, envelope.bytes);
    if (!this.#confirmations.add(message as LifecycleMessage<"DECIDE">, envelope.bytes)) {
      return this.#count("E_DECIDE_BACKLOG");
    }
    this.#checkDecide(ctx, envelope.id);
  }

  /** Asks the decide log whether it holds a DECIDE under confirmation. */
  #checkDecide(ctx: ActorContext<CoreMessage>, id: string): void {
    const pending = this.#confirmations.get(id);
    if (pending === undefined) return;
    pending.attempts++;
    const logged = this.#config.decideLog.getDecide(pending.message.payload.needId);
    ctx.pipeToSelf(logged, (result) => ({ type: "decide-checked", id, logged: result }));
  }

  /** Accepts a DECIDE the log confirmed; refuses one it contradicts; retries when unreachable. */
  #decideChecked(
    ctx: ActorContext<CoreMessage>,
    checked: Extract<CoreMessage, { type: "decide-checked" }>,
  ): void {
    const pending = this.#confirmations.get(checked.id);
    if (pending === undefined) return;
    if (!checked.logged.ok) {
      if (pending.attempts < DECIDE_CHECKS_MAX) {
        ctx.schedule(DECIDE_RECHECK_MS, { type: "decide-recheck", id: checked.id });
        return;
      }
      this.#confirmations.delete(checked.id);
      return this.#count("E_DECIDE_UNCONFIRMED");
    }
    this.#confirmations.delete(checked.id);
    const verdict = judgeDecide(checked.logged.value, pending.message);
    if (verdict === "unwritten") return this.#count("E_DECIDE_UNWRITTEN");
    if (verdict === "contradicted") return this.#count("E_DECIDE_CONFLICT");
    // The log is at this decision's epoch at least: a node that missed a RECONCILE catches up.
    this.#setEpoch(pending.message.payload.epoch);
    this.#accept(ctx, pending.message, pending.bytes, true);
  }

  /**
   * Sends a peer the envelopes of the threads it asks for; by default every
   * thread this node still holds, finished ones included: a peer that
   * rebuilds a thread from another's stale copy must also hear from the
   * nodes that saw it end, or it would act on a NEED long FINAL.
   */
  #answerSync(request: Extract<CoreMessage, { type: "sync-request" }>): void {
    const threads = request.threads ?? [...this.#threads.keys()];
    const chunks = this.#archive.chunks(threads.slice(0, SYNC_THREADS_MAX), SYNC_CHUNK_MAX);
    for (const envelopes of chunks) request.replyTo.tell({ type: "sync-reply", envelopes });
  }

  /** Applies a message; parks it when it came too early; counts refusals. */
  #accept(
    ctx: ActorContext<CoreMessage>,
    message: LifecycleMessage,
    bytes: Uint8Array,
    confirmed = false,
  ): void {
    if (message.kind === "RECONCILE") {
      return this.#reconcile(ctx, message as LifecycleMessage<"RECONCILE">);
    }
    let transition;
    try {
      transition = reduce(
        this.#threads.get(message.thread),
        message,
        { ...this.#view(ctx, message.thread), decisionConfirmed: confirmed },
      );
    } catch (error) {
      if (isParkable(error)) return this.#park(ctx, message, bytes, error, confirmed);
      return this.#count(errorCode(error));
    }
    this.#threads.set(message.thread, transition.thread);
    if (!this.#archive.add(message.thread, message.id, bytes)) this.#count("E_ARCHIVE_FULL");
    this.#acceptedIds.add(message.id);
    if (this.#acceptedIds.size > ACCEPTED_IDS_MAX) {
      this.#acceptedIds.delete(this.#acceptedIds.values().next().value as string);
    }
    this.#accepted++;
    if (message.kind === "DECIDE") this.#noteFence(message as LifecycleMessage<"DECIDE">);
    this.#config.onAccepted?.(message, this.#config.identity.did);
    for (const effect of transition.effects) this.#dispatch(ctx, effect, transition.thread);
    if (this.#parking.has(message.thread)) this.#retryParked(ctx, message.thread);
  }

  /** Refuses a local message this node would not accept (throws). */
  #dryRun(ctx: ActorContext<CoreMessage>, confirmed: boolean, message: LifecycleMessage): void {
    if (message.kind === "RECONCILE") return;
    try {
      const view = { ...this.#view(ctx, message.thread), decisionConfirmed: confirmed };
      reduce(this.#threads.get(message.thread), message, view);
    } catch (error) {
      if (!(error instanceof ProtocolError && error.code === "E_WINDOW_OPEN")) throw error;
    }
  }

  #park(
    ctx: ActorContext<CoreMessage>,
    message: LifecycleMessage,
    bytes: Uint8Array,
    error: ProtocolError,
    confirmed: boolean,
  ): void {
    const parkedAtMs = ctx.nowMs();
    const entry = { message, bytes, code: error.code, parkedAtMs, confirmed };
    for (const dropped of this.#parking.park(entry)) {
      this.#count(`${dropped.code}:dropped`);
    }
    if (error.retryAtMs !== undefined) {
      ctx.schedule(Math.max(0, error.retryAtMs - parkedAtMs), {
        type: "retry",
        thread: message.thread,
      });
    }
    if (error.code === "E_UNKNOWN_NEED") this.#requestThread(ctx, message.thread, parkedAtMs);
  }

  /** Asks peers for a thread this node has not heard of (at most once per interval). */
  #requestThread(ctx: ActorContext<CoreMessage>, thread: string, nowMs: number): void {
    const last = this.#syncRequestedAtMs.get(thread);
    if (last !== undefined && nowMs - last < SYNC_REQUEST_INTERVAL_MS) return;
    this.#syncRequestedAtMs.set(thread, nowMs);
    ctx.publish(SYNC_TOPIC, { type: "sync-request", threads: [thread], replyTo: ctx.self });
  }

  #retryParked(ctx: ActorContext<CoreMessage>, thread: string): void {
    for (const parked of this.#parking.take(thread)) {
      this.#accept(ctx, parked.message, parked.bytes, parked.confirmed === true);
    }
  }

  #dispatch(ctx: ActorContext<CoreMessage>, effect: Effect, thread: ThreadState): void {
    if (effect.type === "need-final" || effect.type === "need-expired") {
      this.#finishedAtMs.set(effect.needId, ctx.nowMs());
      if (effect.type === "need-final") this.#finalNeeds++;
    }
    this.#config.onEffect?.(effect, thread, this.#config.identity.did);
    for (const role of this.#roles) role.tell({ type: "effect", effect, thread });
  }

  #view(ctx: ActorContext<CoreMessage>, thread: string): ReduceView {
    const active = this.#verifiers;
    return {
      nowMs: ctx.nowMs(),
      params: this.#config.params,
      epoch: this.#epoch,
      bootstrap: this.#bootstrap,
      activeVerifiers: active,
      highestFence: this.#highestFence.get(bucketOf(thread)),
      isPlanCommitteeMember: (needId, did) => this.#committee("plan", needId).has(did),
      isResultCommitteeMember: (taskId, did) => this.#committee("result", taskId).has(did),
      decideMode: this.#config.decideMode,
      mutations: this.#config.mutations,
    };
  }

  /** The committee of a subject, cached (bounded). */
  #committee(kind: "plan" | "result", subject: string): ReadonlySet<string> {
    const key = `${kind}:${subject}`;
    const cached = this.#committees.get(key);
    if (cached !== undefined) return cached;
    const members = new Set(
      committeeFor(kind, subject, this.#verifiers, this.#config.params, this.#bootstrap),
    );
    if (this.#committees.size >= 100_000) this.#committees.clear();
    this.#committees.set(key, members);
    return members;
  }

  #noteFence(message: LifecycleMessage<"DECIDE">): void {
    const bucket = bucketOf(message.thread);
    if ((this.#highestFence.get(bucket) ?? 0) < message.payload.fence) {
      this.#highestFence.set(bucket, message.payload.fence);
    }
  }

  /**
   * RECONCILE marks a partition heal: the epoch moves on, and this node asks
   * its peers for every open thread, catching up on what the other side did
   * (in AP mode, the winning decisions of orphaned NEEDs among them).
   */
  #reconcile(ctx: ActorContext<CoreMessage>, message: LifecycleMessage<"RECONCILE">): void {
    const { toEpoch } = message.payload;
    if (toEpoch < this.#epoch) return this.#count("E_STALE_EPOCH");
    this.#setEpoch(toEpoch);
    ctx.publish(SYNC_TOPIC, { type: "sync-request", replyTo: ctx.self });
  }

  #setEpoch(epoch: number): void {
    if (epoch <= this.#epoch) return;
    this.#epoch = epoch;
    for (const role of this.#roles) role.tell({ type: "epoch", epoch });
  }

  /** Expires parked messages and overdue needs; forgets old finished threads. */
  #sweep(ctx: ActorContext<CoreMessage>): void {
    const nowMs = ctx.nowMs();
    for (const expired of this.#parking.expire(nowMs - (this.#config.parkedTtlMs ?? 30_000))) {
      this.#count(expired.code);
    }
    for (const [thread, requestedMs] of this.#syncRequestedAtMs) {
      if (nowMs - requestedMs >= SYNC_REQUEST_INTERVAL_MS) this.#syncRequestedAtMs.delete(thread);
    }
    for (const [needId, thread] of this.#threads) {
      const expired = expireIfDue(thread, nowMs);
      if (expired === undefined) continue;
      this.#threads.set(needId, expired);
      this.#dispatch(ctx, { type: "need-expired", needId }, expired);
    }
    const retention = this.#config.finishedRetentionMs ?? 60_000;
    for (const [needId, finishedMs] of this.#finishedAtMs) {
      if (nowMs - finishedMs < retention) continue;
      this.#finishedAtMs.delete(needId);
      this.#threads.delete(needId);
      this.#archive.forget(needId);
    }
  }

  #audit(ctx: ActorContext<CoreMessage>, envelope: SignedEnvelope, direction: "in" | "out"): void {
    const audit = this.#config.audit;
    if (audit === undefined) return;
    // A refused or expired envelope can come back in a sync reply: it is logged once.
    if (this.#audited.has(envelope.id)) return;
    this.#audited.add(envelope.id);
    if (this.#audited.size > AUDITED_IDS_MAX) {
      this.#audited.delete(this.#audited.values().next().value as string);
    }
    // Appends are batched by the log; only a failure comes back, as a message. After a
    // restart, envelopes delivered again are not logged twice (appendOnce).
    const appended = audit.appendOnce?.(envelope, direction) ?? audit.append(envelope, direction);
    appended.catch((error) => ctx.self.tell({ type: "audit-failed", reason: errorMessage(error) }));
  }

  #count(code: string): void {
    this.#rejected.set(code, (this.#rejected.get(code) ?? 0) + 1);
  }

  #stats(): CoreStats {
    return {
      did: this.#config.identity.did,
      epoch: this.#epoch,
      emitted: this.#emitted,
      accepted: this.#accepted,
      rejected: Object.fromEntries(this.#rejected),
      parked: this.#parking.size,
      threads: this.#threads.size,
      finalNeeds: this.#finalNeeds,
    };
  }
}

function toMessage(
  envelope: SignedEnvelope,
  kind: LifecycleVerb,
  payload?: unknown,
): LifecycleMessage {
  return {
    id: envelope.id,
    kind,
    thread: envelope.thread,
    sender: envelope.sender,
    lamport: envelope.lamport,
    payload: (payload ?? envelope.payload) as never,
  };
}

function sameAddress(left: ActorRef<never>, right: ActorRef<never>): boolean {
  return left.address.node === right.address.node && left.address.path === right.address.path;
}

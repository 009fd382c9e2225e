/**
 * The node core: the one actor per node that speaks the wire protocol.
 *
 * Egress: roles ask it to emit; it checks the message against the
 * lifecycle (a message this node would refuse is never sent), signs it once
 * with the node's identity and Lamport clock, publishes it on the thread's
 * shard topic, logs it, and applies it locally. Ingress: every envelope from
 * a peer is verified once per node (signature, kind, size, policy hash,
 * replay window), its payload validated, logged, and applied. Signing and
 * verifying run concurrently but take effect in arrival order
 * ({@linkcode OrderedSteps}), so the core never idles on one signature.
 * Applying means running the pure lifecycle reducer (`ThreadBook`) and
 * telling the roles the effects. Messages that arrive early are parked and
 * retried; every refusal is counted by its code. Peers that missed
 * envelopes (a restart, a late join) ask for them on the sync topic.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorCode, errorMessage, SwarmError } from "../runtime/errors.ts";
import { bucketOf, type DecideLog } from "../runtime/store/decide_log.ts";
import type { AuditLog } from "../protocols/audit/mod.ts";
import {
  decodeEnvelope,
  envelopeId,
  EnvelopeSigner,
  LamportClock,
  ReplayCache,
  type SignedEnvelope,
  verifyEnvelope,
  type VerifyResult,
} from "../protocols/envelope/mod.ts";
import type { Identity, SignatureVerifier } from "../protocols/identity/mod.ts";
import { Economy, type ParticipantRegistry } from "../protocols/economics/mod.ts";
import {
  isLifecycleVerb,
  type LifecycleMessage,
  type LifecycleVerb,
  parsePayload,
} from "../protocols/lifecycle/payloads.ts";
import type { ProtocolMutations } from "../protocols/lifecycle/mutations.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { CoreGates, type NodePolicy } from "./_core_gates.ts";
import { SyncRepair } from "./_sync_repair.ts";
import {
  type Confirmable,
  type ConfirmationSink,
  DecideConfirmations,
} from "./_decide_confirmation.ts";
import { OrderedSteps, type Step } from "./_ordered_steps.ts";
import { LeaseDropChecks, type LeaseDropSink } from "./_lease_drops.ts";
import { type Outcome, ThreadBook } from "./_thread_book.ts";
import type {
  AcceptedHook,
  CoreMessage,
  CoreStats,
  EffectHook,
  EmitRequest,
  RoleEvent,
} from "./swarm_messages.ts";
import { EvictionCursor } from "../runtime/eviction_cursor.ts";
import { HeldEmits } from "./_held_emits.ts";

export type { NodePolicy } from "./_core_gates.ts";

/** Settings of a node core. */
export interface NodeCoreConfig {
  readonly identity: Identity;
  readonly decideLog: DecideLog;
  readonly params: SwarmParams;
  /** DIDs of the active verifiers of the swarm. */
  readonly verifiers: readonly string[];
  /**
   * Hash of the policy capsule this node runs without policy gates;
   * envelopes under another are refused. With `policy`, its capsules name it.
   */
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
  /**
   * The policy gates: preflight before this node publishes, ingress before it
   * applies a peer's envelope, under the capsule in force.
   */
  readonly policy?: NodePolicy;
  /** Most parked messages. Default 10,000. */
  readonly parkingCapacity?: number;
  /** A parked message is dropped after this long. Default 30,000 ms. */
  readonly parkedTtlMs?: number;
  /**
   * A message parked this long for a message that has not come (a DECIDE a
   * CLAIM refers to, say) makes the node ask its peers for the thread:
   * gossip may lose a message, and nothing else would resend it. Default
   * 2,000 ms.
   */
  readonly parkedRepairMs?: number;
  /**
   * An open thread that accepted no message for this long makes the node ask
   * its peers for it (then again after twice as long, up to a minute): the
   * message that would move it on (a FINALIZE, say) may have been lost, and
   * nothing parks for a message that is not followed by another. Default
   * 5,000 ms.
   */
  readonly idleRepairMs?: number;
  /** Interval of the housekeeping sweep. Default 1,000 ms. */
  readonly sweepIntervalMs?: number;
  /** Finished threads are forgotten after this long. Default 60,000 ms. */
  readonly finishedRetentionMs?: number;
  /**
   * The credit economy: with a registry of participants, the core keeps a
   * ledger in its store, escrows bounties and bonds, pays and slashes, and
   * pins committees; without, it runs the protocol without credit.
   */
  readonly economics?: { readonly registry: ParticipantRegistry };
}

/** Where nodes ask each other for envelopes they missed. */
export const SYNC_TOPIC = "/swarm/sync";
/** Envelopes per sync reply message. */
export const SYNC_CHUNK_MAX = 256;
/** Most threads answered per sync request. */
export const SYNC_THREADS_MAX = 10_000;
/** Most envelope ids a sync request lists as held by the asker. */
export const SYNC_HAVE_MAX = 1_024;
/** Longest envelope id a sync request may list (ids are about 60 characters). */
export const SYNC_HAVE_ID_MAX = 128;

/** Most forgotten threads one sync request is answered for from the audit log. */
const AUDIT_SYNC_THREADS_MAX = 16;
/** Most sync answers read from the audit log at once; a request beyond gets the archive only. */
const AUDIT_SYNC_READS_MAX = 4;
/** Least time between two answers for one forgotten thread from the audit log. */
const AUDIT_SYNC_INTERVAL_MS = 10_000;
/** Most of its own open NEEDs a restarted node rebuilds from its audit log. */
const RECOVERED_NEEDS_MAX = 1_024;
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

/** Work waiting for its turn: an envelope being signed or being verified. */
type Pending =
  | {
    readonly kind: "emit";
    readonly request: EmitRequest;
    readonly signed: Settled<SignedEnvelope>;
    /** Book version when the request was checked; the check is repeated only if it moved. */
    readonly checkedAt: number;
  }
  | {
    readonly kind: "ingress";
    readonly verified: Settled<VerifyResult>;
    /** Replayed from a peer's archive (a sync reply), not received live. */
    readonly fromSync: boolean;
  };

/** Internal message: a signature or verification finished. */
interface StepDone {
  readonly type: "step-done";
  readonly step: Step<Pending>;
  readonly pending: Pending;
}

/** The verb of envelope bytes, or undefined when they do not decode. */
function kindOf(bytes: Uint8Array): string | undefined {
  try {
    return decodeEnvelope(bytes).kind;
  } catch {
    return undefined;
  }
}

/** Internal message: the audit log's envelopes of forgotten threads a peer asked for. */
interface AuditRead {
  readonly type: "audit-read";
  readonly replyTo: ActorRef<CoreMessage>;
  /** What the peer lacks of them. */
  readonly envelopes: Settled<Uint8Array[]>;
}

type CoreInput = CoreMessage | StepDone | AuditRead;

class NodeCore implements Behavior<CoreInput> {
  readonly #config: NodeCoreConfig;
  readonly #book: ThreadBook;
  readonly #economy: Economy | undefined;
  /** The roles watching, with the effect types each acts on (undefined: all). */
  readonly #roles: { readonly ref: ActorRef<RoleEvent>; readonly effects?: ReadonlySet<string> }[] =
    [];
  readonly #rejected = new Map<string, number>();
  /** This node's own emits refused before signing, or before publishing, by code. */
  readonly #declined = new Map<string, number>();
  readonly #replay = new ReplayCache();
  readonly #steps = new OrderedSteps<Pending>();
  readonly #repair: SyncRepair;
  /** Envelopes of this node's own open NEEDs read back at a restart, for the first sweep. */
  #recovered: Uint8Array[] = [];
  /** Ids of envelopes already in the audit log (insertion order: oldest first). */
  readonly #audited = new Set<string>();
  readonly #auditedOldest = new EvictionCursor(this.#audited);
  readonly #confirmations: DecideConfirmations;
  /** This node's rulings by fence, signed and waiting for the log to confirm the fence. */
  readonly #ownRulings = new Map<string, { request: EmitRequest; envelope: SignedEnvelope }>();
  readonly #leaseDrops: LeaseDropChecks;
  readonly #gates: CoreGates;
  /** Envelopes signed for an emit with `hold`, and the later ones of their threads behind them. */
  readonly #held = new HeldEmits<
    { request: EmitRequest; envelope: SignedEnvelope },
    Extract<Pending, { kind: "emit" }>
  >();
  #signer: EnvelopeSigner | undefined;
  #clock: LamportClock | undefined;
  #emitted = 0;
  #accepted = 0;
  #finalNeeds = 0;
  /** Sync answers being read from the audit log. */
  #auditReads = 0;
  /** When each forgotten thread was last answered for from the audit log. */
  readonly #auditAnswered = new Map<string, number>();

  constructor(config: NodeCoreConfig) {
    this.#config = config;
    this.#economy = config.economics === undefined ? undefined : new Economy({
      params: config.params,
      registry: config.economics.registry,
      verifiers: config.verifiers,
    });
    this.#book = new ThreadBook({
      economy: this.#economy,
      params: config.params,
      verifiers: config.verifiers,
      bootstrap: config.bootstrap ?? true,
      parkingCapacity: config.parkingCapacity ?? 10_000,
      parkedTtlMs: config.parkedTtlMs ?? 30_000,
      finishedRetentionMs: config.finishedRetentionMs ?? 60_000,
      decideMode: config.decideMode,
      mutations: config.mutations,
    });
    this.#confirmations = new DecideConfirmations(config.decideLog, 10_000);
    this.#leaseDrops = new LeaseDropChecks(config.decideLog);
    this.#gates = new CoreGates(config.policy, config.policyHash, this.#book);
    this.#repair = new SyncRepair(config);
  }

  async preStart(ctx: ActorContext<CoreInput>): Promise<void> {
    // Subscribe first: envelopes that arrive while the clock opens wait in the mailbox.
    for (let bucket = 0; bucket < SHARD_TOPICS; bucket++) ctx.subscribe(`/swarm/shard/${bucket}`);
    ctx.subscribe(SYNC_TOPIC);
    this.#clock = await LamportClock.open(ctx.store);
    this.#signer = new EnvelopeSigner(this.#config.identity, this.#clock);
    this.#book.epoch = await this.#config.decideLog.currentEpoch();
    await this.#economy?.open(ctx.store);
    this.#recovered = await this.#ownOpenNeeds(ctx);
    ctx.schedule(this.#config.sweepIntervalMs ?? 1_000, { type: "sweep" }, { key: "sweep" });
    // Catch up on whatever is still open: this node may be restarting after a crash.
    ctx.publish(SYNC_TOPIC, { type: "sync-request", replyTo: ctx.self });
  }

  /**
   * After a restart: the audit log's envelopes of the NEEDs this node posted
   * that are still open (its ledger holds their escrows). A NEED no peer
   * heard of before the restart exists nowhere else. The first sweep applies
   * them, once the node's roles watch again; by then whatever peers sent
   * back of them is in, and they add only what peers lacked. Once idle, such
   * a thread is asked for as unheard, and peers ask this node for it.
   * Without an economy or an audit log there is no record of them.
   */
  async #ownOpenNeeds(ctx: ActorContext<CoreInput>): Promise<Uint8Array[]> {
    const audit = this.#config.audit;
    if (audit?.envelopes === undefined || this.#economy === undefined) return [];
    const envelopes: Uint8Array[] = [];
    const did = this.#config.identity.did;
    for (const needId of this.#economy.openNeedsOf(did, ctx.nowMs(), RECOVERED_NEEDS_MAX)) {
      try {
        envelopes.push(...await audit.envelopes(needId));
      } catch (error) {
        this.#count(errorCode(error));
      }
    }
    return envelopes;
  }

  /** Writes out the ledger entries still queued, so a clean stop loses none. */
  async postStop(): Promise<void> {
    await this.#economy?.flush();
  }

  receive(ctx: ActorContext<CoreInput>, message: CoreInput): void {
    switch (message.type) {
      case "envelope":
        return this.#ingress(ctx, message.bytes, false);
      case "emit":
        return this.#emit(ctx, message);
      case "publish-held":
        return this.#publishHeld(ctx, message);
      case "drop-held": {
        const thread = this.#held.drop(message.key);
        if (thread !== undefined) this.#releaseWaiting(ctx, thread);
        return;
      }
      case "step-done":
        for (const pending of this.#steps.settle(message.step, message.pending)) {
          this.#complete(ctx, pending);
        }
        return;
      case "sync-request":
        if (sameAddress(message.replyTo, ctx.self)) return;
        return this.#answerSync(ctx, message);
      case "audit-read":
        return this.#answerRead(message);
      case "sync-thread":
        return this.#requestThread(ctx, message.thread);
      case "sync-reply":
        if (!Array.isArray(message.envelopes)) return this.#count("E_SYNC_REPLY");
        for (const bytes of message.envelopes.slice(0, SYNC_CHUNK_MAX)) {
          this.#ingress(ctx, bytes, true);
        }
        return;
      case "watch":
        this.#roles.push({
          ref: message.role,
          effects: message.effects === undefined ? undefined : new Set(message.effects),
        });
        message.role.tell({
          type: "core-ready",
          did: this.#config.identity.did,
          epoch: this.#book.epoch,
          bootstrap: this.#book.bootstrap,
          core: ctx.self as ActorRef<CoreMessage>,
        });
        return;
      case "thread":
        message.replyTo.tell(this.#book.thread(message.needId));
        return;
      case "open-threads":
        message.replyTo.tell(this.#book.openThreadStates());
        return;
      case "decide-checked":
        return this.#confirmations.checked(ctx, message, this.#sinkFor(ctx));
      case "decide-recheck":
        return this.#confirmations.check(ctx, message.id);
      case "lease-drop-check":
        return this.#leaseDrops.check(ctx, message);
      case "lease-drop-checked":
        return this.#leaseDrops.checked(ctx, message, this.#dropSinkFor(ctx));
      case "stats":
        message.replyTo.tell(this.#stats());
        return;
      case "ledger":
        message.replyTo.tell(this.#economy?.query(message.query, ctx.nowMs()));
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
        return this.#settle(ctx, this.#book.retry(message.thread, ctx.nowMs()));
      case "set-epoch":
        return this.#setEpoch(message.epoch);
      case "set-bootstrap":
        if (this.#book.bootstrap === message.bootstrap) return;
        this.#book.bootstrap = message.bootstrap;
        for (const role of this.#roles) {
          role.ref.tell({ type: "bootstrap", bootstrap: message.bootstrap });
        }
        return;
      case "audit-failed":
        this.#count("E_AUDIT");
        ctx.log.error("audit append failed", { reason: message.reason });
        return;
    }
  }

  /** Checks a local message now and starts signing it; it takes effect in submission order. */
  #emit(ctx: ActorContext<CoreInput>, request: EmitRequest): void {
    const signer = this.#signer as EnvelopeSigner;
    let signing: Promise<SignedEnvelope>;
    try {
      const stamped = this.#book.stamp(request.kind, request.thread, request.payload, ctx.nowMs());
      const payload = parsePayload(request.kind, stamped);
      const draft = draftMessage(request, signer.did, payload);
      const confirmed = selfConfirmed(request);
      if (request.kind !== "RECONCILE") this.#book.dryRun(draft, ctx.nowMs(), confirmed);
      this.#gates.preflight(draft, request.epoch, ctx.nowMs());
      signing = signer.sign({
        kind: request.kind,
        thread: request.thread,
        payload: payload as never,
        policy: this.#gates.capsule(),
        epoch: request.epoch,
        fence: request.fence,
      }, ctx);
    } catch (error) {
      return this.#refuse(request, error);
    }
    const step = this.#steps.push();
    const checkedAt = this.#book.version;
    ctx.pipeToSelf(signing, (signed) => ({
      type: "step-done",
      step,
      pending: { kind: "emit", request, signed, checkedAt },
    }));
  }

  /** Starts verifying a peer's envelope; it takes effect in arrival order. */
  #ingress(ctx: ActorContext<CoreInput>, bytes: unknown, fromSync: boolean): void {
    if (!(bytes instanceof Uint8Array)) return this.#count("E_ENCODING");
    // A sync reply repeats what this node mostly has already settled: skip those before verifying.
    if (fromSync && this.#book.settledLately(envelopeId(bytes))) return;
    const verifying = verifyEnvelope(bytes, {
      policy: this.#gates.capsule(),
      // Envelopes re-sent by a sync are legitimately seen twice; they are deduplicated by id instead.
      replay: fromSync ? undefined : this.#replay,
      nowNs: ctx.now(),
      verifier: this.#config.signatureVerifier,
    });
    const step = this.#steps.push();
    ctx.pipeToSelf(
      verifying,
      (verified) => ({
        type: "step-done",
        step,
        pending: { kind: "ingress", verified, fromSync },
      }),
    );
  }

  /** Applies finished work in order. */
  #complete(ctx: ActorContext<CoreInput>, pending: Pending): void {
    if (pending.kind === "emit") return this.#publish(ctx, pending);
    if (!pending.verified.ok) return this.#count(errorCode(pending.verified.error));
    const verified = pending.verified.value;
    if (!verified.ok) {
      this.#count(verified.error.code);
      ctx.log.warn("refused envelope", {
        code: verified.error.code,
        reason: verified.error.message,
      });
      return;
    }
    const envelope = verified.envelope;
    if (this.#book.knows(envelope.thread, envelope.id) || this.#confirmations.has(envelope.id)) {
      return;
    }
    this.#clock?.observe(envelope.lamport).catch((error) => this.#count(errorCode(error)));
    if (!isLifecycleVerb(envelope.kind)) return this.#count("E_KIND_UNSUPPORTED");
    let message: LifecycleMessage;
    try {
      const payload = parsePayload(envelope.kind, envelope.payload);
      message = toMessage(envelope, envelope.kind, payload, pending.fromSync);
    } catch (error) {
      return this.#count(errorCode(error));
    }
    if (!this.#admit(ctx, message, envelope)) return;
    this.#audit(ctx, envelope, "in");
    if (message.kind === "DECIDE" || this.#rulesByFence(message, envelope)) {
      const checked = message as Confirmable;
      this.#confirmations.start(ctx, checked, envelope.bytes, this.#sinkFor(ctx), envelope.fence);
      return;
    }
    this.#apply(ctx, message, envelope.bytes);
  }

  /**
   * Whether a peer's INVALIDATE is checked against the decide log first: it
   * carries a fence, and its sender is not the decider this node knows for
   * the NEED (whose rulings stand without the check).
   */
  #rulesByFence(message: LifecycleMessage, envelope: SignedEnvelope): boolean {
    if (message.kind !== "INVALIDATE" || envelope.fence === undefined) return false;
    return this.#book.thread(message.thread)?.decision?.decider !== message.sender;
  }

  /**
   * Judged messages are applied: a confirmed DECIDE moves this node to its
   * epoch at least (the log is there), an INVALIDATE carries the verdict.
   */
  #sinkFor(ctx: ActorContext<CoreInput>): ConfirmationSink {
    return {
      accept: (message, bytes, confirmed) => {
        const own = this.#ownRulings.get(message.id);
        if (own !== undefined) {
          this.#ownRulings.delete(message.id);
          if (confirmed) {
            try {
              this.#book.dryRun(message, ctx.nowMs(), true); // the thread may have moved meanwhile
            } catch (error) {
              return this.#refuse(own.request, error);
            }
            return this.#deliver(ctx, own.request, own.envelope, message, true);
          }
          return this.#refuse(
            own.request,
            new SwarmError(
              "E_NOT_DECIDER",
              `The decide log does not name this node as the holder of fence ${own.request.fence} of ${message.thread}'s bucket`,
            ),
          );
        }
        if (message.kind === "DECIDE") this.#setEpoch(message.payload.epoch);
        this.#apply(ctx, message, bytes, confirmed);
      },
      unanswered: (message, bytes) => {
        const own = this.#ownRulings.get(message.id);
        if (own === undefined) return this.#apply(ctx, message, bytes, false);
        this.#ownRulings.delete(message.id);
        this.#refuse(
          own.request,
          new SwarmError("E_DECIDE_UNCONFIRMED", "The decide log did not answer about the fence"),
        );
      },
      count: (code) => this.#count(code),
    };
  }

  /** Receive-side policy check: a denied envelope is dropped, counted and logged. */
  #admit(
    ctx: ActorContext<CoreInput>,
    message: LifecycleMessage,
    envelope: SignedEnvelope,
  ): boolean {
    const verdict = this.#gates.admit(message, envelope, ctx.nowMs());
    if (verdict.delivered) return true;
    this.#count(verdict.code);
    ctx.log.warn("policy refused envelope", {
      code: verdict.code,
      reasons: verdict.reasons,
      kind: message.kind,
    });
    return false;
  }

  /** Publishes a signed local envelope unless the thread moved on in the meantime. */
  #publish(ctx: ActorContext<CoreInput>, pending: Extract<Pending, { kind: "emit" }>): void {
    const { request, signed } = pending;
    if (!signed.ok) return this.#refuse(request, signed.error);
    const envelope = signed.value;
    if (request.hold !== undefined) return this.#hold(ctx, request.hold, request, envelope);
    if (this.#held.blocks(request.thread, envelope.lamport)) {
      // Signed after an envelope of this thread that is still held: it goes out after that one.
      return this.#held.wait(request.thread, envelope.lamport, pending);
    }
    const message = toMessage(envelope, request.kind);
    const confirmed = selfConfirmed(request);
    if (request.kind !== "RECONCILE" && pending.checkedAt !== this.#book.version) {
      try {
        this.#book.dryRun(message, ctx.nowMs(), confirmed);
      } catch (error) {
        return this.#refuse(request, error);
      }
    }
    if (request.kind === "INVALIDATE" && request.fence !== undefined) {
      // A ruling by fence goes out only once the log names this node as that fence's holder: a
      // deposed decider that has not noticed yet must not apply a ruling its peers refuse.
      const ruling = message as LifecycleMessage<"INVALIDATE">;
      const sink = this.#sinkFor(ctx);
      if (!this.#confirmations.start(ctx, ruling, envelope.bytes, sink, request.fence)) {
        return this.#refuse(request, new SwarmError("E_DECIDE_BACKLOG", "Too many checks wait"));
      }
      return void this.#ownRulings.set(envelope.id, { request, envelope });
    }
    this.#deliver(ctx, request, envelope, message, confirmed);
  }

  /** Sends a checked local envelope to the peers and applies it here. */
  #deliver(
    ctx: ActorContext<CoreInput>,
    request: EmitRequest,
    envelope: SignedEnvelope,
    message: LifecycleMessage,
    confirmed: boolean,
  ): void {
    this.#emitted++;
    // Not to this core itself: it applies its own envelope below.
    ctx.publish(shardTopic(request.thread), { type: "envelope", bytes: envelope.bytes }, {
      echo: false,
    });
    this.#audit(ctx, envelope, "out");
    this.#apply(ctx, message, envelope.bytes, confirmed);
    request.replyTo?.tell({
      type: "emitted",
      id: envelope.id,
      kind: request.kind,
      thread: request.thread,
    });
  }

  /** Keeps a signed envelope back until it is published or dropped (`_held_emits.ts`). */
  #hold(
    ctx: ActorContext<CoreInput>,
    key: string,
    request: EmitRequest,
    envelope: SignedEnvelope,
  ): void {
    const value = { request, envelope };
    const { held, freed } = this.#held.hold(
      key,
      request.thread,
      envelope.lamport,
      value,
      ctx.nowMs(),
    );
    for (const thread of freed) this.#releaseWaiting(ctx, thread);
    if (!held) return; // its requester dropped it already
    request.replyTo?.tell({
      type: "held",
      id: envelope.id,
      kind: request.kind,
      thread: request.thread,
      bytes: envelope.bytes,
    });
  }

  /** Publishes a held envelope as its emit would have, checking it against the thread as it is now. */
  #publishHeld(
    ctx: ActorContext<CoreInput>,
    { key, kind, replyTo }: Extract<CoreMessage, { type: "publish-held" }>,
  ): void {
    const held = this.#held.take(key);
    if (held === undefined) {
      return void replyTo?.tell({
        type: "refused",
        code: "E_HELD_UNKNOWN",
        message: `No ${kind} is held as ${key} (dropped, published, expired, or lost in a restart)`,
        kind,
      });
    }
    const { request, envelope } = held.value;
    this.#publish(ctx, {
      kind: "emit",
      request: { ...request, hold: undefined, replyTo },
      signed: { ok: true, value: envelope },
      checkedAt: -1,
    });
    this.#releaseWaiting(ctx, held.thread);
  }

  /** Publishes the envelopes of `thread` that waited behind holds now gone. */
  #releaseWaiting(ctx: ActorContext<CoreInput>, thread: string): void {
    for (const pending of this.#held.released(thread)) this.#publish(ctx, pending);
  }

  #apply(
    ctx: ActorContext<CoreInput>,
    message: LifecycleMessage,
    bytes: Uint8Array,
    confirmed = false,
  ): void {
    if (message.kind === "RECONCILE") {
      return this.#reconcile(ctx, message as LifecycleMessage<"RECONCILE">, bytes);
    }
    this.#settle(ctx, this.#book.apply(message, bytes, ctx.nowMs(), confirmed));
  }

  /** Acts on outcomes: counts refusals, schedules retries, asks for missing threads, tells the roles. */
  #settle(ctx: ActorContext<CoreInput>, outcomes: readonly Outcome[]): void {
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        this.#count(outcome.code);
        continue;
      }
      if (outcome.status === "parked") {
        for (const dropped of outcome.dropped) this.#count(`${dropped.code}:dropped`);
        const { error, message } = outcome;
        if (error.retryAtMs !== undefined) {
          ctx.schedule(Math.max(0, error.retryAtMs - ctx.nowMs()), {
            type: "retry",
            thread: message.thread,
          });
        }
        if (error.code === "E_UNKNOWN_NEED") this.#requestThread(ctx, message.thread);
        continue;
      }
      this.#accepted++;
      this.#gates.record(outcome.message);
      this.#config.onAccepted?.(outcome.message, this.#config.identity.did);
      for (const effect of outcome.effects) this.#dispatch(ctx, effect, outcome.thread);
    }
  }

  #dispatch(ctx: ActorContext<CoreInput>, effect: Effect, thread: ThreadState): void {
    if (effect.type === "need-final" || effect.type === "need-expired") {
      this.#book.finished(effect.needId, ctx.nowMs());
      if (effect.type === "need-final") this.#finalNeeds++;
    }
    this.#config.onEffect?.(effect, thread, this.#config.identity.did);
    for (const role of this.#roles) {
      if (role.effects === undefined || role.effects.has(effect.type)) {
        role.ref.tell({ type: "effect", effect, thread });
      }
    }
  }

  /**
   * Sends a peer the envelopes of the threads it asks for; by default every
   * thread this node still holds, finished ones included: a peer that
   * rebuilds a thread from another's stale copy must also hear from the
   * nodes that saw it end, or it would act on a NEED long FINAL. Envelopes
   * the peer says it holds are left out, so a peer missing one envelope of a
   * thread gets that one from each node that has it, not the whole thread
   * (and nothing from a node that has nothing more).
   */
  #answerSync(
    ctx: ActorContext<CoreInput>,
    request: Extract<CoreMessage, { type: "sync-request" }>,
  ): void {
    const threads = (request.threads ?? this.#book.threadIds()).slice(0, SYNC_THREADS_MAX);
    const have = Array.isArray(request.have)
      ? new Set(request.have.slice(0, SYNC_HAVE_MAX))
      : undefined;
    for (const envelopes of this.#book.archived(threads, SYNC_CHUNK_MAX, have)) {
      request.replyTo.tell({ type: "sync-reply", envelopes });
    }
    if (request.threads === undefined) return;
    this.#answerFromAudit(ctx, request.replyTo, threads, have);
    if (request.unheard !== true) return;
    // The asker alone spoke on these threads: one this node never heard of, it asks the asker for.
    for (const thread of threads) {
      if (this.#book.thread(thread) !== undefined) continue;
      if (this.#book.forgotten(thread, ctx.nowMs())) continue;
      if (!this.#repair.shouldRequest(thread, ctx.nowMs())) continue;
      request.replyTo.tell({
        type: "sync-request",
        threads: [thread],
        have: this.#book.held(thread, SYNC_HAVE_MAX),
        replyTo: ctx.self as ActorRef<CoreMessage>,
      });
    }
  }

  /**
   * Answers, from the audit log, for the named threads this node saw end and
   * has forgotten since (a minute after the end) while their NEEDs may still
   * be open elsewhere: a peer that fell that far behind would otherwise never
   * hear how they ended, and would hold them open until their deadline. Each
   * thread is answered at most once per interval, so a peer that cannot use
   * the answer (it refuses the NEED) and asks again costs little.
   */
  #answerFromAudit(
    ctx: ActorContext<CoreInput>,
    replyTo: ActorRef<CoreMessage>,
    threads: readonly string[],
    have: ReadonlySet<string> | undefined,
  ): void {
    const audit = this.#config.audit;
    const envelopesOf = audit?.envelopes?.bind(audit);
    if (envelopesOf === undefined || this.#auditReads >= AUDIT_SYNC_READS_MAX) return;
    const nowMs = ctx.nowMs();
    for (const [thread, atMs] of this.#auditAnswered) {
      if (nowMs - atMs < AUDIT_SYNC_INTERVAL_MS) break; // in answer order: the rest are newer
      this.#auditAnswered.delete(thread);
    }
    const forgotten = threads.filter((thread) =>
      this.#book.forgotten(thread, nowMs) && !this.#auditAnswered.has(thread)
    ).slice(0, AUDIT_SYNC_THREADS_MAX);
    if (forgotten.length === 0) return;
    for (const thread of forgotten) this.#auditAnswered.set(thread, nowMs);
    this.#auditReads++;
    const read = async () => {
      const missing: Uint8Array[] = [];
      for (const thread of forgotten) {
        const envelopes = await envelopesOf(thread);
        // Only for a peer that holds the NEED (its thread is open there): one holding stray
        // envelopes of it (a spammer's replays) would rebuild a thread that is over.
        const need = envelopes.find((bytes) => kindOf(bytes) === "NEED");
        if (need === undefined || have?.has(envelopeId(need)) !== true) continue;
        missing.push(...envelopes.filter((bytes) => !have.has(envelopeId(bytes))));
      }
      return missing;
    };
    ctx.pipeToSelf(read(), (envelopes) => ({ type: "audit-read", replyTo, envelopes }));
  }

  /** Sends a peer what the audit log holds of the threads it asked for, less what it has. */
  #answerRead(read: AuditRead): void {
    // A read begun before a restart of the core answers this incarnation, which counts none.
    this.#auditReads = Math.max(0, this.#auditReads - 1);
    if (!read.envelopes.ok) return this.#count(errorCode(read.envelopes.error));
    const missing = read.envelopes.value;
    for (let start = 0; start < missing.length; start += SYNC_CHUNK_MAX) {
      const envelopes = missing.slice(start, start + SYNC_CHUNK_MAX);
      read.replyTo.tell({ type: "sync-reply", envelopes });
    }
  }

  /** Asks peers for a thread this node has not heard of (at most once per interval). */
  #requestThread(ctx: ActorContext<CoreInput>, thread: string): void {
    if (this.#repair.shouldRequest(thread, ctx.nowMs())) this.#publishRequest(ctx, thread);
  }

  /**
   * Asks every peer for what it holds of `thread` beyond what this node
   * holds, saying so when no peer has spoken on it yet.
   */
  #publishRequest(ctx: ActorContext<CoreInput>, thread: string): void {
    const unheard = this.#book.soleSender(thread) === this.#config.identity.did;
    ctx.publish(SYNC_TOPIC, {
      type: "sync-request",
      threads: [thread],
      have: this.#book.held(thread, SYNC_HAVE_MAX),
      ...(unheard ? { unheard } : {}),
      replyTo: ctx.self,
    });
  }

  /**
   * RECONCILE marks a partition heal: the epoch moves on, and this node asks
   * its peers for every thread they hold, catching up on what the other side
   * did (in AP mode, the winning decisions of orphaned NEEDs among them).
   * In AP mode it may also name tasks leased on both sides: once this
   * node's decide log holds the kept lease, the dropped one's work is set
   * aside (`_lease_drops.ts`), and the kept lease's CLAIM and COMMIT, which
   * the sync brings, are accepted.
   */
  #reconcile(
    ctx: ActorContext<CoreInput>,
    message: LifecycleMessage<"RECONCILE">,
    bytes: Uint8Array,
  ): void {
    const { toEpoch, leases } = message.payload;
    // One replayed from a thread's archive (it named a lease drop) is there for its drops.
    const replayed = message.replayedMadeAtMs !== undefined;
    const stale = toEpoch < this.#book.epoch;
    if (stale && !replayed) return this.#count("E_STALE_EPOCH");
    this.#setEpoch(toEpoch);
    if (!replayed) {
      ctx.publish(SYNC_TOPIC, { type: "sync-request", replyTo: ctx.self as ActorRef<CoreMessage> });
    }
    if (leases === undefined || leases.length === 0) return;
    // Only an AP log forks, so only there can two leases of one task both have been granted.
    if (this.#config.decideMode !== "ap") return this.#count("E_RECONCILE_UNCONFIRMED");
    this.#leaseDrops.start(ctx, leases, { id: message.id, bytes }, this.#dropSinkFor(ctx));
  }

  /** Where confirmed lease drops go: the book sets their work aside, the roles hear of it. */
  #dropSinkFor(ctx: ActorContext<CoreInput>): LeaseDropSink {
    return {
      confirmed: (drop, source) => {
        let dropped;
        try {
          dropped = this.#book.dropLease(drop, ctx.nowMs(), source);
        } catch (error) {
          return this.#count(errorCode(error));
        }
        const thread = dropped.thread;
        if (thread !== undefined) {
          for (const effect of dropped.effects) this.#dispatch(ctx, effect, thread);
        }
        this.#settle(ctx, dropped.outcomes);
      },
      count: (code) => this.#count(code),
    };
  }

  #setEpoch(epoch: number): void {
    if (epoch <= this.#book.epoch) return;
    this.#book.epoch = epoch;
    for (const role of this.#roles) role.ref.tell({ type: "epoch", epoch });
  }

  #sweep(ctx: ActorContext<CoreInput>): void {
    for (const bytes of this.#recovered.splice(0)) this.#ingress(ctx, bytes, true);
    const nowMs = ctx.nowMs();
    const { expiredParked, expiredNeeds } = this.#book.sweep(nowMs);
    for (const parked of expiredParked) this.#count(parked.code);
    for (const thread of expiredNeeds) {
      this.#dispatch(ctx, { type: "need-expired", needId: thread.needId }, thread);
    }
    for (const thread of this.#repair.due(this.#book, nowMs)) this.#publishRequest(ctx, thread);
    for (const thread of this.#held.expire(nowMs)) this.#releaseWaiting(ctx, thread);
  }

  #audit(ctx: ActorContext<CoreInput>, envelope: SignedEnvelope, direction: "in" | "out"): void {
    const audit = this.#config.audit;
    if (audit === undefined) return;
    // A refused or expired envelope can come back in a sync reply: it is logged once.
    if (this.#audited.has(envelope.id)) return;
    this.#audited.add(envelope.id);
    if (this.#audited.size > AUDITED_IDS_MAX) {
      this.#auditedOldest.evict();
    }
    // Appends are batched by the log; only a failure comes back, as a message. After a
    // restart, envelopes delivered again are not logged twice (appendOnce).
    const appended = audit.appendOnce?.(envelope, direction) ?? audit.append(envelope, direction);
    appended.catch((error) => ctx.self.tell({ type: "audit-failed", reason: errorMessage(error) }));
  }

  #refuse(request: EmitRequest, error: unknown): void {
    const code = errorCode(error);
    this.#declined.set(code, (this.#declined.get(code) ?? 0) + 1);
    request.replyTo?.tell({
      type: "refused",
      code,
      message: errorMessage(error),
      kind: request.kind,
    });
  }

  #count(code: string): void {
    this.#rejected.set(code, (this.#rejected.get(code) ?? 0) + 1);
  }

  #stats(): CoreStats {
    return {
      did: this.#config.identity.did,
      epoch: this.#book.epoch,
      emitted: this.#emitted,
      accepted: this.#accepted,
      rejected: Object.fromEntries(this.#rejected),
      declined: Object.fromEntries(this.#declined),
      parked: this.#book.parked,
      threads: this.#book.size,
      finalNeeds: this.#finalNeeds,
      economics: this.#economy?.stats(),
    };
  }
}

function draftMessage(request: EmitRequest, sender: string, payload: unknown): LifecycleMessage {
  return {
    id: "pending",
    kind: request.kind,
    thread: request.thread,
    sender,
    lamport: 1,
    payload: payload as never,
  };
}

/** The reducer's view of an envelope; one `replayed` from a peer's archive carries when it was made. */
function toMessage(
  envelope: SignedEnvelope,
  kind: LifecycleVerb,
  payload?: unknown,
  replayed = false,
): LifecycleMessage {
  const message = {
    id: envelope.id,
    kind,
    thread: envelope.thread,
    sender: envelope.sender,
    lamport: envelope.lamport,
    payload: (payload ?? envelope.payload) as never,
  };
  return replayed ? { ...message, replayedMadeAtMs: Number(envelope.ts / 1_000_000n) } : message;
}

function sameAddress(left: ActorRef<never>, right: ActorRef<never>): boolean {
  return left.address.node === right.address.node && left.address.path === right.address.path;
}

/**
 * Whether this node's own message is checked against its thread as
 * confirmed: its decider emits a DECIDE only after writing it to the decide
 * log, and an INVALIDATE under a fence goes out only once the log confirms
 * that fence (`#publish`).
 */
function selfConfirmed(request: EmitRequest): boolean {
  return request.kind === "DECIDE" ||
    (request.kind === "INVALIDATE" && request.fence !== undefined);
}

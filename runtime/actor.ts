/**
 * The actor programming model: behaviours, references and the context an
 * actor sees while it handles a message.
 *
 * An actor is a behaviour instance plus a mailbox. It handles one message at
 * a time; if `receive` returns a promise, the next message waits for it. All
 * effects go through the {@linkcode ActorContext} (time, randomness, timers,
 * sending, spawning, the store), which is what lets the deterministic
 * simulator run the same code on virtual time.
 *
 * @module
 */

import type { Settled, TimerHandle } from "./env.ts";
import type { MailboxOptions } from "./mailbox.ts";
import type { Store } from "./store/store.ts";
import type { SupervisorStrategy } from "./supervisor.ts";
import type { Address } from "./transport/transport.ts";

/** A handle to an actor, local or remote. Safe to put in messages. */
export interface ActorRef<M> {
  /** Node and path of the actor. */
  readonly address: Address;
  /**
   * Queues `message` without waiting. Returns false when it was dropped
   * (full mailbox, stopped actor); the drop is reported as a dead letter.
   */
  tell(message: M, sender?: ActorRef<never>): boolean;
  /**
   * Queues `message`, waiting for room when the recipient is local and its
   * mailbox uses backpressure. Resolves false when the message was dropped.
   */
  send(message: M, sender?: ActorRef<never>): Promise<boolean>;
}

/** Signals delivered to {@linkcode Behavior.onSignal}. */
export type Signal = { readonly type: "terminated"; readonly ref: ActorRef<never> };

/** What an actor does. A fresh instance is made at start and at every restart. */
export interface Behavior<M> {
  /** Runs before the first message (and after each restart). A throw is a failure. */
  preStart?(ctx: ActorContext<M>): void | Promise<void>;
  /** Handles one message. A throw or rejection is a failure handled by the supervisor. */
  receive(ctx: ActorContext<M>, message: M): void | Promise<void>;
  /** Handles lifecycle signals such as a watched actor's termination. */
  onSignal?(ctx: ActorContext<M>, signal: Signal): void | Promise<void>;
  /** Runs on the failed instance before it is replaced. */
  preRestart?(ctx: ActorContext<M>, error: unknown): void;
  /** Runs once when the actor stops for good. */
  postStop?(ctx: ActorContext<M>): void | Promise<void>;
}

/** Makes a behaviour instance; called at start and at every restart. */
export type BehaviorFactory<M> = () => Behavior<M>;

/** Options of `spawn`. */
export interface SpawnOptions {
  /** Name, unique among siblings; generated when absent. Letters, digits, `-_.:` only. */
  name?: string;
  /** Mailbox bound and overflow policy. */
  mailbox?: MailboxOptions;
  /** How this actor supervises the children it spawns. */
  supervision?: Partial<SupervisorStrategy>;
}

/** Options of an `ask`. */
export interface AskOptions {
  /** How long to wait for the reply before failing with `E_ASK_TIMEOUT`. Default 5,000 ms. */
  timeoutMs?: number;
}

/** Options of {@linkcode ActorContext.publish}. */
export interface PublishOptions {
  /**
   * Whether the publishing actor receives its own message when it subscribes
   * to the topic. Default true; false skips only that actor (other local
   * subscribers and other nodes still get it).
   */
  echo?: boolean;
}

/** Options of {@linkcode ActorContext.schedule}. */
export interface ScheduleOptions {
  /** A key: scheduling again with the same key replaces the pending timer. */
  key?: string;
}

/** Logging for actors; entries go to the system's logger with the actor's path. */
export interface ActorLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Everything an actor may do. Valid only inside the actor's own handlers. */
export interface ActorContext<M> {
  /** This actor. */
  readonly self: ActorRef<M>;
  /** Sender of the current message, when it gave one. */
  readonly sender: ActorRef<never> | undefined;
  /** Identifier of the node this actor runs on. */
  readonly nodeId: string;
  /** The node's durable store. */
  readonly store: Store;
  /** Logger tagged with this actor's path. */
  readonly log: ActorLogger;
  /** Current node time in nanoseconds. */
  now(): bigint;
  /** Current node time in milliseconds. */
  nowMs(): number;
  /** A float in [0, 1), seeded in simulation. */
  random(): number;
  /** An integer in [0, maxExclusive), seeded in simulation. */
  randomInt(maxExclusive: number): number;
  /** Random bytes, seeded in simulation. */
  randomBytes(length: number): Uint8Array;
  /** Sends `message` to this actor after `delayMs`; cancelled on stop and restart. */
  schedule(delayMs: number, message: M, options?: ScheduleOptions): TimerHandle;
  /** Cancels the keyed timer, if pending. */
  cancelSchedule(key: string): void;
  /** Spawns a child supervised by this actor. */
  spawn<C>(factory: BehaviorFactory<C>, options?: SpawnOptions): ActorRef<C>;
  /** The child of this actor with `name`, if alive. */
  child<C>(name: string): ActorRef<C> | undefined;
  /** Stops a child of this actor, or this actor when no ref is given. */
  stop(ref?: ActorRef<never>): void;
  /**
   * Watches `ref`: when it terminates, this actor receives `message`, or a
   * `terminated` signal when no message is given.
   */
  watch(ref: ActorRef<never>, message?: M): void;
  /** Stops watching `ref`. */
  unwatch(ref: ActorRef<never>): void;
  /** A reference to any address (local or remote). */
  refFor<T>(address: Address): ActorRef<T>;
  /**
   * Asks `target` and turns the reply (or the timeout) into a message to this
   * actor, so the actor never blocks waiting.
   */
  ask<Q, R>(
    target: ActorRef<Q>,
    build: (replyTo: ActorRef<R>) => Q,
    adapt: (result: Settled<R>) => M,
    options?: AskOptions,
  ): void;
  /** Delivers the outcome of an outside promise (I/O, crypto) to this actor as a message. */
  pipeToSelf<T>(promise: Promise<T>, adapt: (result: Settled<T>) => M): void;
  /** Receives messages published on `topic` from now on. */
  subscribe(topic: string): void;
  /** Stops receiving messages of `topic`. */
  unsubscribe(topic: string): void;
  /** Publishes `message` to every subscriber of `topic`, on this node and others. */
  publish(topic: string, message: unknown, options?: PublishOptions): void;
  /**
   * True when the rare fault path `name` should be taken (simulation only);
   * `subject` names the NEED it delays, when there is one.
   */
  buggify(name: string, subject?: string): boolean;
}

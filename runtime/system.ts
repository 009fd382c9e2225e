/**
 * The actor system of one node: spawns and names actors, routes messages
 * locally and through the transport, runs asks, and reports what happens as
 * events.
 *
 * @module
 */

import type { ActorRef, AskOptions, BehaviorFactory, SpawnOptions } from "./actor.ts";
import type { Env, Settled } from "./env.ts";
import { DeadlineQueue } from "./deadlines.ts";
import { SwarmError } from "./errors.ts";
import { type DeadLetterReason, EventStream } from "./events.ts";
import { type LogSink, stderrLogSink } from "./log.ts";
import { type MailboxOptions, mailboxSettings } from "./mailbox.ts";
import { type SupervisorStrategy, supervisorStrategy } from "./supervisor.ts";
import type { Address, Frame, FrameHandler } from "./transport/transport.ts";
import { fromWire, toWire, type WireRef } from "./wire.ts";
import { Cell } from "./_cell.ts";
import type { CellHost } from "./_cell_host.ts";
import { AskRef, LocalRef, RemoteRef, type RemoteSender } from "./_refs.ts";

/** Options of {@linkcode ActorSystem.create}. */
export interface ActorSystemOptions {
  /** How top-level actors are supervised. Default: one-for-one, restart. */
  guardian?: Partial<SupervisorStrategy>;
  /** Mailbox settings for actors that do not give their own. */
  defaultMailbox?: MailboxOptions;
  /** Where actor logs go. Default: warnings and errors to stderr. */
  log?: LogSink;
  /** Default ask timeout. Default 5,000 ms. */
  askTimeoutMs?: number;
}

/** Raised when an ask gets no reply in time. */
export class AskTimeoutError extends SwarmError {
  constructor(target: Address, timeoutMs: number) {
    super(
      "E_ASK_TIMEOUT",
      `Ask to ${target.node}${target.path} got no reply within ${timeoutMs} ms`,
    );
  }
}

/** Raised when an ask's request could not even be queued. */
export class AskUndeliveredError extends SwarmError {
  constructor(target: Address) {
    super("E_ASK_UNDELIVERED", `Ask to ${target.node}${target.path} was not delivered`);
  }
}

/** Raised for invalid spawn arguments (bad or duplicate names). */
export class SpawnError extends SwarmError {}

const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const GUARDIAN_PATH = "/user";
const ASK_PATH_PREFIX = "/temp/ask-";

/** One node's actors. */
export class ActorSystem implements CellHost, RemoteSender, FrameHandler {
  readonly env: Env;
  readonly nodeId: string;
  readonly events = new EventStream();
  readonly log: LogSink;
  readonly #defaultMailbox: MailboxOptions | undefined;
  readonly #askTimeoutMs: number;
  readonly #registry = new Map<string, Cell<never> | AskRef<never>>();
  readonly #topics = new Map<string, Set<Cell<never>>>();
  readonly #guardian: Cell<never>;
  readonly #askDeadlines: DeadlineQueue;
  readonly #terminated: Promise<void>;
  #resolveTerminated: () => void = () => {};
  #nameSequence = 0;
  #askSequence = 0;

  private constructor(env: Env, options: ActorSystemOptions) {
    this.env = env;
    this.nodeId = env.nodeId;
    this.log = options.log ?? stderrLogSink("warn");
    this.#defaultMailbox = options.defaultMailbox;
    this.#askTimeoutMs = checkTimeout(options.askTimeoutMs ?? 5_000);
    this.#terminated = new Promise((resolve) => (this.#resolveTerminated = resolve));
    this.#askDeadlines = new DeadlineQueue(env.timers, env.clock);
    this.#guardian = new Cell(this, undefined, GUARDIAN_PATH, {
      name: "user",
      factory: () => ({ receive: () => {} }),
      mailbox: mailboxSettings({ capacity: 1 }),
      strategy: supervisorStrategy(options.guardian),
    });
    this.#registry.set(GUARDIAN_PATH, this.#guardian);
    this.#guardian.system({ type: "start" });
    env.transport.attach(this);
  }

  /**
   * Starts an actor system on `env`.
   *
   * @example
   * ```ts
   * const env = await RealEnv.open({ nodeId: "node-1" });
   * const system = ActorSystem.create(env);
   * const echo = system.spawn(() => ({ receive: (ctx, m: string) => console.log(m) }), { name: "echo" });
   * echo.tell("hello");
   * ```
   */
  static create(env: Env, options: ActorSystemOptions = {}): ActorSystem {
    return new ActorSystem(env, options);
  }

  /** Spawns a top-level actor under `/user`. */
  spawn<M>(factory: BehaviorFactory<M>, options?: SpawnOptions): ActorRef<M> {
    return this.spawnChild(this.#guardian, factory, options).ref;
  }

  /** The live actor at `path` (e.g. `/user/worker`), if any. */
  lookup<M>(path: string): ActorRef<M> | undefined {
    const target = this.#registry.get(path);
    if (target === undefined || target instanceof AskRef || target.isTerminating) return undefined;
    return target.ref as ActorRef<M>;
  }

  /** Stops an actor (and its children); no-op for refs that are not local. */
  stop(ref: ActorRef<never>): void {
    if (ref instanceof LocalRef) ref.cell.system({ type: "stop" });
  }

  /** Asks `target` and resolves with its reply, or rejects with `E_ASK_TIMEOUT`. */
  ask<Q, R>(
    target: ActorRef<Q>,
    build: (replyTo: ActorRef<R>) => Q,
    options?: AskOptions,
  ): Promise<R> {
    return new Promise((resolve, reject) => {
      this.askInternal<Q, R>(target, build, options?.timeoutMs, (result) => {
        if (result.ok) resolve(result.value);
        else reject(result.error);
      });
    });
  }

  /** Stops every actor; resolves once all have run their `postStop`. */
  terminate(): Promise<void> {
    this.#guardian.system({ type: "stop" });
    return this.#terminated;
  }

  /** Resolves when the system has terminated. */
  get whenTerminated(): Promise<void> {
    return this.#terminated;
  }

  /** Number of live actors, the guardian included. */
  get actorCount(): number {
    let count = 0;
    for (const target of this.#registry.values()) if (!(target instanceof AskRef)) count++;
    return count;
  }

  refFor<M>(address: Address): ActorRef<M> {
    if (address.node !== this.nodeId) {
      return new RemoteRef<M>({ node: address.node, path: address.path }, this);
    }
    const target = this.#registry.get(address.path);
    if (target instanceof Cell) return target.ref as ActorRef<M>;
    if (target instanceof AskRef) return target as ActorRef<M>;
    return new RemoteRef<M>({ node: address.node, path: address.path }, this);
  }

  localRef<M>(cell: Cell<M>): ActorRef<M> {
    return new LocalRef(cell);
  }

  spawnChild<C>(
    parent: Cell<never>,
    factory: BehaviorFactory<C>,
    options: SpawnOptions | undefined,
  ): Cell<C> {
    if (parent.isTerminating) {
      throw new SpawnError("E_SPAWN_STOPPING", `Cannot spawn under ${parent.path}: it is stopping`);
    }
    const name = options?.name ?? `$${(this.#nameSequence++).toString(36)}`;
    if (options?.name !== undefined && !NAME_PATTERN.test(name)) {
      throw new SpawnError(
        "E_ACTOR_NAME",
        `Actor name must match ${NAME_PATTERN.source}, got ${JSON.stringify(name)}`,
      );
    }
    if (parent.children.has(name)) {
      throw new SpawnError(
        "E_NAME_TAKEN",
        `Cannot spawn ${parent.path}/${name}: the name is taken`,
      );
    }
    const cell = new Cell<C>(this, parent, `${parent.path}/${name}`, {
      name,
      factory,
      mailbox: mailboxSettings(options?.mailbox ?? this.#defaultMailbox),
      strategy: supervisorStrategy(options?.supervision),
    });
    parent.children.set(name, cell.erased);
    this.#registry.set(cell.path, cell.erased);
    cell.system({ type: "start" });
    return cell;
  }

  detach(cell: Cell<never>): void {
    if (this.#registry.get(cell.path) === cell) this.#registry.delete(cell.path);
    const parent = cell.parent;
    if (parent !== undefined && parent.children.get(cell.name) === cell) {
      parent.children.delete(cell.name);
      parent.dyingChildren.add(cell);
    }
  }

  terminated(cell: Cell<never>): void {
    if (cell === this.#guardian) this.#resolveTerminated();
  }

  deadLetter(
    recipient: string,
    sender: ActorRef<never> | undefined,
    message: unknown,
    reason: DeadLetterReason,
  ): void {
    this.events.emit({
      type: "dead-letter",
      recipient,
      sender: sender?.address.path,
      reason,
      message,
    });
    this.env.tracer?.note("dead-letter", `${recipient} ${reason}`);
  }

  subscribe(topic: string, cell: Cell<never>): void {
    let subscribers = this.#topics.get(topic);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#topics.set(topic, subscribers);
      this.env.transport.subscribe(topic);
    }
    subscribers.add(cell);
  }

  unsubscribe(topic: string, cell: Cell<never>): void {
    const subscribers = this.#topics.get(topic);
    if (subscribers === undefined || !subscribers.delete(cell) || subscribers.size > 0) return;
    this.#topics.delete(topic);
    this.env.transport.unsubscribe(topic);
  }

  publish(
    topic: string,
    message: unknown,
    sender: ActorRef<never> | undefined,
    echo = true,
  ): void {
    const payload = toWire(message);
    for (const cell of this.#topics.get(topic) ?? []) {
      if (echo || cell.ref !== sender) cell.tell(message as never, sender);
    }
    this.env.transport.send({ kind: "topic", topic, from: sender?.address, payload });
  }

  sendRemote(address: Address, message: unknown, sender: ActorRef<never> | undefined): boolean {
    if (address.node === this.nodeId) {
      const target = this.#registry.get(address.path);
      if (target !== undefined) return target.tell(message as never, sender);
      this.deadLetter(address.path, sender, message, "no-such-actor");
      return false;
    }
    this.env.transport.send({
      kind: "direct",
      to: address,
      from: sender?.address,
      payload: toWire(message),
    });
    return true;
  }

  askInternal<Q, R>(
    target: ActorRef<Q>,
    build: (replyTo: ActorRef<R>) => Q,
    timeoutMs: number | undefined,
    onResult: (result: Settled<R>) => void,
  ): void {
    const waitMs = checkTimeout(timeoutMs ?? this.#askTimeoutMs);
    const path = `${ASK_PATH_PREFIX}${(this.#askSequence++).toString(36)}`;
    const timer = this.#askDeadlines.add(waitMs, () => {
      if (!reply.pending) return;
      reply.close();
      this.#registry.delete(path);
      onResult({ ok: false, error: new AskTimeoutError(target.address, waitMs) });
    });
    const reply: AskRef<R> = new AskRef<R>(
      { node: this.nodeId, path },
      (value) => {
        timer.cancel();
        this.#registry.delete(path);
        onResult({ ok: true, value });
      },
      (late, sender) => this.deadLetter(path, sender, late, "recipient-stopped"),
    );
    this.#registry.set(path, reply as AskRef<never>);
    let request: Q;
    try {
      request = build(reply);
    } catch (error) {
      return this.#abortAsk(reply, path, timer, onResult, error);
    }
    if (!target.tell(request)) {
      this.#abortAsk(reply, path, timer, onResult, new AskUndeliveredError(target.address));
    }
  }

  /** Delivers a frame from the transport; never throws, whatever the peer sent. */
  onFrame(frame: Frame): void {
    const resolve = (ref: WireRef) => this.refFor(ref);
    let message: unknown;
    try {
      message = fromWire(frame.payload, resolve);
    } catch (error) {
      const recipient = frame.kind === "direct" ? frame.to.path : `topic:${frame.topic}`;
      this.deadLetter(recipient, undefined, error, "undeliverable");
      return;
    }
    const sender = frame.from === undefined ? undefined : this.refFor<never>(frame.from);
    if (frame.kind === "topic") {
      for (const cell of this.#topics.get(frame.topic) ?? []) cell.tell(message as never, sender);
      return;
    }
    const target = this.#registry.get(frame.to.path);
    if (target === undefined) {
      return this.deadLetter(frame.to.path, sender, message, "no-such-actor");
    }
    target.tell(message as never, sender);
  }

  #abortAsk<R>(
    reply: AskRef<R>,
    path: string,
    timer: { cancel(): void },
    onResult: (result: Settled<R>) => void,
    error: unknown,
  ): void {
    if (!reply.pending) return;
    reply.close();
    timer.cancel();
    this.#registry.delete(path);
    onResult({ ok: false, error });
  }
}

function checkTimeout(timeoutMs: number): number {
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new SwarmError(
      "E_ASK_TIMEOUT_CONFIG",
      `Ask timeout must be a finite number > 0 ms, got ${timeoutMs}`,
    );
  }
  return timeoutMs;
}

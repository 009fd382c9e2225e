/**
 * The actor cell: one actor's mailbox, behaviour instance, lifecycle and
 * supervision of its children. Private to the runtime; users see refs and
 * contexts only.
 *
 * A cell runs on its system's executor, one message at a time. The system
 * lane is always drained before the user lane, and user messages wait while
 * the actor is suspended (failed, awaiting its supervisor's decision).
 *
 * @module
 */

import type { ActorRef, Behavior, BehaviorFactory, Signal } from "./actor.ts";
import type { Runnable, TimerHandle } from "./env.ts";
import { assert, errorCode, errorMessage } from "./errors.ts";
import { Mailbox, type MailboxSettings } from "./mailbox.ts";
import {
  backoffDelayMs,
  childrenToRestart,
  RestartIntensityExceeded,
  RestartWindow,
  type SupervisorStrategy,
} from "./supervisor.ts";
import type { Address } from "./transport/transport.ts";
import type { CellHost } from "./_cell_host.ts";
import { CellContext } from "./_context.ts";

/** Lifecycle state of a cell. */
export type CellState = "new" | "running" | "suspended" | "stopping" | "stopped";

/** Messages of the system lane. */
export type SystemMessage =
  | { type: "start" }
  | { type: "stop" }
  | { type: "suspend" }
  | { type: "resume" }
  | { type: "restart"; error: unknown; supervisor: string; restartCount: number; backoffMs: number }
  | { type: "fail"; error: unknown }
  | { type: "watch"; watcher: Cell<never> }
  | { type: "unwatch"; watcher: Cell<never> }
  | { type: "terminated"; cell: Cell<never> }
  | { type: "child-failed"; child: Cell<never>; error: unknown }
  | { type: "child-terminated"; child: Cell<never> };

/** Settings a cell is created with. */
export interface CellSettings<M> {
  readonly name: string;
  readonly factory: BehaviorFactory<M>;
  readonly mailbox: MailboxSettings;
  readonly strategy: SupervisorStrategy;
}

/** One actor. */
export class Cell<M> implements Runnable {
  readonly host: CellHost;
  readonly parent: Cell<never> | undefined;
  readonly name: string;
  readonly path: string;
  readonly address: Address;
  readonly label: string;
  readonly settings: CellSettings<M>;
  readonly mailbox: Mailbox<M, SystemMessage>;
  readonly ref: ActorRef<M>;
  readonly context: CellContext<M>;
  /** Live children by name, in spawn order. */
  readonly children = new Map<string, Cell<never>>();
  /** Children that are stopping and not yet terminated. */
  readonly dyingChildren = new Set<Cell<never>>();
  /** Cells watching this one. */
  readonly watchers = new Set<Cell<never>>();
  /** Cells this one watches, with the message to deliver on termination (if any). */
  readonly watching = new Map<Cell<never>, M | undefined>();
  readonly timers = new Map<string, TimerHandle>();
  readonly topics = new Set<string>();
  /** Bumped at every restart so stale timers do not fire into a new instance. */
  generation = 0;
  state: CellState = "new";
  behavior: Behavior<M> | undefined = undefined;
  readonly #restarts = new RestartWindow();
  #scheduled = false;
  #timerSequence = 0;

  constructor(
    host: CellHost,
    parent: Cell<never> | undefined,
    path: string,
    settings: CellSettings<M>,
  ) {
    this.host = host;
    this.parent = parent;
    this.name = settings.name;
    this.path = path;
    this.label = path;
    this.settings = settings;
    this.address = { node: host.nodeId, path };
    this.mailbox = new Mailbox(settings.mailbox);
    this.mailbox.onHighWater = (size) =>
      host.events.emit({
        type: "mailbox-high-water",
        path,
        size,
        capacity: settings.mailbox.capacity,
      });
    this.ref = host.localRef(this);
    this.context = new CellContext(this);
  }

  /** This cell with its message type erased, for bookkeeping across cells. */
  get erased(): Cell<never> {
    return this as unknown as Cell<never>;
  }

  /** True once the cell stopped or is stopping; user messages become dead letters. */
  get isTerminating(): boolean {
    return this.state === "stopping" || this.state === "stopped";
  }

  /** Queues a user message without waiting; false (and a dead letter) when refused. */
  tell(message: M, sender: ActorRef<never> | undefined): boolean {
    if (!this.isTerminating && this.mailbox.offerUser(message, sender)) {
      if (!this.#scheduled && this.state === "running") this.#wake();
      return true;
    }
    this.host.deadLetter(
      this.path,
      sender,
      message,
      this.isTerminating ? "recipient-stopped" : "mailbox-full",
    );
    return false;
  }

  /** Queues a user message, waiting for room under backpressure. */
  async send(message: M, sender: ActorRef<never> | undefined): Promise<boolean> {
    if (this.isTerminating) return this.tell(message, sender);
    const accepted = await this.mailbox.sendUser(message, sender);
    if (!accepted) {
      this.host.deadLetter(
        this.path,
        sender,
        message,
        this.isTerminating ? "recipient-stopped" : "mailbox-full",
      );
      return false;
    }
    if (!this.#scheduled && this.state === "running") this.#wake();
    return true;
  }

  /** Queues a system message; never refused. */
  system(message: SystemMessage): void {
    if (this.state === "stopped") return this.#afterStopped(message);
    this.mailbox.pushSystem(message);
    if (!this.#scheduled) this.#wake();
  }

  /** Runs up to `budget` messages; see {@linkcode Runnable.run}. */
  run(budget: number): void | Promise<void> {
    for (let processed = 0; processed < budget; processed++) {
      const outcome = this.#step();
      if (outcome === false) break;
      if (outcome !== true) return outcome.then(() => this.#release());
    }
    this.#release();
  }

  /** Arms a timer owned by this cell; cancelled on stop and restart. */
  armTimer(delayMs: number, message: M, key: string | undefined): TimerHandle {
    const timerKey = key ?? `\u0000${this.#timerSequence++}`;
    this.timers.get(timerKey)?.cancel();
    const generation = this.generation;
    const handle = this.host.env.timers.setTimer(delayMs, () => {
      if (this.timers.get(timerKey) === handle) this.timers.delete(timerKey);
      if (this.generation !== generation || this.isTerminating) return;
      if (!this.tell(message, undefined)) {
        this.host.events.emit({ type: "timer-dropped", path: this.path });
      }
    });
    this.timers.set(timerKey, handle);
    return handle;
  }

  /** Handles a failure of this actor: suspend and tell the supervisor. */
  fail(error: unknown): void {
    if (this.isTerminating) return;
    this.state = "suspended";
    this.host.events.emit({
      type: "actor-failed",
      path: this.path,
      error: errorMessage(error),
      code: errorCode(error),
    });
    this.host.env.tracer?.note("failed", `${this.path} ${errorCode(error)}`);
    if (this.parent === undefined) {
      this.host.events.emit({
        type: "hook-failed",
        path: this.path,
        hook: "guardian",
        error: errorMessage(error),
      });
      return;
    }
    this.parent.system({ type: "child-failed", child: this.erased, error });
  }

  /** One unit of work: true = continue, false = nothing runnable, promise = went async. */
  #step(): boolean | Promise<void> {
    const systemMessage = this.mailbox.pollSystem();
    if (systemMessage !== undefined) return this.#onSystem(systemMessage) ?? true;
    if (this.state !== "running") return false;
    const message = this.mailbox.pollUser();
    if (message === undefined) return false;
    const sender = this.mailbox.lastSender as ActorRef<never> | undefined;
    const tracer = this.host.env.tracer;
    if (tracer !== undefined) tracer.delivery(this.path, sender?.address.path, message);
    this.context.sender = sender;
    return this.#guard(() => (this.behavior as Behavior<M>).receive(this.context, message)) ?? true;
  }

  #release(): void {
    this.#scheduled = false;
    if (this.mailbox.systemCount > 0 || (this.state === "running" && this.mailbox.userCount > 0)) {
      this.#wake();
    }
  }

  #wake(): void {
    this.#scheduled = true;
    this.host.env.executor.schedule(this);
  }

  /** Runs a handler, turning a throw or a rejection into a failure of this actor. */
  #guard(handler: () => void | Promise<void>): void | Promise<void> {
    try {
      const result = handler();
      if (result !== undefined && typeof (result as Promise<void>).then === "function") {
        return (result as Promise<void>).then(undefined, (error) => this.fail(error));
      }
    } catch (error) {
      this.fail(error);
    }
  }

  #onSystem(message: SystemMessage): void | Promise<void> {
    switch (message.type) {
      case "start":
        return this.#start();
      case "stop":
        return this.#beginStop();
      case "suspend":
        if (this.state === "running") this.state = "suspended";
        return;
      case "resume":
        if (this.state === "suspended") this.state = "running";
        return;
      case "restart":
        return this.#restart(message);
      case "fail":
        return this.fail(message.error);
      case "watch":
        this.watchers.add(message.watcher);
        return;
      case "unwatch":
        this.watchers.delete(message.watcher);
        return;
      case "terminated":
        return this.#onTerminated(message.cell);
      case "child-failed":
        return this.#supervise(message.child, message.error);
      case "child-terminated":
        this.dyingChildren.delete(message.child);
        if (this.state === "stopping") return this.#maybeFinishStop();
        return;
    }
  }

  #start(): void | Promise<void> {
    if (this.isTerminating) return;
    this.state = "running";
    this.behavior = this.settings.factory();
    this.host.events.emit({ type: "actor-started", path: this.path });
    const behavior = this.behavior;
    if (behavior.preStart === undefined) return;
    return this.#guard(() => behavior.preStart?.(this.context));
  }

  #onTerminated(cell: Cell<never>): void | Promise<void> {
    if (!this.watching.has(cell) || this.isTerminating) return;
    const message = this.watching.get(cell);
    this.watching.delete(cell);
    const behavior = this.behavior as Behavior<M>;
    this.context.sender = undefined;
    if (message !== undefined) return this.#guard(() => behavior.receive(this.context, message));
    const signal: Signal = { type: "terminated", ref: cell.ref as ActorRef<never> };
    if (behavior.onSignal !== undefined) {
      return this.#guard(() => behavior.onSignal?.(this.context, signal));
    }
  }

  #restart(message: Extract<SystemMessage, { type: "restart" }>): void | Promise<void> {
    if (this.isTerminating) return;
    const old = this.behavior;
    if (old?.preRestart !== undefined) {
      try {
        old.preRestart(this.context, message.error);
      } catch (error) {
        this.host.events.emit({
          type: "hook-failed",
          path: this.path,
          hook: "preRestart",
          error: errorMessage(error),
        });
      }
    }
    this.#releaseResources();
    for (const child of [...this.children.values()]) child.system({ type: "stop" });
    this.generation++;
    this.host.events.emit({
      type: "actor-restarted",
      path: this.path,
      supervisor: message.supervisor,
      restartCount: message.restartCount,
      backoffMs: message.backoffMs,
    });
    this.host.env.tracer?.note("restarted", `${this.path} #${message.restartCount}`);
    this.state = "new";
    return this.#start();
  }

  /** Cancels timers, drops subscriptions and watches; used by restart and stop. */
  #releaseResources(): void {
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
    for (const topic of this.topics) this.host.unsubscribe(topic, this.erased);
    this.topics.clear();
    for (const target of this.watching.keys()) {
      target.system({ type: "unwatch", watcher: this.erased });
    }
    this.watching.clear();
  }

  #supervise(child: Cell<never>, error: unknown): void {
    if (this.children.get(child.name) !== child || this.isTerminating) return;
    const strategy = this.settings.strategy;
    let directive = decideSafely(strategy, error);
    const isGuardian = this.parent === undefined;
    if (directive === "escalate" && isGuardian) directive = "stop";
    if (directive === "resume") {
      this.host.events.emit({ type: "actor-resumed", path: child.path, supervisor: this.path });
      return child.system({ type: "resume" });
    }
    if (directive === "stop") return child.system({ type: "stop" });
    if (directive === "escalate") {
      this.host.events.emit({
        type: "failure-escalated",
        path: this.path,
        child: child.path,
        error: errorMessage(error),
      });
      return this.fail(error);
    }
    const attempt = this.#restarts.tryRecord(this.host.env.clock.nowNs(), strategy);
    if (attempt === 0) return this.#giveUp(child, error);
    const siblings = [...this.children.values()];
    const affected = childrenToRestart(strategy.kind, siblings.indexOf(child), siblings.length)
      .map((index) => siblings[index]);
    const backoffMs = backoffDelayMs(strategy.backoff, attempt, this.host.env.random.float());
    for (const cell of affected) if (cell !== child) cell.system({ type: "suspend" });
    this.host.env.timers.setTimer(backoffMs, () => {
      for (const cell of affected) {
        if (this.children.get(cell.name) !== cell) continue;
        cell.system({
          type: "restart",
          error,
          supervisor: this.path,
          restartCount: attempt,
          backoffMs,
        });
      }
    });
  }

  #giveUp(child: Cell<never>, error: unknown): void {
    const strategy = this.settings.strategy;
    this.host.events.emit({
      type: "supervisor-gave-up",
      path: this.path,
      child: child.path,
      restarts: this.#restarts.count,
      withinMs: strategy.withinMs,
      error: errorMessage(error),
    });
    if (this.parent === undefined) return child.system({ type: "stop" });
    for (const cell of this.children.values()) cell.system({ type: "stop" });
    this.fail(
      new RestartIntensityExceeded(
        this.path,
        child.path,
        this.#restarts.count,
        strategy.withinMs,
        error,
      ),
    );
  }

  #beginStop(): void | Promise<void> {
    if (this.isTerminating) return;
    this.state = "stopping";
    this.#releaseResources();
    this.host.detach(this.erased);
    for (const child of [...this.children.values()]) child.system({ type: "stop" });
    return this.#maybeFinishStop();
  }

  #maybeFinishStop(): void | Promise<void> {
    if (this.children.size > 0 || this.dyingChildren.size > 0) return;
    const behavior = this.behavior;
    if (behavior?.postStop === undefined) return this.#finishStop();
    const finish = () => this.#finishStop();
    try {
      const result = behavior.postStop(this.context);
      if (result !== undefined) return result.then(finish, (error) => this.#postStopFailed(error));
    } catch (error) {
      return this.#postStopFailed(error);
    }
    return this.#finishStop();
  }

  #postStopFailed(error: unknown): void {
    this.host.events.emit({
      type: "hook-failed",
      path: this.path,
      hook: "postStop",
      error: errorMessage(error),
    });
    this.#finishStop();
  }

  #finishStop(): void {
    assert(
      this.state === "stopping",
      `Cell ${this.path} finished stopping from state ${this.state}`,
    );
    this.state = "stopped";
    for (const { message, sender } of this.mailbox.drainUser()) {
      this.host.deadLetter(
        this.path,
        sender as ActorRef<never> | undefined,
        message,
        "recipient-stopped",
      );
    }
    for (const watcher of this.watchers) watcher.system({ type: "terminated", cell: this.erased });
    this.watchers.clear();
    this.host.events.emit({ type: "actor-stopped", path: this.path });
    this.host.env.tracer?.note("stopped", this.path);
    this.host.terminated(this.erased);
    this.parent?.system({ type: "child-terminated", child: this.erased });
  }

  /** System messages that reach a stopped cell: answer watches at once, drop the rest. */
  #afterStopped(message: SystemMessage): void {
    if (message.type === "watch") message.watcher.system({ type: "terminated", cell: this.erased });
  }
}

function decideSafely(
  strategy: SupervisorStrategy,
  error: unknown,
): ReturnType<SupervisorStrategy["decide"]> {
  try {
    return strategy.decide(error);
  } catch {
    // A decider that throws cannot be trusted to handle this failure: escalate it.
    return "escalate";
  }
}

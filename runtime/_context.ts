/**
 * The {@linkcode ActorContext} implementation handed to behaviours. Every
 * effect an actor can have goes through here, on the system's environment.
 *
 * @module
 */

import type {
  ActorContext,
  ActorLogger,
  ActorRef,
  AskOptions,
  BehaviorFactory,
  PublishOptions,
  ScheduleOptions,
  SpawnOptions,
} from "./actor.ts";
import type { Settled, TimerHandle } from "./env.ts";
import { SwarmError } from "./errors.ts";
import type { Store } from "./store/store.ts";
import type { Address } from "./transport/transport.ts";
import type { Cell } from "./_cell.ts";

/** Raised for misuse of the actor context (bad delays, stopping a stranger). */
export class ActorContextError extends SwarmError {}

/** The context of one cell; `sender` changes with each message. */
export class CellContext<M> implements ActorContext<M> {
  readonly #cell: Cell<M>;
  readonly log: ActorLogger;
  sender: ActorRef<never> | undefined = undefined;

  constructor(cell: Cell<M>) {
    this.#cell = cell;
    const { host, path } = cell;
    const write =
      (level: "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) =>
        host.log({ level, node: host.nodeId, path, message, fields });
    this.log = { info: write("info"), warn: write("warn"), error: write("error") };
  }

  get self(): ActorRef<M> {
    return this.#cell.ref;
  }

  get nodeId(): string {
    return this.#cell.host.nodeId;
  }

  get store(): Store {
    return this.#cell.host.env.store;
  }

  now(): bigint {
    return this.#cell.host.env.clock.nowNs();
  }

  nowMs(): number {
    return Number(this.#cell.host.env.clock.nowNs()) / 1_000_000;
  }

  random(): number {
    return this.#cell.host.env.random.float();
  }

  randomInt(maxExclusive: number): number {
    return this.#cell.host.env.random.int(maxExclusive);
  }

  randomBytes(length: number): Uint8Array {
    return this.#cell.host.env.random.bytes(length);
  }

  schedule(delayMs: number, message: M, options?: ScheduleOptions): TimerHandle {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) {
      throw new ActorContextError(
        "E_TIMER_DELAY",
        `Timer delay must be a finite number >= 0 ms, got ${delayMs}`,
      );
    }
    return this.#cell.armTimer(delayMs, message, options?.key);
  }

  cancelSchedule(key: string): void {
    const timer = this.#cell.timers.get(key);
    if (timer === undefined) return;
    timer.cancel();
    this.#cell.timers.delete(key);
  }

  spawn<C>(factory: BehaviorFactory<C>, options?: SpawnOptions): ActorRef<C> {
    return this.#cell.host.spawnChild(this.#cell.erased, factory, options).ref;
  }

  child<C>(name: string): ActorRef<C> | undefined {
    return (this.#cell.children.get(name) as Cell<C> | undefined)?.ref;
  }

  stop(ref?: ActorRef<never>): void {
    if (ref === undefined) return this.#cell.system({ type: "stop" });
    const child = this.#childOf(ref);
    if (child === undefined) {
      throw new ActorContextError(
        "E_NOT_A_CHILD",
        `Cannot stop ${ref.address.path}: only children of ${this.#cell.path} or itself can be stopped here`,
      );
    }
    child.system({ type: "stop" });
  }

  watch(ref: ActorRef<never>, message?: M): void {
    const target = this.#localCell(ref, "watch");
    this.#cell.watching.set(target, message);
    target.system({ type: "watch", watcher: this.#cell.erased });
  }

  unwatch(ref: ActorRef<never>): void {
    const target = this.#localCell(ref, "unwatch");
    this.#cell.watching.delete(target);
    target.system({ type: "unwatch", watcher: this.#cell.erased });
  }

  refFor<T>(address: Address): ActorRef<T> {
    return this.#cell.host.refFor(address);
  }

  ask<Q, R>(
    target: ActorRef<Q>,
    build: (replyTo: ActorRef<R>) => Q,
    adapt: (result: Settled<R>) => M,
    options?: AskOptions,
  ): void {
    this.#cell.host.askInternal(
      target,
      build,
      options?.timeoutMs,
      (result) => this.#deliver(adapt, result),
    );
  }

  pipeToSelf<T>(promise: Promise<T>, adapt: (result: Settled<T>) => M): void {
    this.#cell.host.env.executor.settleExternal(promise, (result) => this.#deliver(adapt, result));
  }

  subscribe(topic: string): void {
    if (this.#cell.topics.has(topic)) return;
    this.#cell.topics.add(topic);
    this.#cell.host.subscribe(topic, this.#cell.erased);
  }

  unsubscribe(topic: string): void {
    if (!this.#cell.topics.delete(topic)) return;
    this.#cell.host.unsubscribe(topic, this.#cell.erased);
  }

  publish(topic: string, message: unknown, options?: PublishOptions): void {
    this.#cell.host.publish(topic, message, this.#cell.ref as ActorRef<never>, options?.echo);
  }

  buggify(name: string, subject?: string): boolean {
    return this.#cell.host.env.faults.buggify(name, subject);
  }

  /** Maps an outside result to a message for this actor; a throwing mapper fails the actor. */
  #deliver<T>(adapt: (result: Settled<T>) => M, result: Settled<T>): void {
    let message: M;
    try {
      message = adapt(result);
    } catch (error) {
      return this.#cell.system({ type: "fail", error });
    }
    this.#cell.tell(message, undefined);
  }

  #childOf(ref: ActorRef<never>): Cell<never> | undefined {
    const child = this.#cell.children.get(ref.address.path.slice(this.#cell.path.length + 1));
    return child !== undefined && child.path === ref.address.path ? child : undefined;
  }

  #localCell(ref: ActorRef<never>, operation: string): Cell<never> {
    const cell = (ref as { cell?: Cell<never> }).cell;
    if (cell === undefined) {
      throw new ActorContextError(
        "E_WATCH_REMOTE",
        `Cannot ${operation} ${ref.address.node}${ref.address.path}: only local actors can be watched`,
      );
    }
    return cell;
  }
}

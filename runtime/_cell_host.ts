/**
 * What a cell needs from the actor system that hosts it. The system
 * implements this; keeping it an interface keeps cells free of the system's
 * public surface and avoids an import cycle.
 *
 * @module
 */

import type { ActorRef, BehaviorFactory, SpawnOptions } from "./actor.ts";
import type { Env, Settled } from "./env.ts";
import type { DeadLetterReason, EventStream } from "./events.ts";
import type { Address } from "./transport/transport.ts";
import type { Cell } from "./_cell.ts";
import type { LogSink } from "./log.ts";

/** The actor system, as seen from inside a cell. */
export interface CellHost {
  readonly nodeId: string;
  readonly env: Env;
  readonly events: EventStream;
  readonly log: LogSink;
  /** The reference object of a local cell. */
  localRef<M>(cell: Cell<M>): ActorRef<M>;
  /** A reference to any address. */
  refFor<M>(address: Address): ActorRef<M>;
  /** Reports an undeliverable message. */
  deadLetter(
    recipient: string,
    sender: ActorRef<never> | undefined,
    message: unknown,
    reason: DeadLetterReason,
  ): void;
  /** Creates a child cell of `parent` and starts it. */
  spawnChild<C>(
    parent: Cell<never>,
    factory: BehaviorFactory<C>,
    options: SpawnOptions | undefined,
  ): Cell<C>;
  /** Removes a stopping cell from its parent's names and from lookup. */
  detach(cell: Cell<never>): void;
  /** Final bookkeeping once a cell stopped. */
  terminated(cell: Cell<never>): void;
  /** Adds `cell` to the local subscribers of `topic`. */
  subscribe(topic: string, cell: Cell<never>): void;
  /** Removes `cell` from the local subscribers of `topic`. */
  unsubscribe(topic: string, cell: Cell<never>): void;
  /** Publishes to local subscribers (but `sender` when `echo` is false) and to other nodes. */
  publish(
    topic: string,
    message: unknown,
    sender: ActorRef<never> | undefined,
    echo?: boolean,
  ): void;
  /** Asks `target`, calling `onResult` exactly once with the reply or a timeout error. */
  askInternal<Q, R>(
    target: ActorRef<Q>,
    build: (replyTo: ActorRef<R>) => Q,
    timeoutMs: number | undefined,
    onResult: (result: Settled<R>) => void,
  ): void;
}

/**
 * The three kinds of actor reference: to a local cell, to an actor on
 * another node (through the transport), and to a pending ask.
 *
 * @module
 */

import type { ActorRef } from "./actor.ts";
import type { Address } from "./transport/transport.ts";
import type { Cell } from "./_cell.ts";

/** A reference to an actor of this node. */
export class LocalRef<M> implements ActorRef<M> {
  constructor(readonly cell: Cell<M>) {}

  get address(): Address {
    return this.cell.address;
  }

  tell(message: M, sender?: ActorRef<never>): boolean {
    return this.cell.tell(message, sender);
  }

  send(message: M, sender?: ActorRef<never>): Promise<boolean> {
    return this.cell.send(message, sender);
  }

  toString(): string {
    return `ActorRef(${this.cell.address.node}${this.cell.address.path})`;
  }
}

/** Sends through the transport; implemented by the actor system. */
export interface RemoteSender {
  sendRemote(address: Address, message: unknown, sender: ActorRef<never> | undefined): boolean;
}

/** A reference to an actor on another node. Delivery is best effort. */
export class RemoteRef<M> implements ActorRef<M> {
  constructor(readonly address: Address, readonly via: RemoteSender) {}

  tell(message: M, sender?: ActorRef<never>): boolean {
    return this.via.sendRemote(this.address, message, sender);
  }

  send(message: M, sender?: ActorRef<never>): Promise<boolean> {
    return Promise.resolve(this.tell(message, sender));
  }

  toString(): string {
    return `ActorRef(${this.address.node}${this.address.path})`;
  }
}

/** The temporary recipient of one ask; the first reply wins, later ones are dead letters. */
export class AskRef<R> implements ActorRef<R> {
  #pending = true;

  constructor(
    readonly address: Address,
    readonly onReply: (reply: R) => void,
    readonly onLate: (reply: R, sender: ActorRef<never> | undefined) => void,
  ) {}

  /** True until a reply arrived or the ask timed out. */
  get pending(): boolean {
    return this.#pending;
  }

  /** Closes the ask without a reply (timeout). */
  close(): void {
    this.#pending = false;
  }

  tell(reply: R, sender?: ActorRef<never>): boolean {
    if (!this.#pending) {
      this.onLate(reply, sender);
      return false;
    }
    this.#pending = false;
    this.onReply(reply);
    return true;
  }

  send(reply: R, sender?: ActorRef<never>): Promise<boolean> {
    return Promise.resolve(this.tell(reply, sender));
  }

  toString(): string {
    return `ActorRef(${this.address.node}${this.address.path})`;
  }
}

/** Whether two references name the same actor. */
export function sameActor(left: ActorRef<never>, right: ActorRef<never>): boolean {
  return left.address.node === right.address.node && left.address.path === right.address.path;
}

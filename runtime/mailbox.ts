/**
 * Bounded actor mailboxes with an explicit overflow policy.
 *
 * A mailbox has two lanes. The user lane holds at most `capacity` messages;
 * when it is full the overflow policy decides: `"drop-newest"` refuses the
 * message (the caller turns it into a dead letter), `"backpressure"` parks a
 * local sender that called `send()` until room frees up (a bounded number of
 * them; the rest are refused). The system lane (stop, restart, terminated)
 * is separate and never drops: its length is bounded by the number of
 * children and watchers, not by traffic.
 *
 * @module
 */

import { assert, SwarmError } from "./errors.ts";
import { RingQueue } from "./ring_queue.ts";

/** What a full mailbox does with a new message. */
export type OverflowPolicy = "drop-newest" | "backpressure";

/** Mailbox settings of an actor. */
export interface MailboxOptions {
  /** Maximum number of queued user messages. Default 10,000. */
  capacity?: number;
  /** Behaviour on overflow. Default `"drop-newest"`. */
  overflow?: OverflowPolicy;
  /**
   * Fraction of capacity at which a high-water event fires (re-armed when
   * the queue falls below half of it). Default 0.8.
   */
  highWaterFraction?: number;
}

/** Default user-lane capacity. */
export const MAILBOX_CAPACITY_DEFAULT = 10_000;

/** Raised for invalid mailbox settings. */
export class MailboxConfigError extends SwarmError {
  constructor(message: string) {
    super("E_MAILBOX_CONFIG", message);
  }
}

/** Resolved, validated mailbox settings. */
export interface MailboxSettings {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly highWaterMark: number;
}

/** Validates mailbox options and fills in defaults. */
export function mailboxSettings(options: MailboxOptions | undefined): MailboxSettings {
  const capacity = options?.capacity ?? MAILBOX_CAPACITY_DEFAULT;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new MailboxConfigError(`Mailbox capacity must be a positive integer, got ${capacity}`);
  }
  const overflow = options?.overflow ?? "drop-newest";
  if (overflow !== "drop-newest" && overflow !== "backpressure") {
    throw new MailboxConfigError(
      `Mailbox overflow must be "drop-newest" or "backpressure", got ${String(overflow)}`,
    );
  }
  const fraction = options?.highWaterFraction ?? 0.8;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new MailboxConfigError(`Mailbox highWaterFraction must be in (0, 1], got ${fraction}`);
  }
  return { capacity, overflow, highWaterMark: Math.max(1, Math.ceil(capacity * fraction)) };
}

interface Waiter<M> {
  message: M;
  sender: unknown;
  resolve: (accepted: boolean) => void;
}

/** The two-lane queue of one actor. Single consumer: the actor's cell. */
export class Mailbox<M, S> {
  readonly settings: MailboxSettings;
  /** Pairs of (message, sender) in FIFO order. */
  readonly #user = new RingQueue<unknown>(32);
  readonly #system = new RingQueue<S>(4);
  readonly #waiters = new RingQueue<Waiter<M>>(4);
  #userCount = 0;
  #highWater = 0;
  #aboveMark = false;
  /** Sender of the message most recently returned by {@linkcode pollUser}. */
  lastSender: unknown = undefined;
  /** Called when the user lane reaches the high-water mark (once per excursion). */
  onHighWater: ((size: number) => void) | undefined = undefined;

  constructor(settings: MailboxSettings) {
    this.settings = settings;
  }

  /** Queued user messages. */
  get userCount(): number {
    return this.#userCount;
  }

  /** Queued system messages. */
  get systemCount(): number {
    return this.#system.size;
  }

  /** Largest user-lane length ever observed. */
  get highWater(): number {
    return this.#highWater;
  }

  /** Senders parked by backpressure. */
  get waitingSenders(): number {
    return this.#waiters.size;
  }

  /**
   * Queues a user message if there is room and no parked sender ahead of it
   * (so per-sender order holds); returns false when it was refused.
   */
  offerUser(message: M, sender: unknown): boolean {
    if (this.#userCount >= this.settings.capacity || this.#waiters.size > 0) return false;
    this.#pushUser(message, sender);
    return true;
  }

  /**
   * Queues a user message, parking the caller while the mailbox is full when
   * the policy is backpressure. Resolves false when the message was refused.
   */
  sendUser(message: M, sender: unknown): Promise<boolean> {
    if (this.offerUser(message, sender)) return Promise.resolve(true);
    if (this.settings.overflow !== "backpressure" || this.#waiters.size >= this.settings.capacity) {
      return Promise.resolve(false);
    }
    return new Promise((resolve) => this.#waiters.push({ message, sender, resolve }));
  }

  /** Takes the oldest user message; its sender is left in {@linkcode lastSender}. */
  pollUser(): M | undefined {
    if (this.#userCount === 0) return undefined;
    const message = this.#user.shift() as M;
    this.lastSender = this.#user.shift();
    this.#userCount--;
    if (this.#aboveMark && this.#userCount < this.settings.highWaterMark / 2) {
      this.#aboveMark = false;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#pushUser(waiter.message, waiter.sender);
      waiter.resolve(true);
    }
    return message;
  }

  /** Queues a system message; never refused. */
  pushSystem(message: S): void {
    this.#system.push(message);
  }

  /** Takes the oldest system message. */
  pollSystem(): S | undefined {
    return this.#system.shift();
  }

  /** Removes every user message and refuses every parked sender; returns the messages with senders. */
  drainUser(): { message: M; sender: unknown }[] {
    const waiters = this.#waiters.drain();
    const drained: { message: M; sender: unknown }[] = [];
    while (this.#userCount > 0) {
      const message = this.pollUser() as M;
      drained.push({ message, sender: this.lastSender });
    }
    for (const waiter of waiters) {
      drained.push({ message: waiter.message, sender: waiter.sender });
      waiter.resolve(false);
    }
    return drained;
  }

  #pushUser(message: M, sender: unknown): void {
    assert(this.#userCount < this.settings.capacity, "Mailbox overfilled past its capacity");
    this.#user.push(message);
    this.#user.push(sender);
    this.#userCount++;
    if (this.#userCount > this.#highWater) this.#highWater = this.#userCount;
    if (!this.#aboveMark && this.#userCount >= this.settings.highWaterMark) {
      this.#aboveMark = true;
      this.onHighWater?.(this.#userCount);
    }
  }
}

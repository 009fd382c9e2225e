/**
 * Observable events of an actor system: dead letters, failures, supervision
 * decisions, mailbox high-water marks, lifecycle. Operators subscribe to
 * them for logs and metrics; tests subscribe to assert behaviour.
 *
 * @module
 */

/** Why a message could not be delivered. */
export type DeadLetterReason =
  | "mailbox-full"
  | "recipient-stopped"
  | "no-such-actor"
  | "undeliverable";

/** Every event an actor system emits. `path` names the actor concerned. */
export type SystemEvent =
  | { type: "actor-started"; path: string }
  | { type: "actor-stopped"; path: string }
  | { type: "actor-failed"; path: string; error: string; code: string }
  | {
    type: "actor-restarted";
    path: string;
    supervisor: string;
    restartCount: number;
    backoffMs: number;
  }
  | { type: "actor-resumed"; path: string; supervisor: string }
  | { type: "failure-escalated"; path: string; child: string; error: string }
  | {
    type: "supervisor-gave-up";
    path: string;
    child: string;
    restarts: number;
    withinMs: number;
    error: string;
  }
  | {
    type: "dead-letter";
    recipient: string;
    sender: string | undefined;
    reason: DeadLetterReason;
    message: unknown;
  }
  | { type: "mailbox-high-water"; path: string; size: number; capacity: number }
  | { type: "timer-dropped"; path: string }
  | { type: "hook-failed"; path: string; hook: string; error: string };

/** A subscriber to system events. It must not throw; a throwing listener is unsubscribed. */
export type EventListener = (event: SystemEvent) => void;

/** Fan-out of system events to listeners, with per-type counters. */
export class EventStream {
  readonly #listeners = new Set<EventListener>();
  readonly #counts = new Map<SystemEvent["type"], number>();
  #listenerFailures = 0;

  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Delivers an event to every listener and counts it. */
  emit(event: SystemEvent): void {
    this.#counts.set(event.type, (this.#counts.get(event.type) ?? 0) + 1);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener that throws would otherwise break the actor that emitted
        // the event; remove it so the fault is bounded to the observer.
        this.#listeners.delete(listener);
      }
    }
  }

  /** How many events of a type were emitted since the system started. */
  count(type: SystemEvent["type"]): number {
    return this.#counts.get(type) ?? 0;
  }

  /** Listeners removed because they threw. */
  get listenerFailures(): number {
    return this.#listenerFailures;
  }

  /** All counters, for metrics export. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}

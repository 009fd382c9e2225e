/**
 * The ledger's memory of which operations belong to which NEED, and when
 * each NEED's operations can no longer be derived again (private to the
 * ledger). A NEED's scope ends at the latest `untilMs` any of its
 * operations named; the ledger asks for the NEEDs whose scope has ended, in
 * time order, to forget them.
 *
 * @module
 */

import { EventQueue, type QueuedEvent } from "../../runtime/time_queue.ts";
import type { LedgerScope } from "./ledger_types.ts";

interface Scope {
  untilMs: number;
  readonly opIds: string[];
}

interface Due extends QueuedEvent {
  readonly needId: string;
  readonly untilMs: number;
}

/** Operation ids by NEED, with the time each NEED's scope ends. */
export class LedgerScopes {
  readonly #scopes = new Map<string, Scope>();
  readonly #due = new EventQueue<Due>();
  #sequence = 0;

  /** Files an applied operation under its NEED; a later `untilMs` extends the scope. */
  add(opId: string, scope: LedgerScope): void {
    const known = this.#scopes.get(scope.needId);
    if (known === undefined) {
      this.#scopes.set(scope.needId, { untilMs: scope.untilMs, opIds: [opId] });
      this.#queue(scope.needId, scope.untilMs);
      return;
    }
    known.opIds.push(opId);
    if (scope.untilMs > known.untilMs) this.extend(scope.needId, scope.untilMs);
  }

  /** Moves the end of a NEED's scope to `untilMs`. */
  extend(needId: string, untilMs: number): void {
    const known = this.#scopes.get(needId);
    if (known === undefined) return;
    known.untilMs = untilMs;
    this.#queue(needId, untilMs);
  }

  /**
   * The next NEED whose scope ended at or before `nowMs`, with its operation
   * ids, or undefined. It stays filed until {@linkcode LedgerScopes.drop}
   * (or {@linkcode LedgerScopes.extend}).
   */
  nextDue(
    nowMs: number,
  ): { readonly needId: string; readonly opIds: readonly string[] } | undefined {
    for (
      let due = this.#due.peek();
      due !== undefined && due.untilMs <= nowMs;
      due = this.#due.peek()
    ) {
      this.#due.pop();
      const scope = this.#scopes.get(due.needId);
      // A scope that was extended meanwhile has a later entry in the queue.
      if (scope !== undefined && scope.untilMs === due.untilMs) {
        return { needId: due.needId, opIds: scope.opIds };
      }
    }
    return undefined;
  }

  /** Every scope: its NEED, its end and its operation ids. */
  *entries(): Generator<
    { readonly needId: string; readonly untilMs: number; readonly opIds: readonly string[] }
  > {
    for (const [needId, scope] of this.#scopes) {
      yield { needId, untilMs: scope.untilMs, opIds: scope.opIds };
    }
  }

  /** Forgets a NEED's scope. */
  drop(needId: string): void {
    this.#scopes.delete(needId);
  }

  #queue(needId: string, untilMs: number): void {
    this.#due.push({
      timeNs: BigInt(Math.ceil(untilMs)),
      sequence: this.#sequence++,
      needId,
      untilMs,
    });
  }
}

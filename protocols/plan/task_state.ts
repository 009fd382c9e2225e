/**
 * The state register of one task: a CRDT that turns any set of STATE ops,
 * delivered in any order, into the same state.
 *
 * Rule: let R be the greatest reopen op (YIELD / RELEASE / INVALIDATE) by
 * (epoch, lamport, actor, index). The state is the highest forward state
 * among the forward ops ordered after R, or DRAFT when there is none. So
 * between reopens the state only climbs DRAFT → … → FINAL, and it goes back
 * only when a reopen op that orders after everything before it arrives. A
 * forward op concurrent with a later-ordered reopen (say a CLAIM racing a
 * lease RELEASE) is superseded on every replica alike.
 *
 * @module
 */

import {
  compareStateOps,
  type ReopenTransition,
  type StateOp,
  stateRank,
  TASK_STATES,
  type TaskState,
} from "./op.ts";

/** The forward states a reopen transition may leave, for local authoring checks. */
export const REOPEN_FROM: Readonly<Record<ReopenTransition, readonly TaskState[]>> = {
  YIELD: ["CLAIMED"],
  RELEASE: ["CLAIMED"],
  INVALIDATE: ["COMMITTED", "VERIFIED"],
};

/** Per-task state fold; see the module documentation. */
export class TaskStateRegister {
  #reopen: StateOp | null = null;
  #forwards: StateOp[] = [];
  #rank = 0;

  /** The current state. */
  get state(): TaskState {
    return TASK_STATES[this.#rank];
  }

  /** The reopen op that currently bounds the state, if any. */
  get lastReopen(): StateOp | null {
    return this.#reopen;
  }

  /** The greatest STATE op this register holds, reopen or forward, if any. */
  get latest(): StateOp | null {
    let latest = this.#reopen;
    for (const op of this.#forwards) {
      if (latest === null || compareStateOps(op, latest) > 0) latest = op;
    }
    return latest;
  }

  /** Folds one STATE op in; returns true when the state changed. */
  apply(op: StateOp): boolean {
    const before = this.#rank;
    if (op.transition !== null) {
      if (this.#reopen === null || compareStateOps(op, this.#reopen) > 0) {
        this.#reopen = op;
        // Forward ops ordered before the bound can never count again: drop them.
        this.#forwards = this.#forwards.filter((forward) => compareStateOps(forward, op) > 0);
        this.#rank = this.#rankAfter(op);
      }
    } else {
      if (!this.#after(op)) return false;
      this.#forwards.push(op);
      if (stateRank(op.state) > this.#rank) this.#rank = stateRank(op.state);
    }
    return this.#rank !== before;
  }

  /** True when a forward op counts under the current reopen bound. */
  #after(op: StateOp): boolean {
    return this.#reopen === null || compareStateOps(op, this.#reopen) > 0;
  }

  #rankAfter(reopen: StateOp): number {
    let rank = 0;
    for (const op of this.#forwards) {
      if (compareStateOps(op, reopen) > 0 && stateRank(op.state) > rank) rank = stateRank(op.state);
    }
    return rank;
  }
}

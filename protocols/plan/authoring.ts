/**
 * The rules for ops authored on this replica (as opposed to facts merged
 * from peers, which only go through the order-independent folds): tasks
 * must exist before they are referred to, an ADD_TASK may not reuse an id,
 * a LINK may not close a cycle, and a STATE op must be a legal transition
 * that orders after the task's latest state op. A batch (a PROPOSE patch)
 * is checked op by op against the views plus the ops before it.
 *
 * @module
 */

import {
  PlanCycleError,
  PlanTaskExistsError,
  PlanTransitionError,
  PlanUnknownTaskError,
} from "./errors.ts";
import {
  compareStateOps,
  type PlanOp,
  planOpId,
  type StateOp,
  stateRank,
  type TaskState,
} from "./op.ts";
import type { PlanViews } from "./plan_views.ts";
import { REOPEN_FROM } from "./task_state.ts";

/** What a batch being authored adds before it is written. */
export class AuthoringBatch {
  readonly tasks = new Set<string>();
  readonly links = new Map<string, string[]>();
  readonly states = new Map<string, StateOp>();

  /** Records an op of the batch once it passed its checks. */
  add(op: PlanOp): void {
    if (op.kind === "ADD_TASK") this.tasks.add(op.task);
    else if (op.kind === "LINK") {
      const children = this.links.get(op.from);
      if (children === undefined) this.links.set(op.from, [op.to]);
      else children.push(op.to);
    } else if (op.kind === "STATE") this.states.set(op.task, op);
  }
}

/**
 * Throws the typed error of the first rule `op` breaks against `views`
 * plus the earlier ops of its `batch`.
 */
export function checkAuthoring(op: PlanOp, views: PlanViews, batch: AuthoringBatch): void {
  const id = planOpId(op);
  const known = (task: string) => views.tasks.has(task) || batch.tasks.has(task);
  switch (op.kind) {
    case "ADD_TASK":
      if (known(op.task)) throw new PlanTaskExistsError(op.task);
      return;
    case "LINK": {
      for (const task of [op.from, op.to]) {
        if (!known(task)) throw new PlanUnknownTaskError(task, id);
      }
      const cycle = views.graph.cycleThrough(op.from, op.to, batch.links);
      if (cycle !== undefined) throw new PlanCycleError(op.from, op.to, cycle);
      return;
    }
    default:
      if (!known(op.task)) throw new PlanUnknownTaskError(op.task, id);
      if (op.kind === "STATE") checkTransition(op, views, batch);
  }
}

function checkTransition(op: StateOp, views: PlanViews, batch: AuthoringBatch): void {
  const register = views.tasks.register(op.task);
  const current: TaskState = batch.states.get(op.task)?.state ?? register?.state ?? "DRAFT";
  const latest = batch.states.get(op.task) ?? register?.latest ?? null;
  const name = JSON.stringify(op.task);
  if (latest !== null && compareStateOps(op, latest) <= 0) {
    throw new PlanTransitionError(
      `Cannot move task ${name} to ${op.state}: op ${
        planOpId(op)
      } (epoch ${op.epoch}) orders before the task's latest state op ${planOpId(latest)}`,
    );
  }
  if (op.transition !== null) {
    if (!REOPEN_FROM[op.transition].includes(current)) {
      throw new PlanTransitionError(
        `Cannot ${op.transition} task ${name}: it is ${current}, and ${op.transition} reopens only from ${
          REOPEN_FROM[op.transition].join(" or ")
        }`,
      );
    }
  } else if (stateRank(op.state) <= stateRank(current)) {
    throw new PlanTransitionError(
      `Cannot move task ${name} from ${current} to ${op.state}: states only move forward (reopen with YIELD, RELEASE or INVALIDATE)`,
    );
  }
}

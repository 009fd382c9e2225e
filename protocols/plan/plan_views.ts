/**
 * The derived views of a plan replica, fed op by op: the task graph first
 * (a LINK may be rejected or may reshuffle edges), then the task index,
 * told which tasks' parents changed.
 *
 * @module
 */

import { GraphView } from "./graph_view.ts";
import type { PlanOp, TaskState } from "./op.ts";
import { TASK_STATES } from "./op.ts";
import { type TaskSnapshot, TaskView } from "./task_view.ts";

/** A canonical, comparable picture of both views. */
export interface PlanViewSnapshot {
  readonly tasks: readonly TaskSnapshot[];
  readonly edges: readonly (readonly [string, string])[];
  readonly rejectedLinks: readonly string[];
  readonly ready: readonly string[];
  readonly byState: Readonly<Record<TaskState, readonly string[]>>;
}

/** GraphView and TaskView kept in step. */
export class PlanViews {
  readonly graph = new GraphView();
  readonly tasks = new TaskView(this.graph);

  /** Folds one op into both views. */
  apply(op: PlanOp): void {
    if (op.kind !== "LINK") return this.tasks.apply(op);
    const outcome = this.graph.apply(op);
    this.tasks.apply(op, outcome.touched);
  }

  /** Both views as plain sorted data; equal snapshots mean equal views. */
  snapshot(): PlanViewSnapshot {
    const byState = {} as Record<TaskState, string[]>;
    for (const state of TASK_STATES) byState[state] = this.tasks.byState(state);
    return {
      tasks: this.tasks.ids().map((id) => this.tasks.get(id)!),
      edges: this.graph.edges(),
      rejectedLinks: this.graph.rejectedLinks(),
      ready: this.tasks.ready(),
      byState,
    };
  }
}

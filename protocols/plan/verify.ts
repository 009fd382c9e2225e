/**
 * Compares two plan replicas (say, a store and the store rebuilt from its
 * JSONL export) by what matters to agents: task counts per thread, each
 * task's state, title, inputs and outputs, its annotations, and the edges.
 *
 * @module
 */

import type { AnnotationValue } from "./op.ts";
import type { PlanViewSnapshot } from "./plan_views.ts";
import type { TaskSnapshot } from "./task_view.ts";

/** One difference between two replicas. */
export interface PlanDifference {
  /** What differs. */
  readonly kind:
    | "task-count"
    | "task-missing"
    | "state"
    | "title"
    | "requires"
    | "produces"
    | "annotation"
    | "edge";
  /** The thread, task, `task.key` or `from -> to` concerned. */
  readonly subject: string;
  /** The left replica's value (undefined: absent). */
  readonly left: unknown;
  /** The right replica's value (undefined: absent). */
  readonly right: unknown;
}

/** Restricts a snapshot to one thread's tasks and the edges that touch them. */
export function snapshotOfThread(snapshot: PlanViewSnapshot, thread: string): PlanViewSnapshot {
  const tasks = snapshot.tasks.filter((task) => task.thread === thread);
  const ids = new Set(tasks.map((task) => task.id));
  const keep = (list: readonly string[]) => list.filter((id) => ids.has(id));
  const byState = Object.fromEntries(
    Object.entries(snapshot.byState).map(([state, list]) => [state, keep(list)]),
  ) as unknown as PlanViewSnapshot["byState"];
  return {
    tasks,
    edges: snapshot.edges.filter(([from, to]) => ids.has(from) || ids.has(to)),
    rejectedLinks: snapshot.rejectedLinks,
    ready: keep(snapshot.ready),
    byState,
  };
}

function countByThread(tasks: readonly TaskSnapshot[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.thread, (counts.get(task.thread) ?? 0) + 1);
  return counts;
}

function sameList(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((item, index) => item === right[index]);
}

function compareTask(left: TaskSnapshot, right: TaskSnapshot, out: PlanDifference[]): void {
  const id = left.id;
  if (left.state !== right.state) {
    out.push({ kind: "state", subject: id, left: left.state, right: right.state });
  }
  if (left.title !== right.title) {
    out.push({ kind: "title", subject: id, left: left.title, right: right.title });
  }
  for (const kind of ["requires", "produces"] as const) {
    if (!sameList(left[kind], right[kind])) {
      out.push({ kind, subject: id, left: left[kind], right: right[kind] });
    }
  }
  const keys = new Set([...Object.keys(left.annotations), ...Object.keys(right.annotations)]);
  for (const key of [...keys].sort()) {
    const leftValue: AnnotationValue | undefined = left.annotations[key];
    const rightValue: AnnotationValue | undefined = right.annotations[key];
    if (leftValue !== rightValue) {
      out.push({ kind: "annotation", subject: `${id}.${key}`, left: leftValue, right: rightValue });
    }
  }
}

/** Every difference between two snapshots, in a stable order; empty when they agree. */
export function diffPlans(left: PlanViewSnapshot, right: PlanViewSnapshot): PlanDifference[] {
  const out: PlanDifference[] = [];
  const leftCounts = countByThread(left.tasks);
  const rightCounts = countByThread(right.tasks);
  for (const thread of [...new Set([...leftCounts.keys(), ...rightCounts.keys()])].sort()) {
    const leftCount = leftCounts.get(thread) ?? 0;
    const rightCount = rightCounts.get(thread) ?? 0;
    if (leftCount !== rightCount) {
      out.push({ kind: "task-count", subject: thread, left: leftCount, right: rightCount });
    }
  }
  const rightTasks = new Map(right.tasks.map((task) => [task.id, task]));
  const leftIds = new Set(left.tasks.map((task) => task.id));
  for (const task of left.tasks) {
    const other = rightTasks.get(task.id);
    if (other === undefined) {
      out.push({ kind: "task-missing", subject: task.id, left: task.state, right: undefined });
    } else compareTask(task, other, out);
  }
  for (const task of right.tasks) {
    if (!leftIds.has(task.id)) {
      out.push({ kind: "task-missing", subject: task.id, left: undefined, right: task.state });
    }
  }
  const leftEdges = new Set(left.edges.map(([from, to]) => `${from} -> ${to}`));
  const rightEdges = new Set(right.edges.map(([from, to]) => `${from} -> ${to}`));
  for (const edge of [...new Set([...leftEdges, ...rightEdges])].sort()) {
    if (leftEdges.has(edge) !== rightEdges.has(edge)) {
      out.push({
        kind: "edge",
        subject: edge,
        left: leftEdges.has(edge) || undefined,
        right: rightEdges.has(edge) || undefined,
      });
    }
  }
  return out;
}

function show(value: unknown): string {
  return value === undefined ? "(absent)" : JSON.stringify(value);
}

/** Renders differences as a report, one line each, with a closing count. */
export function renderDiffReport(
  differences: readonly PlanDifference[],
  labels: { left: string; right: string } = { left: "left", right: "right" },
): string {
  const lines = differences.map((difference) =>
    `${difference.kind.padEnd(12)} ${difference.subject}: ${labels.left}=${
      show(difference.left)
    } ${labels.right}=${show(difference.right)}`
  );
  lines.push(
    differences.length === 0
      ? "plans agree: no differences"
      : `${differences.length} difference${differences.length === 1 ? "" : "s"}`,
  );
  return lines.join("\n");
}

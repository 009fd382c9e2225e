/**
 * TaskView: tasks by id, by state and by thread, and the ready set (DRAFT
 * tasks whose every parent is FINAL), updated op by op.
 *
 * Every field is an order-independent fold of the ops, so replicas that hold
 * the same ops hold the same view: tasks and their REQUIRES / PRODUCES keys
 * are grow-only sets, the title comes from the first ADD_TASK in op order,
 * annotations are last-writer-wins registers by (lamport, actor, index), and
 * the state is a {@linkcode TaskStateRegister}. Ops about a task whose
 * ADD_TASK has not arrived yet are kept and count once it does.
 *
 * @module
 */

import type { GraphView } from "./graph_view.ts";
import {
  type AnnotationValue,
  compareOps,
  type PlanOp,
  type PlanOpHeader,
  planOpId,
  type TaskState,
} from "./op.ts";
import { TaskStateRegister } from "./task_state.ts";

/** One annotation with the op that wrote it. */
export interface AnnotationEntry {
  readonly value: AnnotationValue;
  readonly lamport: number;
  readonly actor: string;
  readonly op: string;
}

/** A task as the view sees it; plain data, safe to hand out. */
export interface TaskSnapshot {
  readonly id: string;
  readonly thread: string;
  readonly title: string;
  readonly state: TaskState;
  readonly requires: readonly string[];
  readonly produces: readonly string[];
  readonly annotations: Readonly<Record<string, AnnotationValue>>;
  /** Id of the ADD_TASK op that defined it. */
  readonly addedBy: string;
}

interface TaskRecord {
  readonly id: string;
  added: (PlanOpHeader & { title: string }) | undefined;
  readonly register: TaskStateRegister;
  readonly requires: Set<string>;
  readonly produces: Set<string>;
  readonly annotations: Map<string, AnnotationEntry & PlanOpHeader>;
}

/** Tasks of the plan, indexed for the questions agents ask. */
export class TaskView {
  readonly #graph: GraphView;
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #byState = new Map<TaskState, Set<string>>();
  readonly #byThread = new Map<string, Set<string>>();
  readonly #ready = new Set<string>();
  #count = 0;

  constructor(graph: GraphView) {
    this.#graph = graph;
  }

  /** Number of tasks (with an ADD_TASK). */
  get count(): number {
    return this.#count;
  }

  /** True when the task exists. */
  has(task: string): boolean {
    return this.#tasks.get(task)?.added !== undefined;
  }

  /** The task, or undefined when no ADD_TASK for it is known. */
  get(task: string): TaskSnapshot | undefined {
    const record = this.#tasks.get(task);
    return record?.added === undefined ? undefined : snapshotOf(record);
  }

  /** The state register of a known task (for authoring checks). */
  register(task: string): TaskStateRegister | undefined {
    const record = this.#tasks.get(task);
    return record?.added === undefined ? undefined : record.register;
  }

  /** Ids of tasks in `state`, sorted. */
  byState(state: TaskState): string[] {
    return [...this.#byState.get(state) ?? []].sort();
  }

  /** Ids of the tasks of `thread`, sorted. */
  byThread(thread: string): string[] {
    return [...this.#byThread.get(thread) ?? []].sort();
  }

  /** Ids of DRAFT tasks with no unfinished blockers, sorted. */
  ready(): string[] {
    return [...this.#ready].sort();
  }

  /** Whether one task is ready. */
  isReady(task: string): boolean {
    return this.#ready.has(task);
  }

  /** Every known task id, sorted. */
  ids(): string[] {
    return [...this.#tasks.values()].filter((record) => record.added).map((record) => record.id)
      .sort();
  }

  /** Folds one op in. `touched` names tasks whose parents changed (from the graph). */
  apply(op: PlanOp, touched: readonly string[] = []): void {
    switch (op.kind) {
      case "ADD_TASK":
        this.#add(op.task, op);
        break;
      case "REQUIRES":
        this.#record(op.task).requires.add(op.key);
        break;
      case "PRODUCES":
        this.#record(op.task).produces.add(op.key);
        break;
      case "ANNOTATE":
        this.#annotate(op.task, op.key, op);
        break;
      case "STATE":
        this.#setState(op.task, () => this.#record(op.task).register.apply(op));
        break;
      case "LINK":
        break;
    }
    for (const task of touched) this.#refreshReady(task);
  }

  /** Re-evaluates readiness of the given tasks (after a graph rebuild). */
  refresh(tasks: Iterable<string>): void {
    for (const task of tasks) this.#refreshReady(task);
  }

  #record(task: string): TaskRecord {
    let record = this.#tasks.get(task);
    if (record === undefined) {
      record = {
        id: task,
        added: undefined,
        register: new TaskStateRegister(),
        requires: new Set(),
        produces: new Set(),
        annotations: new Map(),
      };
      this.#tasks.set(task, record);
    }
    return record;
  }

  #add(task: string, op: PlanOp & { title: string }): void {
    const record = this.#record(task);
    if (record.added !== undefined) {
      if (compareOps(op, record.added) < 0) this.#move(record, () => (record.added = op));
      return;
    }
    record.added = op;
    this.#count++;
    this.#index(record);
    this.#refreshReady(task);
    // Children linked before this ADD_TASK arrived (from another thread, say) were waiting on it.
    for (const child of this.#graph.children(task)) this.#refreshReady(child);
  }

  #annotate(task: string, key: string, op: PlanOp & { value: AnnotationValue }): void {
    const annotations = this.#record(task).annotations;
    const current = annotations.get(key);
    if (current !== undefined && compareOps(op, current) <= 0) return;
    annotations.set(key, {
      value: op.value,
      lamport: op.lamport,
      actor: op.actor,
      index: op.index,
      thread: op.thread,
      op: planOpId(op),
    });
  }

  #setState(task: string, change: () => boolean): void {
    const record = this.#record(task);
    if (record.added === undefined) {
      change();
      return;
    }
    this.#move(record, change);
    this.#refreshReady(task);
    for (const child of this.#graph.children(task)) this.#refreshReady(child);
  }

  /** Applies a change to an indexed record, re-indexing it around the change. */
  #move(record: TaskRecord, change: () => unknown): void {
    this.#unindex(record);
    change();
    this.#index(record);
  }

  #index(record: TaskRecord): void {
    addTo(this.#byState, record.register.state, record.id);
    addTo(this.#byThread, record.added!.thread, record.id);
  }

  #unindex(record: TaskRecord): void {
    removeFrom(this.#byState, record.register.state, record.id);
    removeFrom(this.#byThread, record.added!.thread, record.id);
  }

  #refreshReady(task: string): void {
    const record = this.#tasks.get(task);
    let ready = record?.added !== undefined && record.register.state === "DRAFT";
    if (ready) {
      for (const parent of this.#graph.parentSet(task)) {
        const blocker = this.#tasks.get(parent);
        if (blocker?.added === undefined || blocker.register.state !== "FINAL") {
          ready = false;
          break;
        }
      }
    }
    if (ready) this.#ready.add(task);
    else this.#ready.delete(task);
  }
}

function addTo<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  let ids = index.get(key);
  if (ids === undefined) index.set(key, ids = new Set());
  ids.add(id);
}

function removeFrom<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  const ids = index.get(key);
  if (ids === undefined) return;
  ids.delete(id);
  if (ids.size === 0) index.delete(key);
}

function snapshotOf(record: TaskRecord): TaskSnapshot {
  const added = record.added!;
  const annotations: Record<string, AnnotationValue> = {};
  for (const key of [...record.annotations.keys()].sort()) {
    annotations[key] = record.annotations.get(key)!.value;
  }
  return {
    id: record.id,
    thread: added.thread,
    title: added.title,
    state: record.register.state,
    requires: [...record.requires].sort(),
    produces: [...record.produces].sort(),
    annotations,
    addedBy: planOpId(added),
  };
}

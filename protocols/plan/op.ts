/**
 * Plan ops: the typed facts a plan is made of (DESIGN.md §5). PROPOSE
 * patches carry them, later protocol events (CLAIM, YIELD, COMMIT, …) add
 * STATE ops, and every replica derives the same task graph from the same set
 * of ops, whatever order they arrived in.
 *
 * An op is identified by `(lamport, index, actor)`: the author's Lamport
 * clock, the op's position within the author's patch, and the author. The
 * same op appended twice (a retried PROPOSE, or two replicas applying one
 * envelope) is therefore one op.
 *
 * @module
 */

import { TASK_STATES } from "../lifecycle/state.ts";
import { PlanOpInvalidError } from "./errors.ts";

/** The verbs of the plan op-log. */
export const PLAN_OP_KINDS = [
  "ADD_TASK",
  "REQUIRES",
  "PRODUCES",
  "STATE",
  "LINK",
  "ANNOTATE",
] as const;

/** One of {@linkcode PLAN_OP_KINDS}. */
export type PlanOpKind = typeof PLAN_OP_KINDS[number];

/** Task states, in their forward order (DESIGN.md §5): the lifecycle's. */
export { TASK_STATES };

/** One of {@linkcode TASK_STATES}. */
export type TaskState = typeof TASK_STATES[number];

/** The transitions that send a task back to DRAFT. */
export const REOPEN_TRANSITIONS = ["YIELD", "RELEASE", "INVALIDATE"] as const;

/** One of {@linkcode REOPEN_TRANSITIONS}. */
export type ReopenTransition = typeof REOPEN_TRANSITIONS[number];

/** What an annotation may hold. */
export type AnnotationValue = string | number | boolean | null;

/** Bounds of an op's fields; anything larger is refused. */
export const PLAN_OP_LIMITS = {
  idLengthMax: 256,
  titleLengthMax: 1024,
  annotationLengthMax: 4096,
  indexMax: 65_535,
} as const;

/** Fields every op carries. */
export interface PlanOpHeader {
  /** Thread (conversation) the op belongs to; one Automerge document per thread. */
  readonly thread: string;
  /** Author, e.g. a `did:key`; breaks ties between equal Lamport times. */
  readonly actor: string;
  /** The author's Lamport time, > 0. */
  readonly lamport: number;
  /** Position of the op within the author's patch at this Lamport time. */
  readonly index: number;
}

/** Adds a task to the plan (grow-only). */
export interface AddTaskOp extends PlanOpHeader {
  readonly kind: "ADD_TASK";
  readonly task: string;
  readonly title: string;
}

/** Declares an input a task needs, or an output it yields (grow-only). */
export interface RequiresOrProducesOp extends PlanOpHeader {
  readonly kind: "REQUIRES" | "PRODUCES";
  readonly task: string;
  readonly key: string;
}

/** Moves a task forward, or back to DRAFT through a reopen transition. */
export interface StateOp extends PlanOpHeader {
  readonly kind: "STATE";
  readonly task: string;
  readonly state: TaskState;
  /** Fencing epoch; orders reopens and forward moves before Lamport time does. */
  readonly epoch: number;
  /** Set exactly when `state` is DRAFT: the reason the task reopened. */
  readonly transition: ReopenTransition | null;
}

/** A dependency: `to` cannot start before `from` is FINAL (grow-only, acyclic). */
export interface LinkOp extends PlanOpHeader {
  readonly kind: "LINK";
  readonly from: string;
  readonly to: string;
}

/** Sets a named annotation of a task; the last writer by (lamport, actor) wins. */
export interface AnnotateOp extends PlanOpHeader {
  readonly kind: "ANNOTATE";
  readonly task: string;
  readonly key: string;
  readonly value: AnnotationValue;
}

/** Any plan op. */
export type PlanOp = AddTaskOp | RequiresOrProducesOp | StateOp | LinkOp | AnnotateOp;

/** An op as callers write it: `index`, `epoch`, `transition` and `title` may be left out. */
export type PlanOpInput = {
  readonly [K in keyof PlanOp]?: unknown;
};

/** The id of an op: `lamport/index/actor`. */
export function planOpId(op: PlanOpHeader): string {
  return `${op.lamport}/${op.index}/${op.actor}`;
}

/** Rank of a state in the forward order (DRAFT = 0 … FINAL = 5). */
export function stateRank(state: TaskState): number {
  return TASK_STATES.indexOf(state);
}

function compareStrings(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * The total order of ops: Lamport time, then author, then index, then
 * thread. Replays and every order-sensitive choice (first title, greedy
 * cycle rejection) use it, so all replicas choose alike.
 */
export function compareOps(left: PlanOpHeader, right: PlanOpHeader): number {
  return (left.lamport - right.lamport) || compareStrings(left.actor, right.actor) ||
    (left.index - right.index) || compareStrings(left.thread, right.thread);
}

/** The order of STATE ops: epoch first, then {@linkcode compareOps}. */
export function compareStateOps(left: StateOp, right: StateOp): number {
  return (left.epoch - right.epoch) || compareOps(left, right);
}

function fail(message: string): never {
  throw new PlanOpInvalidError(message);
}

function identifier(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== "string" || value.length === 0) {
    fail(`Plan op field ${field} must be a non-empty string, got ${describe(value)}`);
  }
  if (value.length > PLAN_OP_LIMITS.idLengthMax) {
    fail(`Plan op field ${field} must be at most ${PLAN_OP_LIMITS.idLengthMax} characters`);
  }
  return value;
}

function integer(record: Record<string, unknown>, field: string, min: number, max: number): number {
  const value = record[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(`Plan op field ${field} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

function header(record: Record<string, unknown>): PlanOpHeader {
  return {
    thread: identifier(record, "thread"),
    actor: identifier(record, "actor"),
    lamport: integer(record, "lamport", 1, Number.MAX_SAFE_INTEGER),
    index: record.index === undefined ? 0 : integer(record, "index", 0, PLAN_OP_LIMITS.indexMax),
  };
}

function choice<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  if (typeof value !== "string" || !choices.includes(value as T)) {
    fail(`Plan op field ${field} must be one of ${choices.join(", ")}, got ${describe(value)}`);
  }
  return value as T;
}

function stateOp(record: Record<string, unknown>, base: PlanOpHeader): StateOp {
  const state = choice(record.state, "state", TASK_STATES);
  const epoch = record.epoch === undefined
    ? 0
    : integer(record, "epoch", 0, Number.MAX_SAFE_INTEGER);
  const rawTransition = record.transition ?? null;
  const transition = rawTransition === null
    ? null
    : choice(rawTransition, "transition", REOPEN_TRANSITIONS);
  if ((state === "DRAFT") !== (transition !== null)) {
    fail(
      `Plan op STATE must name a transition exactly when its state is DRAFT, got state ${state} and transition ${transition}`,
    );
  }
  return { ...base, kind: "STATE", task: identifier(record, "task"), state, epoch, transition };
}

function annotationValue(value: unknown): AnnotationValue {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value === 0 ? 0 : value;
  if (typeof value === "string" && value.length <= PLAN_OP_LIMITS.annotationLengthMax) return value;
  return fail(
    `Plan op field value must be a string of at most ${PLAN_OP_LIMITS.annotationLengthMax} characters, a finite number, a boolean or null, got ${
      describe(value)
    }`,
  );
}

/**
 * Validates anything (caller input, a decoded JSON line, a peer's record)
 * into a {@linkcode PlanOp} with every optional field filled in, or throws
 * {@linkcode PlanOpInvalidError} naming the bad field.
 *
 * @example
 * ```ts
 * const op = parsePlanOp({ kind: "ADD_TASK", thread: "t", actor: "a", lamport: 1, task: "x", title: "X" });
 * ```
 */
export function parsePlanOp(value: unknown): PlanOp {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`Plan op must be an object, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const kind = choice(record.kind, "kind", PLAN_OP_KINDS);
  const base = header(record);
  switch (kind) {
    case "ADD_TASK": {
      const title = record.title ?? "";
      if (typeof title !== "string" || title.length > PLAN_OP_LIMITS.titleLengthMax) {
        fail(
          `Plan op field title must be a string of at most ${PLAN_OP_LIMITS.titleLengthMax} characters`,
        );
      }
      return { ...base, kind, task: identifier(record, "task"), title };
    }
    case "REQUIRES":
    case "PRODUCES":
      return { ...base, kind, task: identifier(record, "task"), key: identifier(record, "key") };
    case "STATE":
      return stateOp(record, base);
    case "LINK":
      return { ...base, kind, from: identifier(record, "from"), to: identifier(record, "to") };
    case "ANNOTATE":
      return {
        ...base,
        kind,
        task: identifier(record, "task"),
        key: identifier(record, "key"),
        value: annotationValue(record.value),
      };
  }
}

/** The task ids an op refers to. */
export function opTasks(op: PlanOp): string[] {
  return op.kind === "LINK" ? [op.from, op.to] : [op.task];
}

/**
 * Canonical JSON of an op: fixed key order, so the same op always encodes
 * to the same bytes (and two replicas writing it write the same value).
 */
export function encodePlanOp(op: PlanOp): string {
  const head = { kind: op.kind, thread: op.thread, actor: op.actor, lamport: op.lamport };
  switch (op.kind) {
    case "ADD_TASK":
      return JSON.stringify({ ...head, index: op.index, task: op.task, title: op.title });
    case "REQUIRES":
    case "PRODUCES":
      return JSON.stringify({ ...head, index: op.index, task: op.task, key: op.key });
    case "STATE":
      return JSON.stringify({
        ...head,
        index: op.index,
        task: op.task,
        state: op.state,
        epoch: op.epoch,
        transition: op.transition,
      });
    case "LINK":
      return JSON.stringify({ ...head, index: op.index, from: op.from, to: op.to });
    case "ANNOTATE":
      return JSON.stringify({
        ...head,
        index: op.index,
        task: op.task,
        key: op.key,
        value: op.value,
      });
  }
}

/** Decodes canonical JSON back into a validated op. */
export function decodePlanOp(text: string): PlanOp {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(`Plan op is not valid JSON: ${describe(text)}`);
  }
  return parsePlanOp(value);
}

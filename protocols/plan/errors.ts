/**
 * Typed errors of the plan store. Every code is stable; messages name the
 * offending value so an operator can act without reading the source.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** Base class of plan-store errors. */
export class PlanError extends SwarmError {}

/** A plan op that does not match the schema (`E_PLAN_OP_INVALID`). */
export class PlanOpInvalidError extends PlanError {
  constructor(message: string) {
    super("E_PLAN_OP_INVALID", message);
  }
}

/** A second, different op under an existing op id (`E_PLAN_OP_CONFLICT`). */
export class PlanOpConflictError extends PlanError {
  constructor(opId: string) {
    super("E_PLAN_OP_CONFLICT", `Cannot append op ${opId}: a different op has the same id`);
  }
}

/** An op that names a task this replica does not know (`E_PLAN_UNKNOWN_TASK`). */
export class PlanUnknownTaskError extends PlanError {
  constructor(task: string, opId: string) {
    super("E_PLAN_UNKNOWN_TASK", `Cannot append op ${opId}: unknown task ${JSON.stringify(task)}`);
  }
}

/** An ADD_TASK for a task id that already exists (`E_PLAN_TASK_EXISTS`). */
export class PlanTaskExistsError extends PlanError {
  constructor(task: string) {
    super("E_PLAN_TASK_EXISTS", `Cannot add task ${JSON.stringify(task)}: it already exists`);
  }
}

/** A STATE op that is not a legal transition from the current state (`E_PLAN_TRANSITION`). */
export class PlanTransitionError extends PlanError {
  constructor(message: string) {
    super("E_PLAN_TRANSITION", message);
  }
}

/** A LINK that would close a cycle in the task graph (`E_PLAN_CYCLE`). */
export class PlanCycleError extends PlanError {
  /** The tasks on the cycle the link would close, starting and ending at `from`. */
  readonly cycle: readonly string[];

  constructor(from: string, to: string, cycle: readonly string[]) {
    super(
      "E_PLAN_CYCLE",
      `Cannot link ${JSON.stringify(from)} -> ${JSON.stringify(to)}: it would close the cycle ${
        cycle.join(" -> ")
      }`,
    );
    this.cycle = cycle;
  }
}

/** A sync message over the size cap (`E_PLAN_SYNC_TOO_LARGE`). */
export class PlanSyncTooLargeError extends PlanError {
  constructor(bytes: number, bytesMax: number) {
    super(
      "E_PLAN_SYNC_TOO_LARGE",
      `Sync message of ${bytes} bytes exceeds the cap of ${bytesMax} bytes`,
    );
  }
}

/** A sync message, saved document or change that cannot be decoded or breaks the schema. */
export class PlanSyncInvalidError extends PlanError {
  constructor(message: string, options?: ErrorOptions) {
    super("E_PLAN_SYNC_INVALID", message, options);
  }
}

/** A thread id or thread count outside the store's bounds (`E_PLAN_THREAD`). */
export class PlanThreadError extends PlanError {
  constructor(message: string) {
    super("E_PLAN_THREAD", message);
  }
}

/** A line of a JSONL op-log that cannot be imported (`E_PLAN_IMPORT`). */
export class PlanImportError extends PlanError {
  /** 1-based line number of the bad line. */
  readonly line: number;

  constructor(line: number, message: string, options?: ErrorOptions) {
    super("E_PLAN_IMPORT", `Line ${line}: ${message}`, options);
    this.line = line;
  }
}

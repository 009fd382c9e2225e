/** Shared builders for plan-store tests. */

import { PlanStore } from "../../../protocols/plan/plan_store.ts";
import type { PlanPersistence } from "../../../protocols/plan/persistence.ts";

let actorSequence = 0;

/** A fresh in-memory (or persisted) store with a unique actor id. */
export function openStore(
  persistence?: PlanPersistence,
  compactEvery?: number,
): Promise<PlanStore> {
  actorSequence++;
  return PlanStore.open({
    actorId: actorSequence.toString(16).padStart(8, "0"),
    persistence,
    compactEvery,
  });
}

/** Op builders for thread `T` by author `alice` unless told otherwise. */
export const T = "thread-1";

export function addTask(task: string, lamport: number, extra: Record<string, unknown> = {}) {
  return { kind: "ADD_TASK", thread: T, actor: "alice", lamport, task, title: task, ...extra };
}

export function link(
  from: string,
  to: string,
  lamport: number,
  extra: Record<string, unknown> = {},
) {
  return { kind: "LINK", thread: T, actor: "alice", lamport, from, to, ...extra };
}

export function state(
  task: string,
  value: string,
  lamport: number,
  extra: Record<string, unknown> = {},
) {
  return { kind: "STATE", thread: T, actor: "alice", lamport, task, state: value, ...extra };
}

export function annotate(
  task: string,
  key: string,
  value: unknown,
  lamport: number,
  actor = "alice",
) {
  return { kind: "ANNOTATE", thread: T, actor, lamport, task, key, value };
}

/** Walks a task forward from DRAFT to `target`, one STATE op per lamport from `lamport`. */
export function forward(task: string, target: string, lamport: number): Record<string, unknown>[] {
  const order = ["DECIDED", "CLAIMED", "COMMITTED", "VERIFIED", "FINAL"];
  return order.slice(0, order.indexOf(target) + 1).map((value, index) =>
    state(task, value, lamport + index)
  );
}

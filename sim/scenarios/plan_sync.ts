/**
 * The plan-sync scenario: every node runs a plan actor and a writer that
 * appends random plan ops (new tasks, links, state moves, reopens,
 * annotations) to its own replica, concurrently with the others, over a
 * lossy, duplicating, reordering network that is partitioned for a while,
 * with one node crashed and restarted from its store. After the writers
 * stop and the network heals, every replica must hold the same documents
 * and the same views.
 *
 * @module
 */

import { type PlanAppendReply, planSync, type PlanSyncMessage } from "../../actors/plan_sync.ts";
import type { PlanStore } from "../../protocols/plan/plan_store.ts";
import type { PlanSyncPeers } from "../../protocols/plan/plan_sync.ts";
import { REOPEN_FROM } from "../../protocols/plan/task_state.ts";
import { stateRank, TASK_STATES } from "../../protocols/plan/op.ts";
import type { ActorContext, ActorRef, Behavior } from "../../runtime/actor.ts";
import type { ActorSystem } from "../../runtime/system.ts";

/** Shape of a plan-sync run. */
export interface PlanSyncScenario {
  readonly nodes: number;
  readonly threads: number;
  /** Writers stop appending at this virtual time. */
  readonly writeUntilMs: number;
  /** Upper bound of the random pause between two appends of one writer. */
  readonly pauseMaxMs: number;
}

/** Default: 3 nodes, 3 threads, about 150 appends per node. */
export const PLAN_SYNC_DEFAULT: PlanSyncScenario = {
  nodes: 3,
  threads: 3,
  writeUntilMs: 3_000,
  pauseMaxMs: 40,
};

/** Path of the plan actor on every node. */
export const PLAN_ACTOR_PATH = "/user/plan";

/** What a writer saw. */
export interface WriterLog {
  /** Op ids acknowledged (durable) per node. */
  readonly acknowledged: Map<string, Set<string>>;
  /** Rejections of local appends by error code. */
  readonly rejected: Map<string, number>;
}

type WriterMessage = { readonly type: "write" } | PlanAppendReply & { readonly ids?: string[] };

function pick<T>(ctx: ActorContext<unknown>, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[ctx.randomInt(items.length)];
}

/** A random op that is legal against this replica's current view (most of the time). */
function randomOp(
  ctx: ActorContext<unknown>,
  store: PlanStore,
  scenario: PlanSyncScenario,
  sequence: number,
): Record<string, unknown> {
  const head = {
    thread: `thread-${ctx.randomInt(scenario.threads)}`,
    actor: ctx.nodeId,
    lamport: store.lamport + 1,
  };
  const tasks = store.tasks.ids();
  const task = pick(ctx, tasks);
  const roll = ctx.random();
  if (task === undefined || roll < 0.25) {
    return {
      ...head,
      kind: "ADD_TASK",
      task: `${ctx.nodeId}-${sequence}`,
      title: `task ${sequence}`,
    };
  }
  const thread = store.getTask(task)!.thread;
  if (roll < 0.45) {
    return { ...head, thread, kind: "LINK", from: pick(ctx, tasks), to: task };
  }
  if (roll < 0.8) {
    const state = store.getTask(task)!.state;
    const reopen = (["YIELD", "RELEASE", "INVALIDATE"] as const).find((transition) =>
      REOPEN_FROM[transition].includes(state)
    );
    if (reopen !== undefined && ctx.random() < 0.3) {
      return { ...head, thread, kind: "STATE", task, state: "DRAFT", transition: reopen };
    }
    const next = TASK_STATES[Math.min(stateRank(state) + 1, TASK_STATES.length - 1)];
    return { ...head, thread, kind: "STATE", task, state: next };
  }
  if (roll < 0.95) {
    return {
      ...head,
      thread,
      kind: "ANNOTATE",
      task,
      key: `k${ctx.randomInt(3)}`,
      value: sequence,
    };
  }
  return { ...head, thread, kind: ctx.random() < 0.5 ? "REQUIRES" : "PRODUCES", task, key: "doc" };
}

/** The writer of one node: appends random ops to the local plan actor until the deadline. */
function planWriter(
  scenario: PlanSyncScenario,
  replicas: Map<string, { store: PlanStore }>,
  log: WriterLog,
  writing: () => boolean,
): Behavior<WriterMessage> {
  let sequence = 0;
  return {
    preStart(ctx) {
      ctx.schedule(ctx.random() * scenario.pauseMaxMs, { type: "write" }, { key: "write" });
    },
    receive(ctx, message) {
      if (message.type === "plan-appended") {
        if (message.ok) {
          const acked = log.acknowledged.get(ctx.nodeId) ?? new Set();
          for (const result of message.results) acked.add(result.id);
          log.acknowledged.set(ctx.nodeId, acked);
        } else log.rejected.set(message.code, (log.rejected.get(message.code) ?? 0) + 1);
        return;
      }
      const replica = replicas.get(ctx.nodeId);
      if (!writing() || replica === undefined) return;
      const plan = ctx.refFor<PlanSyncMessage>({ node: ctx.nodeId, path: PLAN_ACTOR_PATH });
      const op = randomOp(ctx as ActorContext<unknown>, replica.store, scenario, sequence++);
      plan.tell({
        type: "plan-append",
        ops: [op],
        replyTo: ctx.self as unknown as ActorRef<PlanAppendReply>,
      });
      ctx.schedule(ctx.random() * scenario.pauseMaxMs, { type: "write" }, { key: "write" });
    },
  };
}

/** Node ids of a scenario. */
export function planNodeIds(scenario: PlanSyncScenario): string[] {
  return Array.from({ length: scenario.nodes }, (_, index) => `node-${index}`);
}

/** Options of {@linkcode bootPlanNode}. */
export interface PlanNodeBoot {
  readonly scenario: PlanSyncScenario;
  /** The latest replica of every node (replaced when a node restarts). */
  readonly replicas: Map<string, { store: PlanStore; sync: PlanSyncPeers }>;
  readonly log: WriterLog;
  /** Whether the writer should run (false after the write deadline). */
  readonly writing: () => boolean;
  /** Called when a replica is loaded (after a restart too). */
  readonly onReplica?: (nodeId: string, store: PlanStore) => void;
}

/** Boots one node: its plan actor and, while writing, its writer. */
export function bootPlanNode(system: ActorSystem, boot: PlanNodeBoot): void {
  const nodeId = system.nodeId;
  const peers = planNodeIds(boot.scenario)
    .filter((id) => id !== nodeId)
    .map((node) => ({ node, path: PLAN_ACTOR_PATH }));
  system.spawn(
    () =>
      planSync({
        peers,
        intervalMs: 250,
        compactEvery: 32,
        observe: (replica) => {
          boot.replicas.set(nodeId, replica);
          boot.onReplica?.(nodeId, replica.store);
        },
      }),
    { name: "plan" },
  );
  if (boot.writing()) {
    system.spawn(() => planWriter(boot.scenario, boot.replicas, boot.log, boot.writing), {
      name: "writer",
    });
  }
}

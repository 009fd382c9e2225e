/**
 * The planner: answers every NEED it hears with a proposal, a one-task plan
 * that runs the NEED's task, priced by the work catalogue.
 *
 * @module
 */

import type { ActorRef, Behavior } from "../runtime/actor.ts";
import { checkTaskSpec } from "../protocols/work.ts";
import type { CoreMessage, RoleEvent } from "./swarm_messages.ts";

/** Settings of a planner. */
export interface PlannerConfig {
  readonly core: ActorRef<CoreMessage>;
  /** Distinguishes this planner's proposal ids from other planners'. */
  readonly name: string;
}

/** The proposal id a planner uses for a NEED. */
export function proposalIdFor(needId: string, plannerName: string): string {
  return `${needId}~${plannerName}`;
}

/** Makes a planner behaviour. */
export function planner(config: PlannerConfig): Behavior<RoleEvent> {
  return {
    preStart(ctx) {
      config.core.tell({ type: "watch", role: ctx.self });
    },
    receive(_ctx, event) {
      if (event.type !== "effect" || event.effect.type !== "need-opened") return;
      const need = event.thread.need;
      try {
        checkTaskSpec(need.task);
      } catch {
        return; // Nothing this planner can plan; verifiers would reject it anyway.
      }
      const proposalId = proposalIdFor(need.needId, config.name);
      config.core.tell({
        type: "emit",
        kind: "PROPOSE",
        thread: need.needId,
        payload: {
          needId: need.needId,
          proposalId,
          ballot: 1,
          patch: [{ op: "ADD_TASK", taskId: `${proposalId}~t1`, spec: need.task }],
          cost: Math.min(need.budget, need.bounty),
          etaMs: 1_000,
          shardDependencies: [],
        },
      });
    },
  };
}

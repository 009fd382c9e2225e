/**
 * The planner: answers a NEED with a proposal, a one-task plan that runs the
 * NEED's task, priced by the work catalogue.
 *
 * When the swarm's planners are known, the two preferred for a NEED
 * (rendezvous hashing) propose at once and the others only if the NEED is
 * still undecided halfway through the bid window, so a NEED costs two
 * proposals rather than one per planner, and still gets planned when the
 * preferred planners are down.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import { selectCommittee } from "../protocols/committee.ts";
import type { NeedPayload } from "../protocols/lifecycle/payloads.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { checkTaskSpec } from "../protocols/work.ts";
import type { CoreMessage, RoleEvent } from "./swarm_messages.ts";

/** Settings of a planner. */
export interface PlannerConfig {
  readonly core: ActorRef<CoreMessage>;
  /** Distinguishes this planner's proposal ids from other planners'. */
  readonly name: string;
  readonly did: string;
  readonly params: SwarmParams;
  /** Every planner of the swarm (DIDs); without it, this planner proposes for every NEED. */
  readonly planners?: readonly string[];
}

/** Planners that propose at once for each NEED. */
const PREFERRED_PLANNERS = 2;

/** Most NEEDs a planner holds back waiting for their fallback time. */
const HELD_MAX = 100_000;

type PlannerMessage = RoleEvent | { readonly type: "fallback"; readonly needId: string };

/** The proposal id a planner uses for a NEED. */
export function proposalIdFor(needId: string, plannerName: string): string {
  return `${needId}~${plannerName}`;
}

/** Makes a planner behaviour. */
export function planner(config: PlannerConfig): Behavior<PlannerMessage> {
  const held = new Map<string, NeedPayload>();

  const propose = (need: NeedPayload) => {
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
  };

  const onOpened = (ctx: ActorContext<PlannerMessage>, need: NeedPayload) => {
    try {
      checkTaskSpec(need.task);
    } catch {
      return; // Nothing this planner can plan; verifiers would reject it anyway.
    }
    const preferred = config.planners === undefined ||
      selectCommittee(`plan:${need.needId}`, config.planners, PREFERRED_PLANNERS).includes(
        config.did,
      );
    if (preferred) return propose(need);
    if (held.size >= HELD_MAX) return;
    held.set(need.needId, need);
    ctx.schedule(config.params.bidWindowMs / 2, { type: "fallback", needId: need.needId }, {
      key: need.needId,
    });
  };

  return {
    preStart(ctx) {
      config.core.tell({
        type: "watch",
        role: ctx.self as ActorRef<RoleEvent>,
        effects: ["need-opened", "need-decided", "need-expired"],
      });
    },
    receive(ctx, message) {
      if (message.type === "fallback") {
        const need = held.get(message.needId);
        held.delete(message.needId);
        if (need !== undefined) propose(need);
        return;
      }
      if (message.type !== "effect") return;
      const { effect } = message;
      if (effect.type === "need-opened") return onOpened(ctx, message.thread.need);
      if (effect.type === "need-decided" || effect.type === "need-expired") {
        if (held.delete(effect.needId)) ctx.cancelSchedule(effect.needId);
      }
    },
  };
}

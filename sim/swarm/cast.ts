/**
 * The cast of a scenario: which node plays which roles, which of them are
 * byzantine, and which organisation each belongs to. Roles are spread over
 * the nodes (not stacked on the first ones) so that a fault on one node
 * rarely takes out every holder of a role.
 *
 * @module
 */

import type { NodeTarget } from "./nemesis_spec.ts";
import type { SwarmScenario } from "./scenario.ts";

/** What one protocol node is. */
export interface NodePlan {
  readonly id: string;
  readonly index: number;
  readonly planner: boolean;
  readonly verifier: boolean;
  readonly worker: boolean;
  readonly decider: boolean;
  readonly requester: boolean;
  readonly challenger: boolean;
  /** A verifier that approves everything unchecked. */
  readonly approveEverything: boolean;
  /** A worker that commits tampered output. */
  readonly wrongOutput: boolean;
  /** A challenger that challenges everything it audits. */
  readonly frivolous: boolean;
  readonly organisation: string;
  /** Autonomous system and region (diversity caps count them too). */
  readonly asn: string;
  readonly region: string;
}

/** Node id of protocol node `index`. */
export function nodeId(index: number): string {
  return `node-${index}`;
}

/** Node id of spammer `index`. */
export function spammerId(index: number): string {
  return `spammer-${index}`;
}

/**
 * Whether node `index` of `nodes` holds one of `count` places of a role,
 * spread evenly and rotated by `offset` (exactly `count` nodes hold it).
 */
export function holdsRole(index: number, nodes: number, count: number, offset: number): boolean {
  return (((index + offset) % nodes) * count) % nodes < count;
}

/** The cast of a scenario, node by node. */
export function castNodes(scenario: SwarmScenario): NodePlan[] {
  const { nodes, roles, byzantine } = scenario;
  const plans = Array.from({ length: nodes }, (_, index) => ({
    id: nodeId(index),
    index,
    planner: holdsRole(index, nodes, roles.planners, 1),
    verifier: holdsRole(index, nodes, roles.verifiers, 0),
    worker: holdsRole(index, nodes, roles.workers, 3),
    decider: holdsRole(index, nodes, roles.deciders, 0),
    requester: holdsRole(index, nodes, roles.requesters, 2),
    challenger: holdsRole(index, nodes, roles.challengers, 4),
    approveEverything: false,
    wrongOutput: false,
    frivolous: false,
    organisation: `org-${index % scenario.organisations}`,
    asn: `as-${index % 4}`,
    region: `region-${index % 3}`,
  }));
  const verifiers = plans.filter((plan) => plan.verifier).reverse();
  for (const plan of verifiers.slice(0, byzantine.approveEverything)) plan.approveEverything = true;
  const workers = plans.filter((plan) => plan.worker);
  for (const plan of workers.slice(0, byzantine.wrongOutput)) plan.wrongOutput = true;
  const challengers = plans.filter((plan) => plan.challenger);
  for (const plan of challengers.slice(0, byzantine.frivolousChallengers)) plan.frivolous = true;
  return plans;
}

/** Whether a node plan plays a nemesis target role. */
export function playsTarget(plan: NodePlan, target: NodeTarget): boolean {
  switch (target) {
    case "any":
      return true;
    case "decider":
      return plan.decider;
    case "worker":
      return plan.worker;
    case "verifier":
      return plan.verifier;
    case "planner":
      return plan.planner;
    case "requester":
      return plan.requester;
  }
}

/** A short description of a node's roles, e.g. `planner verifier worker*` (`*` = byzantine). */
export function describeRoles(plan: NodePlan): string {
  const parts: string[] = [];
  if (plan.planner) parts.push("planner");
  if (plan.verifier) parts.push(plan.approveEverything ? "verifier*" : "verifier");
  if (plan.worker) parts.push(plan.wrongOutput ? "worker*" : "worker");
  if (plan.decider) parts.push("decider");
  if (plan.requester) parts.push("requester");
  if (plan.challenger) parts.push(plan.frivolous ? "challenger*" : "challenger");
  return parts.join(" ");
}

/**
 * The chatter scenario: nodes full of chatter actors exchanging messages
 * with random pauses, with a partition in the middle of the run. It is the
 * built-in scenario of `deno task sim` and the workload of `deno task start`.
 *
 * @module
 */

import { chatter, type ChatterConfig, type ChatterReport } from "../../actors/chatter.ts";
import type { ActorSystem } from "../../runtime/system.ts";
import type { Address } from "../../runtime/transport/transport.ts";
import { SwarmError } from "../../runtime/errors.ts";

/** Shape of a chatter run. */
export interface ChatterScenario {
  readonly nodes: number;
  readonly actorsPerNode: number;
  readonly messageBudget: number;
  readonly pauseMaxMs: number;
  readonly forwardRate: number;
  readonly hopsMax: number;
  /** When the network splits into two halves (simulation only); no partition when absent. */
  readonly partitionAtMs?: number;
  /** When it heals. */
  readonly healAtMs?: number;
}

/** 4 nodes × 4 chatters, 400 chats each (about 16,000 deliveries), split from 2 s to 4 s. */
export const CHATTER_DEFAULT: ChatterScenario = {
  nodes: 4,
  actorsPerNode: 4,
  messageBudget: 400,
  pauseMaxMs: 20,
  forwardRate: 0.25,
  hopsMax: 2,
  partitionAtMs: 2_000,
  healAtMs: 4_000,
};

/** Raised for an unusable scenario. */
export class ScenarioError extends SwarmError {
  constructor(message: string) {
    super("E_SCENARIO", message);
  }
}

/** Validates a scenario. */
export function checkChatterScenario(scenario: ChatterScenario): ChatterScenario {
  const positive = ["nodes", "actorsPerNode", "messageBudget"] as const;
  for (const key of positive) {
    if (!Number.isInteger(scenario[key]) || scenario[key] < 1) {
      throw new ScenarioError(`Scenario ${key} must be a positive integer, got ${scenario[key]}`);
    }
  }
  if (!(scenario.pauseMaxMs >= 0)) {
    throw new ScenarioError(`Scenario pauseMaxMs must be >= 0, got ${scenario.pauseMaxMs}`);
  }
  if (!(scenario.forwardRate >= 0 && scenario.forwardRate <= 1)) {
    throw new ScenarioError(`Scenario forwardRate must be in [0, 1], got ${scenario.forwardRate}`);
  }
  return scenario;
}

/** Node ids of a scenario: `node-0` … */
export function chatterNodeIds(scenario: ChatterScenario): string[] {
  return Array.from({ length: scenario.nodes }, (_, index) => `node-${index}`);
}

/** Addresses of every chatter of a scenario. */
export function chatterAddresses(scenario: ChatterScenario): Address[] {
  return chatterNodeIds(scenario).flatMap((node) =>
    Array.from(
      { length: scenario.actorsPerNode },
      (_, index) => ({ node, path: `/user/chatter-${index}` }),
    )
  );
}

/**
 * Boots one node of the scenario: a reporter and its chatters. `onReport`
 * is the runner's instrumentation, called as chatters finish.
 */
export function bootChatterNode(
  system: ActorSystem,
  scenario: ChatterScenario,
  onReport: (report: ChatterReport) => void,
): void {
  const reporter = system.spawn<ChatterReport>(
    () => ({ receive: (_ctx, report) => onReport(report) }),
    {
      name: "reporter",
    },
  );
  const config: Omit<ChatterConfig, "reportTo"> = {
    peers: chatterAddresses(scenario),
    messageBudget: scenario.messageBudget,
    pauseMaxMs: scenario.pauseMaxMs,
    forwardRate: scenario.forwardRate,
    hopsMax: scenario.hopsMax,
  };
  for (let index = 0; index < scenario.actorsPerNode; index++) {
    system.spawn(() => chatter({ ...config, reportTo: reporter }), { name: `chatter-${index}` });
  }
}

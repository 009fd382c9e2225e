/**
 * A swarm scenario: which nodes play which roles (honest and byzantine), the
 * load they carry, how DECIDE is made consistent (CP or AP), how long the run
 * lasts on virtual time, and the nemesis schedule that attacks it. Scenarios
 * are plain typed values; the named ones live in `presets.ts`.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";
import type { ProtocolMutations } from "../../protocols/lifecycle/mutations.ts";
import type { SwarmParams } from "../../protocols/params.ts";
import { WORK_OPERATIONS } from "../../protocols/work.ts";
import { type LinkOptions, linkOptions } from "../network.ts";
import type { NemesisSpec } from "./nemesis_spec.ts";
import { checkNemesisSpec } from "./nemesis_spec.ts";

/** How DECIDE stays consistent under partitions (DESIGN.md §5). */
export type DecideMode = "cp" | "ap";

/** How many of the nodes play each role (a node may play several). */
export interface RoleCounts {
  readonly planners: number;
  readonly verifiers: number;
  readonly workers: number;
  /** Nodes that own decide buckets (and finalize, and monitor leases). */
  readonly deciders: number;
  /** Nodes that post NEEDs. */
  readonly requesters: number;
  /** Nodes that audit verified results and challenge wrong ones (0 for none). */
  readonly challengers: number;
}

/** Byzantine agents of the run. */
export interface ByzantineCounts {
  /** Verifiers that approve every plan and pass every result without checking. */
  readonly approveEverything: number;
  /** Workers that commit a tampered output. */
  readonly wrongOutput: number;
  /** Extra nodes that flood the swarm with junk, forged and late envelopes. */
  readonly spammers: number;
  /** Challengers that challenge every result they audit, right or wrong. */
  readonly frivolousChallengers: number;
}

/** One kind of task the load posts, with its share of the load. */
export interface TaskShape {
  /** Work operation (see `protocols/work.ts`). */
  readonly op: string;
  /** Words of input, drawn uniformly from [min, max]. */
  readonly inputWordsMin: number;
  readonly inputWordsMax: number;
  /** Rounds of the operation, drawn uniformly from [min, max]. */
  readonly roundsMin: number;
  readonly roundsMax: number;
  /** Relative share of the load. */
  readonly weight: number;
}

/** The load: NEEDs posted at a Poisson rate during the first `loadMs`. */
export interface LoadSpec {
  readonly needsPerSecond: number;
  /** Needs are posted during [startMs, startMs + loadMs). */
  readonly loadMs: number;
  readonly startMs: number;
  readonly shapes: readonly TaskShape[];
  readonly bounty: number;
  readonly budget: number;
  /** Relative deadline of every NEED. */
  readonly deadlineMs: number;
}

/** Everything that defines a run besides its seed. */
export interface SwarmScenario {
  readonly name: string;
  readonly description: string;
  /** Protocol nodes (spammers come on top). */
  readonly nodes: number;
  readonly roles: RoleCounts;
  readonly byzantine: ByzantineCounts;
  readonly mode: DecideMode;
  readonly load: LoadSpec;
  /** Virtual time of the whole run, load and drain. */
  readonly durationMs: number;
  readonly nemeses: readonly NemesisSpec[];
  /** The default link between nodes. */
  readonly link: Partial<LinkOptions>;
  /** Protocol parameters that differ from the defaults. */
  readonly params: Partial<SwarmParams>;
  /** Whether the swarm runs in bootstrap mode (K = 1). */
  readonly bootstrap: boolean;
  /** Enables BUGGIFY fault points. */
  readonly buggify: boolean;
  /** Nodes keep signed audit logs (needed by the replay property P2). */
  readonly audit: boolean;
  /**
   * After the last nemesis ends, every NEED must be terminal within this
   * bound (NEEDs that fall due after the run ends are not judged).
   */
  readonly livenessBoundMs: number;
  /** Distinct organisations the nodes belong to (for the diversity part of P6). */
  readonly organisations: number;
  /** Share of verified results each challenger audits (0..1). */
  readonly auditShare: number;
  /** Deliberately broken protocol rules (mutation tests only). */
  readonly mutations?: ProtocolMutations;
}

/** Raised for an unusable scenario. */
export class SwarmScenarioError extends SwarmError {
  constructor(message: string) {
    super("E_SCENARIO", message);
  }
}

/** Validates a scenario and returns it; throws {@linkcode SwarmScenarioError}. */
export function checkSwarmScenario(scenario: SwarmScenario): SwarmScenario {
  const positive = { nodes: scenario.nodes, durationMs: scenario.durationMs };
  for (const [key, value] of Object.entries(positive)) requireInteger(key, value, 1);
  requireInteger("organisations", scenario.organisations, 1);
  for (const [role, count] of Object.entries(scenario.roles)) {
    requireInteger(`roles.${role}`, count, role === "challengers" ? 0 : 1, scenario.nodes);
  }
  if (!(scenario.auditShare >= 0 && scenario.auditShare <= 1)) {
    throw new SwarmScenarioError(
      `Scenario auditShare must be in [0, 1], got ${scenario.auditShare}`,
    );
  }
  const byzantine = scenario.byzantine;
  requireInteger("byzantine.approveEverything", byzantine.approveEverything, 0);
  requireInteger("byzantine.wrongOutput", byzantine.wrongOutput, 0);
  requireInteger("byzantine.spammers", byzantine.spammers, 0, 16);
  requireInteger(
    "byzantine.frivolousChallengers",
    byzantine.frivolousChallengers,
    0,
    scenario.roles.challengers,
  );
  if (byzantine.approveEverything > scenario.roles.verifiers) {
    throw new SwarmScenarioError(
      `Scenario has ${byzantine.approveEverything} approve-everything verifiers but only ${scenario.roles.verifiers} verifiers`,
    );
  }
  if (byzantine.wrongOutput > scenario.roles.workers) {
    throw new SwarmScenarioError(
      `Scenario has ${byzantine.wrongOutput} wrong-output workers but only ${scenario.roles.workers} workers`,
    );
  }
  if (scenario.mode !== "cp" && scenario.mode !== "ap") {
    throw new SwarmScenarioError(`Scenario mode must be cp or ap, got ${String(scenario.mode)}`);
  }
  checkLoad(scenario.load);
  linkOptions(scenario.link);
  requireInteger("livenessBoundMs", scenario.livenessBoundMs, 1);
  for (const nemesis of scenario.nemeses) checkNemesisSpec(nemesis, scenario.durationMs);
  // A run shorter than the liveness bound is allowed: liveness then judges only what fell due.
  return scenario;
}

/** When the last nemesis (or the load) ends: the liveness bound counts from here. */
export function lastNemesisEndMs(scenario: SwarmScenario): number {
  let last = scenario.load.startMs + scenario.load.loadMs;
  for (const nemesis of scenario.nemeses) {
    last = Math.max(last, nemesis.atMs + ("durationMs" in nemesis ? nemesis.durationMs : 0));
  }
  return last;
}

function checkLoad(load: LoadSpec): void {
  if (!(load.needsPerSecond > 0 && load.needsPerSecond <= 10_000)) {
    throw new SwarmScenarioError(
      `Scenario load.needsPerSecond must be in (0, 10000], got ${load.needsPerSecond}`,
    );
  }
  requireInteger("load.loadMs", load.loadMs, 1);
  requireInteger("load.startMs", load.startMs, 0);
  requireInteger("load.deadlineMs", load.deadlineMs, 1);
  if (!(load.bounty > 0 && load.budget >= load.bounty)) {
    throw new SwarmScenarioError(
      `Scenario load needs 0 < bounty <= budget, got ${load.bounty} and ${load.budget}`,
    );
  }
  if (load.shapes.length === 0) throw new SwarmScenarioError("Scenario load needs a task shape");
  for (const shape of load.shapes) {
    if (!WORK_OPERATIONS.includes(shape.op)) {
      throw new SwarmScenarioError(
        `Scenario task shape op ${shape.op} is unknown; known: ${WORK_OPERATIONS.join(", ")}`,
      );
    }
    requireInteger("shape.inputWordsMin", shape.inputWordsMin, 1);
    requireInteger("shape.inputWordsMax", shape.inputWordsMax, shape.inputWordsMin);
    requireInteger("shape.roundsMin", shape.roundsMin, 1);
    requireInteger("shape.roundsMax", shape.roundsMax, shape.roundsMin, 1_000);
    if (!(shape.weight > 0)) {
      throw new SwarmScenarioError(`Scenario task shape weight must be > 0, got ${shape.weight}`);
    }
  }
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SwarmScenarioError(
      `Scenario ${name} must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
}

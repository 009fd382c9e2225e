/**
 * Property checkers: each reads a run's history (and, for replay, the
 * nodes' audit logs) after the run and reports the violations of one
 * property with the history events that prove them. The registry is open:
 * properties that need later parts of the system (P7 checkpoints, P8
 * cross-shard work) register their checkers next to these.
 *
 * @module
 */

import type { FrameLogDirectory } from "../../runtime/store/frame_log.ts";
import type { SwarmParams } from "../../protocols/params.ts";
import type { NodePlan } from "../swarm/cast.ts";
import type { History } from "../swarm/history.ts";
import type { SwarmScenario } from "../swarm/scenario.ts";

/** Everything a checker may look at. */
export interface CheckContext {
  readonly history: History;
  readonly scenario: SwarmScenario;
  readonly params: SwarmParams;
  /** The protocol nodes. */
  readonly plans: readonly NodePlan[];
  /** DIDs of the active (staked) verifiers. */
  readonly verifiers: ReadonlySet<string>;
  /** Virtual time when the run ended. */
  readonly endNs: bigint;
  /** Nodes up at the end of the run. */
  readonly upNodes: ReadonlySet<string>;
  /** Each node's audit log directory, when the scenario kept audit logs. */
  readonly auditLogs: ReadonlyMap<string, FrameLogDirectory>;
  /** The policy hash nodes ran under (replays re-check it). */
  readonly policyHash: string;
  /** Who each participant is (organisation, AS, region, linked entity), by DID. */
  readonly participants: ReadonlyMap<string, ParticipantTraits>;
}

/** The attributes diversity caps apply to. */
export interface ParticipantTraits {
  readonly org: string;
  readonly asn: string;
  readonly region: string;
  readonly entity: string;
}

/** One breach of a property. */
export interface Violation {
  readonly message: string;
  /** The NEED involved, when there is one. */
  readonly needId?: string;
  /** Sequence numbers of the history events that show the breach. */
  readonly evidence: readonly number[];
}

/** How a property fared in a run. */
export interface CheckResult {
  /** Short id, e.g. `P1`. */
  readonly id: string;
  readonly name: string;
  /** `skipped`: the run had nothing this property speaks about (see `note`). */
  readonly status: "pass" | "fail" | "skipped";
  /** How many facts were checked (decisions, leases, NEEDs, ...). */
  readonly checked: number;
  /** The first violations (at most {@linkcode VIOLATIONS_KEPT}). */
  readonly violations: readonly Violation[];
  /** All violations, including those not kept. */
  readonly violationCount: number;
  readonly note?: string;
}

/** A property checker. */
export interface Checker {
  readonly id: string;
  readonly name: string;
  /** One sentence: the property. */
  readonly description: string;
  check(context: CheckContext): CheckResult | Promise<CheckResult>;
}

/** Violations kept per checker (the count covers them all). */
export const VIOLATIONS_KEPT = 50;

/** Collects violations of one checker, bounded, and makes its result. */
export class Findings {
  readonly #checker: Pick<Checker, "id" | "name">;
  readonly #kept: Violation[] = [];
  #count = 0;
  /** Facts checked. */
  checked = 0;

  constructor(checker: Pick<Checker, "id" | "name">) {
    this.#checker = checker;
  }

  /** Records a violation. */
  add(violation: Violation): void {
    this.#count++;
    if (this.#kept.length < VIOLATIONS_KEPT) this.#kept.push(violation);
  }

  /** The result: failed when anything was found, skipped when nothing was checked and `skipNote` is given. */
  result(skipNote?: string, note?: string): CheckResult {
    const base = {
      id: this.#checker.id,
      name: this.#checker.name,
      checked: this.checked,
      violations: this.#kept,
      violationCount: this.#count,
    };
    if (this.#count > 0) return { ...base, status: "fail", note };
    if (this.checked === 0 && skipNote !== undefined) {
      return { ...base, status: "skipped", note: skipNote };
    }
    return { ...base, status: "pass", note };
  }
}

/** The checkers of a run; extend it with {@linkcode CheckerRegistry.register}. */
export class CheckerRegistry {
  readonly #checkers = new Map<string, Checker>();

  constructor(checkers: Iterable<Checker> = []) {
    for (const checker of checkers) this.register(checker);
  }

  /** Adds a checker (replacing one with the same id). */
  register(checker: Checker): this {
    this.#checkers.set(checker.id, checker);
    return this;
  }

  /** The checkers, in registration order. */
  list(): Checker[] {
    return [...this.#checkers.values()];
  }

  /** Runs every checker; a checker that throws is reported as failed, not lost. */
  async runAll(context: CheckContext): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    for (const checker of this.#checkers.values()) {
      try {
        results.push(await checker.check(context));
      } catch (error) {
        results.push({
          id: checker.id,
          name: checker.name,
          status: "fail",
          checked: 0,
          violations: [{ message: `Checker crashed: ${String(error)}`, evidence: [] }],
          violationCount: 1,
        });
      }
    }
    return results;
  }
}

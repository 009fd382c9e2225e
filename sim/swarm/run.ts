/**
 * Runs one seed of a swarm scenario: builds the swarm, runs it on virtual
 * time, closes the audit logs, and checks every property against the
 * history. The result carries the seed, the trace hash, the checker
 * results and the history (for failure windows and the HTML report).
 *
 * @module
 */

import { nsToMs } from "../../runtime/env.ts";
import type { FrameLogDirectory } from "../../runtime/store/frame_log.ts";
import {
  type CheckContext,
  type CheckerRegistry,
  type CheckResult,
  standardCheckers,
} from "../checkers/mod.ts";
import type { NetworkStats } from "../network.ts";
import type { RunSummary } from "../scheduler.ts";
import { SIM_POLICY, SwarmHarness } from "./harness.ts";
import type { History } from "./history.ts";
import type { NodePlan } from "./cast.ts";
import { checkSwarmScenario, type SwarmScenario } from "./scenario.ts";

/** Options of {@linkcode runSwarmSimulation}. */
export interface SwarmRunOptions {
  readonly scenario: SwarmScenario;
  readonly seed: number;
  /** Receives every trace line (for `--trace`). */
  readonly onTraceLine?: (line: string) => void;
  /** The checkers to run; default: every standard checker. */
  readonly checkers?: CheckerRegistry;
  /** Runs the seed a second time and requires the same trace hash (part of P2). */
  readonly repeat?: boolean;
  /** Nodes share signature verdicts (default true; see `shared_verifier.ts`). */
  readonly shareVerification?: boolean;
}

/** NEED counts of a run. */
export interface NeedCounts {
  /** NEEDs their requesters posted. */
  readonly posted: number;
  readonly final: number;
  readonly expired: number;
  /** Arrivals the load could not post (no requester was up). */
  readonly unposted: number;
}

/** What one run did and how it fared. */
export interface SwarmRunResult {
  readonly seed: number;
  readonly scenario: SwarmScenario;
  readonly traceHash: string;
  readonly traceLines: number;
  readonly events: number;
  /** Virtual time of the run. */
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly endReason: RunSummary["reason"];
  readonly network: NetworkStats;
  readonly needs: NeedCounts;
  /** NEED → FINAL latencies at the requester, ms, sorted. */
  readonly latenciesMs: readonly number[];
  readonly checks: readonly CheckResult[];
  /** True when no property failed. */
  readonly ok: boolean;
  readonly buggifyFired: Readonly<Record<string, number>>;
  readonly spammer: Readonly<Record<string, number>>;
  readonly plans: readonly NodePlan[];
  /** The full history (not serialised). */
  readonly history: History;
  /** What the decide service still held at the end (records past their retention are gone). */
  readonly decideLog: { readonly decisions: number; readonly leases: number };
}

/**
 * Runs one seed of a scenario and checks it.
 *
 * @example
 * ```ts
 * const result = await runSwarmSimulation({ scenario: PRESETS.steady, seed: 7 });
 * if (!result.ok) console.log(result.checks.filter((check) => check.status === "fail"));
 * ```
 */
export async function runSwarmSimulation(options: SwarmRunOptions): Promise<SwarmRunResult> {
  const scenario = checkSwarmScenario(options.scenario);
  const share = options.shareVerification;
  const first = await execute(scenario, options.seed, share, options.onTraceLine);
  const again = options.repeat === true ? await execute(scenario, options.seed, share) : undefined;
  const registry = options.checkers ?? standardCheckers({
    traceHashes: () => ({ first: first.traceHash, again: again?.traceHash }),
  });
  const checks = await registry.runAll(first.context);
  again?.release();
  return {
    ...first.result,
    checks,
    ok: checks.every((check) => check.status !== "fail"),
  };
}

interface Execution {
  readonly traceHash: string;
  readonly context: CheckContext;
  readonly result: Omit<SwarmRunResult, "checks" | "ok">;
  release(): void;
}

async function execute(
  scenario: SwarmScenario,
  seed: number,
  shareVerification: boolean | undefined,
  onTraceLine?: (line: string) => void,
): Promise<Execution> {
  const harness = await SwarmHarness.create(scenario, seed, { shareVerification });
  harness.simulation.scheduler.trace.onLine = onTraceLine;
  const started = performance.now();
  const summary = await harness.simulation.run(scenario.durationMs);
  const wallMs = performance.now() - started;
  const auditLogs = new Map<string, FrameLogDirectory>();
  for (const [node, runtime] of harness.runtimes) {
    await runtime.audit?.close();
    if (scenario.audit) auditLogs.set(node, runtime.auditDirectory);
  }
  const history = harness.history;
  const plans = harness.plans;
  const verifiers = new Set(
    [...harness.runtimes.values()].filter((runtime) => runtime.plan.verifier).map((runtime) =>
      runtime.identity.did
    ),
  );
  const upNodes = new Set(harness.nodes.filter((node) => harness.simulation.node(node).up));
  const traceHash = harness.simulation.traceHash;
  const context: CheckContext = {
    history,
    scenario,
    params: harness.params,
    plans,
    verifiers,
    endNs: summary.endNs,
    upNodes,
    auditLogs,
    policyHash: SIM_POLICY,
    participants: new Map(
      harness.participants.map((entry) => [entry.did, {
        org: entry.org ?? entry.did,
        asn: entry.asn ?? entry.did,
        region: entry.region ?? entry.did,
        entity: entry.entity ?? entry.did,
      }]),
    ),
  };
  const { needs, latenciesMs } = needStats(history, harness.unposted);
  return {
    traceHash,
    context,
    release: () => auditLogs.clear(),
    result: {
      seed,
      scenario,
      traceHash,
      traceLines: harness.simulation.scheduler.trace.lineCount,
      events: summary.events,
      virtualMs: nsToMs(summary.endNs),
      wallMs,
      endReason: summary.reason,
      network: { ...harness.simulation.network.stats },
      needs,
      latenciesMs,
      buggifyFired: Object.fromEntries(harness.simulation.faults.fired),
      spammer: { ...harness.spammerStats },
      plans,
      history,
      decideLog: await harness.service.held(),
    },
  };
}

/** NEED counts and NEED → FINAL latencies at each requester. */
function needStats(history: History, unposted: number) {
  const posted = new Map<string, { node: string; timeNs: bigint }>();
  for (const event of history.ofType("accepted")) {
    if (event.message.kind !== "NEED") continue;
    if (history.nodeOf(event.message.sender) !== event.node) continue;
    // A restarted requester accepts its own NEED again from a peer: the first time is the post.
    if (!posted.has(event.message.thread)) {
      posted.set(event.message.thread, { node: event.node, timeNs: event.timeNs });
    }
  }
  const final = new Set<string>();
  const expired = new Set<string>();
  const latenciesMs: number[] = [];
  for (const event of history.ofType("effect")) {
    const { needId } = event.effect;
    if (event.effect.type === "need-expired") expired.add(needId);
    if (event.effect.type !== "need-final" || final.has(needId)) continue;
    final.add(needId);
    const post = posted.get(needId);
    if (post !== undefined) latenciesMs.push(nsToMs(event.timeNs - post.timeNs));
  }
  latenciesMs.sort((left, right) => left - right);
  const needs: NeedCounts = {
    posted: posted.size,
    final: final.size,
    expired: [...expired].filter((needId) => !final.has(needId)).length,
    unposted,
  };
  return { needs, latenciesMs };
}

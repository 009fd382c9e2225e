/**
 * Text reports of swarm runs for the command line: one block per seed with
 * the seed, the scenario and the trace hash first; for every failed
 * property, its smallest trace window and the exact command that replays
 * the run.
 *
 * @module
 */

import { renderEvent, violationWindow } from "../checkers/mod.ts";
import type { ScenarioOverrides } from "./knobs.ts";
import type { SwarmRunResult } from "./run.ts";

/** How a run was made: enough to replay it exactly. */
export interface RunRecipe {
  /** Preset name. */
  readonly scenario: string;
  readonly seed: number;
  /** Whether the seed also drew the scenario's knobs. */
  readonly knobs: "preset" | "random";
  readonly overrides?: ScenarioOverrides;
}

/** The command that replays a run byte for byte. */
export function replayCommand(recipe: RunRecipe): string {
  const parts = ["deno task sim", `--scenario ${recipe.scenario}`, `--seed ${recipe.seed}`];
  if (recipe.knobs === "random") parts.push("--knobs random");
  const overrides = recipe.overrides ?? {};
  if (overrides.nodes !== undefined) parts.push(`--nodes ${overrides.nodes}`);
  if (overrides.needsPerSecond !== undefined) parts.push(`--rate ${overrides.needsPerSecond}`);
  if (overrides.loadMs !== undefined) parts.push(`--load ${overrides.loadMs}ms`);
  if (overrides.mode !== undefined) parts.push(`--mode ${overrides.mode}`);
  if (overrides.buggify === true) parts.push("--buggify");
  if (overrides.durationMs !== undefined) parts.push(`--duration ${overrides.durationMs}ms`);
  if (overrides.nemeses !== undefined) {
    parts.push(`--nemeses ${overrides.nemeses.join(",") || "none"}`);
  }
  if (overrides.mutation !== undefined) parts.push(`--mutation ${overrides.mutation}`);
  return parts.join(" ");
}

/** The `p`-th percentile (0–100) of sorted values, or 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** The block printed for one run. */
export function renderRun(result: SwarmRunResult, recipe: RunRecipe): string {
  const { scenario, needs, network } = result;
  const speed = result.wallMs > 0 ? Math.round(result.virtualMs / result.wallMs) : 0;
  const lat = result.latenciesMs;
  const lines = [
    `seed ${result.seed}  trace ${result.traceHash}`,
    `  scenario ${scenario.name} (knobs ${recipe.knobs}): ${scenario.nodes} nodes, ${scenario.mode.toUpperCase()}, ` +
    `${scenario.load.needsPerSecond} needs/s for ${(scenario.load.loadMs / 1000).toFixed(1)} s, ` +
    `${scenario.nemeses.length} nemeses${scenario.buggify ? ", BUGGIFY" : ""}` +
    (scenario.byzantine.spammers + scenario.byzantine.approveEverything +
          scenario.byzantine.wrongOutput > 0
      ? `, byzantine ${JSON.stringify(scenario.byzantine)}`
      : ""),
    `  needs: ${needs.posted} posted · ${needs.final} final · ${needs.expired} expired` +
    (needs.unposted > 0 ? ` · ${needs.unposted} not posted` : "") +
    ` · latency p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms`,
    `  network: sent ${network.sent} · cut ${network.droppedByPartition} · lost ${network.droppedByLoss} · ` +
    `duplicated ${network.duplicated} · reordered ${network.reordered}`,
    `  checks: ${
      result.checks.map((check) =>
        `${check.id} ${
          check.status === "pass" ? "ok" : check.status === "skipped" ? "skip" : "FAIL"
        }`
      ).join(" · ")
    }`,
    `  time: ${(result.virtualMs / 1000).toFixed(1)} s virtual in ${
      (result.wallMs / 1000).toFixed(2)
    } s wall (${speed}×), ${result.events} events`,
  ];
  return lines.join("\n");
}

/** Each failed property with its smallest trace window, then the replay command. */
export function renderFailures(result: SwarmRunResult, recipe: RunRecipe, perCheck = 2): string {
  const lines: string[] = [];
  for (const check of result.checks) {
    if (check.status !== "fail") continue;
    lines.push(`  FAIL ${check.id} ${check.name}: ${check.violationCount} violation(s)`);
    for (const violation of check.violations.slice(0, perCheck)) {
      lines.push(`    ${violation.message}`);
      const window = violationWindow(result.history, violation);
      if (window.length > 0) {
        lines.push(`    smallest window${violation.needId ? ` (NEED ${violation.needId})` : ""}:`);
        for (const event of window) lines.push(`      ${renderEvent(result.history, event)}`);
      }
    }
  }
  if (lines.length > 0) lines.push(`  replay: ${replayCommand(recipe)}`);
  return lines.join("\n");
}

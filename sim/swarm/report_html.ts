/**
 * The HTML report of a swarm run (`--report out.html`): one self-contained
 * page (inline SVG and CSS, no scripts, no fetches) with the run's recipe
 * and trace hash, a timeline with one lane per node (message density,
 * DECIDEs, FINALIZEs, crashes and restarts, nemesis intervals shaded), the
 * distribution of NEED → FINAL latencies, the checker results and the
 * smallest trace window of every violation.
 *
 * @module
 */

import { nsToMs } from "../../runtime/env.ts";
import { renderEvent, violationWindow } from "../checkers/mod.ts";
import { describeRoles } from "./cast.ts";
import { type HistoryEvent, type NemesisEvent, nemesisSpans } from "./history.ts";
import { percentile, replayCommand, type RunRecipe } from "./report_text.ts";
import type { SwarmRunResult } from "./run.ts";

const WIDTH = 1100;
const LANE = 26;
const LEFT = 90;
const BUCKETS = 400;
/** Most DECIDE and FINALIZE markers drawn (the rest are in the density). */
const MARKERS_MAX = 3_000;

/** Renders the report page. */
export function renderHtmlReport(result: SwarmRunResult, recipe: RunRecipe): string {
  const failed = result.checks.filter((check) => check.status === "fail");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>CAN Swarm simulation — ${escape(result.scenario.name)} seed ${result.seed}</title>
<style>${STYLE}</style></head><body>
<h1>${escape(result.scenario.name)} · seed ${result.seed} · ${
    failed.length === 0
      ? '<span class="ok">all properties hold</span>'
      : `<span class="bad">${failed.length} properties violated</span>`
  }</h1>
<p class="muted">${escape(result.scenario.description)}</p>
<table class="kv">
<tr><th>trace hash</th><td><code>${result.traceHash}</code></td></tr>
<tr><th>replay</th><td><code>${escape(replayCommand(recipe))}</code></td></tr>
<tr><th>needs</th><td>${result.needs.posted} posted · ${result.needs.final} final · ${result.needs.expired} expired</td></tr>
<tr><th>run</th><td>${(result.virtualMs / 1000).toFixed(1)} s virtual in ${
    (result.wallMs / 1000).toFixed(2)
  } s wall · ${result.events} events · ${result.scenario.mode.toUpperCase()} mode</td></tr>
</table>
<h2>Timeline</h2>
${timeline(result)}
<h2>NEED → FINAL latency</h2>
${histogram(result.latenciesMs)}
<h2>Properties</h2>
${checks(result)}
${windows(result)}
<h2>Nodes</h2>
<table><tr><th>node</th><th>roles</th><th>organisation</th></tr>
${
    result.plans.map((plan) =>
      `<tr><td>${plan.id}</td><td>${describeRoles(plan)}</td><td>${plan.organisation}</td></tr>`
    ).join("\n")
  }
</table>
</body></html>
`;
}

function timeline(result: SwarmRunResult): string {
  const events = result.history.events;
  const lanes = [...result.plans.map((plan) => plan.id), ...spammerLanes(events)];
  const endMs = Math.max(1, lastActivityMs(events));
  const x = (ms: number) => LEFT + (ms / endMs) * (WIDTH - LEFT - 10);
  const y = (node: string) => 20 + lanes.indexOf(node) * LANE;
  const height = 30 + lanes.length * LANE;
  const parts: string[] = [];
  parts.push(...nemesisBands(result.history.ofType("nemesis"), x, y, height, endMs));
  parts.push(...density(events, lanes, endMs, x, y));
  parts.push(...markers(result, x, y));
  lanes.forEach((node) => {
    parts.push(`<text x="4" y="${y(node) + 4}" class="lane">${node}</text>`);
    parts.push(
      `<line x1="${LEFT}" x2="${WIDTH - 10}" y1="${y(node)}" y2="${y(node)}" class="axis"/>`,
    );
  });
  for (let tick = 0; tick <= 10; tick++) {
    const ms = (endMs * tick) / 10;
    parts.push(
      `<text x="${x(ms)}" y="${height - 4}" class="tick">${(ms / 1000).toFixed(1)} s</text>`,
    );
  }
  return `<svg width="${WIDTH}" height="${height}" role="img" aria-label="timeline">${
    parts.join("")
  }</svg>
<p class="legend"><span class="sw msg"></span>messages sent (darker = more) <span class="sw decide"></span>DECIDE <span class="sw final"></span>FINALIZE <span class="sw crash"></span>crash / restart / pause <span class="sw fault"></span>nemesis interval</p>`;
}

function spammerLanes(events: readonly HistoryEvent[]): string[] {
  const lanes = new Set<string>();
  for (const event of events) {
    if (event.type === "nemesis") {
      for (const node of event.nodes) if (node.startsWith("spammer")) lanes.add(node);
    }
  }
  return [...lanes];
}

function lastActivityMs(events: readonly HistoryEvent[]): number {
  for (let index = events.length - 1; index >= 0; index--) {
    const event = events[index];
    if (event.type === "accepted" || event.type === "nemesis") return nsToMs(event.timeNs) * 1.02;
  }
  return 1;
}

function nemesisBands(
  faults: readonly NemesisEvent[],
  x: (ms: number) => number,
  y: (node: string) => number,
  height: number,
  endMs: number,
): string[] {
  const parts: string[] = [];
  const close = (start: NemesisEvent, endAt: number) => {
    const from = x(nsToMs(start.timeNs));
    const width = Math.max(2, x(endAt) - from);
    const title = `<title>#${start.nemesis} ${escape(start.kind)}: ${escape(start.detail)}</title>`;
    if (start.nodes.length > 0 && start.nodes.length < 3) {
      for (const node of start.nodes) {
        parts.push(
          `<rect x="${from}" y="${
            y(node) - 9
          }" width="${width}" height="18" class="fault">${title}</rect>`,
        );
      }
    } else {
      parts.push(
        `<rect x="${from}" y="8" width="${width}" height="${
          height - 30
        }" class="fault wide">${title}</rect>`,
      );
    }
  };
  for (const { start, endNs } of nemesisSpans(faults)) {
    close(
      start,
      endNs === undefined ? Math.min(endMs, nsToMs(start.timeNs) + endMs / 200) : nsToMs(endNs),
    );
  }
  return parts;
}

function density(
  events: readonly HistoryEvent[],
  lanes: readonly string[],
  endMs: number,
  x: (ms: number) => number,
  y: (node: string) => number,
): string[] {
  const counts = new Map<string, number[]>(lanes.map((lane) => [lane, new Array(BUCKETS).fill(0)]));
  let max = 1;
  for (const event of events) {
    if (event.type !== "accepted") continue;
    const bucket = Math.min(BUCKETS - 1, Math.floor((nsToMs(event.timeNs) / endMs) * BUCKETS));
    const row = counts.get(event.node);
    if (row === undefined) continue;
    row[bucket]++;
    max = Math.max(max, row[bucket]);
  }
  const parts: string[] = [];
  const width = (WIDTH - LEFT - 10) / BUCKETS;
  for (const [lane, row] of counts) {
    row.forEach((count, bucket) => {
      if (count === 0) return;
      const opacity = (0.15 + 0.85 * (count / max)).toFixed(2);
      const from = x((bucket / BUCKETS) * endMs);
      parts.push(
        `<rect x="${from.toFixed(1)}" y="${y(lane) - 6}" width="${
          width.toFixed(1)
        }" height="12" class="msg" opacity="${opacity}"/>`,
      );
    });
  }
  return parts;
}

function markers(result: SwarmRunResult, x: (ms: number) => number, y: (node: string) => number) {
  const parts: string[] = [];
  let drawn = 0;
  const history = result.history;
  for (const event of history.events) {
    if (drawn >= MARKERS_MAX) break;
    if (event.type === "accepted" && history.nodeOf(event.message.sender) === event.node) {
      const kind = event.message.kind;
      if (kind !== "DECIDE" && kind !== "FINALIZE") continue;
      drawn++;
      const cx = x(nsToMs(event.timeNs)).toFixed(1);
      const title = `<title>${kind} ${escape(event.message.thread)} by ${event.node} at ${
        nsToMs(event.timeNs).toFixed(1)
      } ms</title>`;
      parts.push(
        kind === "DECIDE"
          ? `<rect x="${cx}" y="${
            y(event.node) - 4
          }" width="5" height="5" transform="rotate(45 ${cx} ${
            y(event.node)
          })" class="decide">${title}</rect>`
          : `<circle cx="${cx}" cy="${y(event.node)}" r="3" class="final">${title}</circle>`,
      );
    }
    if (
      event.type === "nemesis" && (event.kind === "kill-restart" || event.kind === "pause") &&
      event.phase !== "no-op"
    ) {
      for (const node of event.nodes) {
        const cx = x(nsToMs(event.timeNs)).toFixed(1);
        parts.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(node) - 10}" y2="${
            y(node) + 10
          }" class="crash"><title>${escape(event.detail)}</title></line>`,
        );
      }
    }
  }
  return parts;
}

function histogram(latencies: readonly number[]): string {
  if (latencies.length === 0) return "<p class='muted'>No NEED became FINAL.</p>";
  const bins = 40;
  const max = latencies[latencies.length - 1];
  const counts = new Array(bins).fill(0);
  for (const value of latencies) {
    counts[Math.min(bins - 1, Math.floor((value / (max || 1)) * bins))]++;
  }
  const top = Math.max(...counts);
  const width = 600 / bins;
  const bars = counts.map((count, index) =>
    `<rect x="${40 + index * width}" y="${130 - (count / top) * 110}" width="${
      width - 1
    }" height="${(count / top) * 110}" class="bar"><title>${count} NEEDs at ${
      ((index * max) / bins).toFixed(0)
    }–${(((index + 1) * max) / bins).toFixed(0)} ms</title></rect>`
  ).join("");
  const stats = [50, 90, 99].map((p) => `p${p} ${percentile(latencies, p).toFixed(0)} ms`).join(
    " · ",
  );
  return `<svg width="680" height="150">${bars}<text x="40" y="146" class="tick">0</text><text x="600" y="146" class="tick">${
    max.toFixed(0)
  } ms</text></svg><p>${latencies.length} NEEDs · ${stats}</p>`;
}

function checks(result: SwarmRunResult): string {
  const rows = result.checks.map((check) =>
    `<tr class="${check.status}"><td>${check.id}</td><td>${
      escape(check.name)
    }</td><td>${check.status}</td><td>${check.checked}</td><td>${check.violationCount}</td><td>${
      escape(check.note ?? "")
    }</td></tr>`
  );
  return `<table><tr><th>id</th><th>property</th><th>status</th><th>checked</th><th>violations</th><th>note</th></tr>${
    rows.join("\n")
  }</table>`;
}

function windows(result: SwarmRunResult): string {
  const parts: string[] = [];
  for (const check of result.checks) {
    for (const violation of check.violations.slice(0, 3)) {
      const lines = violationWindow(result.history, violation).map((event) =>
        escape(renderEvent(result.history, event))
      );
      parts.push(
        `<h3>${check.id}: ${escape(violation.message)}</h3><pre>${lines.join("\n")}</pre>`,
      );
    }
  }
  return parts.length === 0 ? "" : `<h2>Violations: smallest windows</h2>${parts.join("\n")}`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1180px}
h1{font-size:20px} h2{font-size:16px;margin-top:28px} h3{font-size:13px;font-weight:600}
code,pre{font:12px ui-monospace,monospace} pre{background:#f6f6f6;padding:8px;overflow:auto}
table{border-collapse:collapse} td,th{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left}
.kv th{color:#555;font-weight:500} .muted{color:#777} .ok{color:#18794e} .bad{color:#c62828}
tr.fail td{background:#fdecea} tr.skipped td{color:#888}
.lane,.tick{font-size:11px;fill:#444} .axis{stroke:#ddd}
.msg{fill:#3366cc} .decide{fill:#e69500} .final{fill:#18794e} .crash{stroke:#c62828;stroke-width:2}
.fault{fill:#c62828;opacity:.14} .fault.wide{opacity:.08} .bar{fill:#3366cc}
.legend .sw{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}
.sw.msg{background:#3366cc}.sw.decide{background:#e69500}.sw.final{background:#18794e}.sw.crash{background:#c62828}.sw.fault{background:#f3c7c7}
`;

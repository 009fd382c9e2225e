/**
 * Liveness: once the last fault is over, every NEED that was posted
 * reaches a terminal state (FINAL, or EXPIRED at its deadline) on some node
 * within the scenario's bound. The last fault is the last nemesis (the
 * schedule ends with a heal) or, when later, the last BUGGIFY fault point
 * that hit the NEED: fault points fire all run long, and every claim of a
 * task may stall again, so a bound counted from the heal alone is beaten by
 * a long enough run of bad luck (byzantine seed 4600 at 15 NEEDs/s stalled
 * four workers in a row on one task, a lost lease each). A NEED that never
 * left its requester's node (it crashed first) was never really posted, as
 * in Jepsen's indeterminate invocations, and is not judged.
 *
 * @module
 */

import { msToNs, nsToMs } from "../../runtime/env.ts";
import { lastNemesisEndMs } from "../swarm/scenario.ts";
import type { HistoryEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** The liveness checker. */
export const LIVENESS: Checker = {
  id: "L",
  name: "liveness after the last fault",
  description:
    "Every posted NEED is FINAL or EXPIRED within the bound after the last fault that hit it.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const { history, scenario } = context;
    const healNs = msToNs(lastNemesisEndMs(scenario));
    const boundNs = msToNs(scenario.livenessBoundMs);
    const terminal = new Map<string, bigint>();
    const heardElsewhere = new Set<string>();
    const lastFault = new Map<string, HistoryEvent>();
    for (const event of history.ofType("fault")) {
      if (event.needId !== undefined) lastFault.set(event.needId, event);
    }
    for (const event of history.ofType("effect")) {
      const type = event.effect.type;
      if (type !== "need-final" && type !== "need-expired") continue;
      if (!terminal.has(event.effect.needId)) terminal.set(event.effect.needId, event.timeNs);
    }
    const posts = history.ofType("accepted").filter((event) => event.message.kind === "NEED");
    for (const event of posts) {
      if (history.nodeOf(event.message.sender) !== event.node) {
        heardElsewhere.add(event.message.thread);
      }
    }
    const judged = new Set<string>();
    for (const event of posts) {
      if (history.nodeOf(event.message.sender) !== event.node) continue;
      if (!heardElsewhere.has(event.message.thread) || judged.has(event.message.thread)) continue;
      judged.add(event.message.thread); // the first post counts, not a restarted node's replay
      const needId = event.message.thread;
      const fault = lastFault.get(needId);
      const dueNs = latest(healNs, event.timeNs, fault?.timeNs ?? 0n) + boundNs;
      if (dueNs > context.endNs) continue; // cannot be judged in this run
      findings.checked++;
      const doneNs = terminal.get(needId);
      if (doneNs !== undefined && doneNs <= dueNs) continue;
      findings.add({
        message: `NEED ${needId} posted by ${event.node} at ${nsToMs(event.timeNs)} ms was ` +
          (doneNs === undefined
            ? "never FINAL or EXPIRED"
            : `terminal only at ${nsToMs(doneNs)} ms`) +
          ` (due by ${nsToMs(dueNs)} ms: ${scenario.livenessBoundMs} ms after the last fault)`,
        needId,
        evidence: fault === undefined ? [event.seq] : [event.seq, fault.seq],
      });
    }
    return findings.result("no NEED could be judged within the run");
  },
};

function latest(...times: bigint[]): bigint {
  return times.reduce((max, time) => time > max ? time : max);
}

/**
 * No silent no-op faults: every scheduled nemesis started and found
 * something to act on, every nemesis with a duration ended, an epoch
 * advance really moved the epoch, and a failover really fenced the buckets
 * for their new owner.
 *
 * @module
 */

import { msToNs } from "../../runtime/env.ts";
import type { NemesisEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** The nemesis checker. */
export const NEMESES_FIRED: Checker = {
  id: "N",
  name: "every nemesis fired",
  description: "Each scheduled fault acted (no silent no-ops) and each timed fault was undone.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const events = context.history.ofType("nemesis");
    const logs = context.history.ofType("log");
    context.scenario.nemeses.forEach((spec, index) => {
      findings.checked++;
      const mine = events.filter((event) => event.nemesis === index);
      const start = mine.find((event) => event.phase === "start");
      const problem = (message: string, evidence: NemesisEvent[] = mine) =>
        findings.add({
          message: `Nemesis ${index} (${spec.kind} at ${spec.atMs} ms): ${message}`,
          evidence: evidence.map((event) => event.seq),
        });
      if (start === undefined) {
        const noop = mine.find((event) => event.phase === "no-op");
        return problem(noop === undefined ? "never fired" : `did nothing: ${noop.detail}`);
      }
      if ("durationMs" in spec && !mine.some((event) => event.phase === "end")) {
        return problem("never ended");
      }
      const after = (op: string, nodes?: readonly string[]) =>
        logs.some((log) =>
          log.op === op && log.outcome === "ok" && log.timeNs >= start.timeNs &&
          log.timeNs <= start.timeNs + msToNs(60_000) &&
          (nodes === undefined || nodes.includes(log.node))
        );
      if (spec.kind === "epoch-advance" && !after("epoch")) {
        problem("the epoch did not advance within 60 s");
      }
      if (spec.kind === "failover") {
        const takers = context.plans.filter((plan) =>
          plan.decider && !start.nodes.includes(plan.id)
        )
          .map((plan) => plan.id);
        if (!after("fence", takers)) problem("no decider fenced the buckets it took over");
      }
    });
    return findings.result("the scenario schedules no nemesis");
  },
};

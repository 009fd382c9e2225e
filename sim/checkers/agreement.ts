/**
 * Agreement: nodes never finalize different results. No two nodes accept
 * FINALIZEs of one task for different commits, and every node that saw a
 * NEED become FINAL saw it under the same decision.
 *
 * @module
 */

import type { DecideRecord } from "../../runtime/store/decide_log.ts";
import type { LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import type { AcceptedEvent, EffectEvent } from "../swarm/history.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** The agreement checker. */
export const AGREEMENT: Checker = {
  id: "A",
  name: "agreement on final results",
  description:
    "No task is finalized for two different commits, and no NEED is FINAL under two decisions.",
  check(context: CheckContext): CheckResult {
    const findings = new Findings(this);
    const finalized = new Map<string, AcceptedEvent>();
    for (const event of context.history.ofType("accepted")) {
      if (event.message.kind !== "FINALIZE") continue;
      const finalize = (event.message as LifecycleMessage<"FINALIZE">).payload;
      const earlier = finalized.get(finalize.taskId);
      if (earlier === undefined) {
        findings.checked++;
        finalized.set(finalize.taskId, event);
        continue;
      }
      const known = (earlier.message as LifecycleMessage<"FINALIZE">).payload;
      if (known.commitId === finalize.commitId) continue;
      findings.add({
        message: `Task ${finalize.taskId} was finalized for commit ${known.commitId} at ` +
          `${earlier.node} and for ${finalize.commitId} at ${event.node}`,
        needId: finalize.needId,
        evidence: [earlier.seq, event.seq],
      });
    }
    const finalUnder = new Map<string, EffectEvent>();
    for (const event of context.history.ofType("effect")) {
      if (event.effect.type !== "need-final" || event.decision === undefined) continue;
      const earlier = finalUnder.get(event.effect.needId);
      if (earlier === undefined) {
        finalUnder.set(event.effect.needId, event);
        continue;
      }
      const known = earlier.decision as DecideRecord;
      if (known.proposalId === event.decision.proposalId) continue;
      findings.add({
        message: `NEED ${event.effect.needId} became FINAL under ${known.proposalId} at ` +
          `${earlier.node} but under ${event.decision.proposalId} at ${event.node}`,
        needId: event.effect.needId,
        evidence: [earlier.seq, event.seq],
      });
    }
    return findings.result("nothing was finalized");
  },
};

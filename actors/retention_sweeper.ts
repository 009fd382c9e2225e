/**
 * The retention sweeper: keeps a node's files from growing for good. It
 * walks the node's audit logs and content store a bounded step at a time
 * and removes what nobody has written for `retentionMs` (a thread's log
 * after its last envelope, an artifact after its last put), one target
 * after the other. While a walk is under way it steps every `stepMs`; after
 * a full pass over every target it rests `restMs`.
 *
 * @module
 */

import type { Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorMessage } from "../runtime/errors.ts";
import type { Prunable, PruneResult } from "../runtime/store/stale_files.ts";

/** A store the sweeper walks, and its name in logs. */
export interface RetentionTarget {
  readonly name: string;
  readonly store: Prunable;
}

/** Counters of a retention sweeper (kept across restarts when passed in). */
export interface RetentionStats {
  examined: number;
  removed: number;
  /** Full passes over every target. */
  passes: number;
  /** Steps that failed (logged; the walk goes on at the next step). */
  failures: number;
}

/** Settings of the retention sweeper. */
export interface RetentionConfig {
  /** What is kept: files last written less than this long ago. */
  readonly retentionMs: number;
  readonly targets: readonly RetentionTarget[];
  /** Entries looked at per step; default 1,000. */
  readonly budget?: number;
  /** Between steps of a walk; default 1 s. */
  readonly stepMs?: number;
  /** Between passes; default 10 min. */
  readonly restMs?: number;
  readonly stats?: RetentionStats;
}

type RetentionMessage =
  | { readonly type: "step" }
  | { readonly type: "stepped"; readonly result: Settled<PruneResult> };

/** Makes the retention sweeper. */
export function retentionSweeper(config: RetentionConfig): Behavior<RetentionMessage> {
  const stats = config.stats ?? { examined: 0, removed: 0, passes: 0, failures: 0 };
  const budget = config.budget ?? 1_000;
  const stepMs = config.stepMs ?? 1_000;
  const restMs = config.restMs ?? 600_000;
  /** The target walked now, and what this pass removed so far. */
  let target = 0;
  let removedThisPass = 0;
  return {
    preStart(ctx) {
      ctx.schedule(stepMs, { type: "step" }, { key: "step" });
    },
    receive(ctx, message) {
      if (message.type === "step") {
        const { store } = config.targets[target];
        return ctx.pipeToSelf(
          store.prune(ctx.nowMs() - config.retentionMs, budget),
          (result) => ({ type: "stepped", result }),
        );
      }
      const { result } = message;
      let passDone = false;
      if (result.ok) {
        stats.examined += result.value.examined;
        stats.removed += result.value.removed;
        removedThisPass += result.value.removed;
        passDone = result.value.passDone;
      } else {
        stats.failures++;
        ctx.log.warn("retention step failed", {
          target: config.targets[target].name,
          reason: errorMessage(result.error),
        });
      }
      if (!passDone) return void ctx.schedule(stepMs, { type: "step" }, { key: "step" });
      target = (target + 1) % config.targets.length;
      if (target !== 0) return void ctx.schedule(stepMs, { type: "step" }, { key: "step" });
      stats.passes++;
      if (removedThisPass > 0) {
        ctx.log.info("retention pass removed old files", { removed: removedThisPass });
      }
      removedThisPass = 0;
      ctx.schedule(restMs, { type: "step" }, { key: "step" });
    },
  };
}

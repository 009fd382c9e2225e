/**
 * The decider's retention sweep. Once a period it forgets the records whose
 * NEEDs ended long enough ago (`decideRetentionMs` past the deadline, see
 * `protocols/params.ts`): first what the decider kept in its node's store
 * (the records it finalized with, the committees it seated, `_finalizer.ts`),
 * then the decide log's decisions and leases, bucket by bucket, one call at a
 * time, so a sweep never floods the log.
 *
 * Every decider sweeps all 256 buckets, not only those it owns: an AP
 * node's replica holds every bucket, and a bucket whose owner is gone is
 * still swept. Forgetting is idempotent, so sweepers of a shared log only
 * repeat each other's reads.
 *
 * @module
 */

import type { ActorContext } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorCode } from "../runtime/errors.ts";
import { DECIDE_BUCKETS, type DecideLog } from "../runtime/store/decide_log.ts";
import { forgetDue } from "../runtime/store/retention.ts";
import { KEPT_RECORDS_INDEX } from "./_finalizer.ts";

/** What a sweep needs. */
export interface RetentionSweepConfig {
  readonly decideLog: DecideLog;
  /** Time between the end of one sweep and the start of the next. */
  readonly sweepEveryMs: number;
  /** Called with the records each step forgot. */
  readonly forgotten: (count: number) => void;
}

/** The sweep's messages: the period's timer, and each step's outcome. */
export type RetentionSweepMessage =
  | { readonly type: "sweep-due" }
  | {
    readonly type: "swept";
    /** The bucket just swept; -1 for the node's store. */
    readonly bucket: number;
    readonly forgotten: Settled<number>;
    /** Steps of this sweep that failed so far. */
    readonly failures: number;
  };

/** Records forgotten per call: a bucket with more due is swept again at once. */
export const SWEEP_STEP_LIMIT = 256;
/** Default period of the sweep. */
export const SWEEP_EVERY_MS_DEFAULT = 60_000;
const NODE_STORE = -1;

/** Starts the first sweep one period from now. */
export function scheduleSweep(
  ctx: ActorContext<RetentionSweepMessage>,
  config: RetentionSweepConfig,
) {
  ctx.schedule(config.sweepEveryMs, { type: "sweep-due" }, { key: "retention-sweep" });
}

/** Runs one step of the sweep. */
export function sweep(
  ctx: ActorContext<RetentionSweepMessage>,
  config: RetentionSweepConfig,
  message: RetentionSweepMessage,
): void {
  if (message.type === "sweep-due") return step(ctx, config, NODE_STORE, 0);
  const { bucket, forgotten } = message;
  let failures = message.failures;
  if (forgotten.ok) config.forgotten(forgotten.value);
  else if (failures++ === 0) {
    // Once a sweep: an unreachable log fails every bucket alike.
    ctx.log.warn("retention sweep failed", { bucket, code: errorCode(forgotten.error) });
  }
  const next = forgotten.ok && forgotten.value >= SWEEP_STEP_LIMIT ? bucket : bucket + 1;
  if (next >= DECIDE_BUCKETS) return scheduleSweep(ctx, config);
  step(ctx, config, next, failures);
}

/** Forgets the due records of one bucket (or of the node's store). */
function step(
  ctx: ActorContext<RetentionSweepMessage>,
  config: RetentionSweepConfig,
  bucket: number,
  failures: number,
): void {
  const nowMs = ctx.nowMs();
  const forgetting = bucket === NODE_STORE
    ? forgetDue(ctx.store, KEPT_RECORDS_INDEX, nowMs, SWEEP_STEP_LIMIT)
    : config.decideLog.forget(bucket, nowMs, SWEEP_STEP_LIMIT);
  ctx.pipeToSelf(forgetting, (forgotten) => ({ type: "swept", bucket, forgotten, failures }));
}

/**
 * The epoch manager: advances the swarm's epoch through the decide log and
 * announces it with RECONCILE (after a partition heals, or on an operator's
 * request). Decisions and leases fenced by an older epoch are refused from
 * then on (P4).
 *
 * @module
 */

import type { ActorRef, Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorMessage } from "../runtime/errors.ts";
import type { DecideLog } from "../runtime/store/decide_log.ts";
import { type LeaseDrop, PAYLOAD_LIST_MAX } from "../protocols/lifecycle/payloads.ts";
import type { CoreMessage } from "./swarm_messages.ts";

/** Most orphaned NEEDs, and most lease drops, one RECONCILE names. */
const PART = PAYLOAD_LIST_MAX;

/** Messages of the epoch manager. */
export type EpochManagerMessage =
  | {
    readonly type: "reconcile";
    readonly orphaned?: readonly string[];
    /** Tasks leased on both sides of a partition, as the merge resolved them (AP mode). */
    readonly leases?: readonly LeaseDrop[];
    readonly replyTo?: ActorRef<Settled<number>>;
  }
  | {
    readonly type: "advanced";
    readonly from: number;
    readonly result: Settled<number>;
    readonly orphaned: readonly string[];
    readonly leases: readonly LeaseDrop[];
    readonly replyTo?: ActorRef<Settled<number>>;
  };

/** Settings of an epoch manager. */
export interface EpochManagerConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly decideLog: DecideLog;
  /** The reconciliation thread RECONCILE envelopes travel on. */
  readonly thread?: string;
}

/** Makes an epoch manager behaviour. */
export function epochManager(config: EpochManagerConfig): Behavior<EpochManagerMessage> {
  return {
    receive(ctx, message) {
      if (message.type === "reconcile") {
        const advance = config.decideLog.currentEpoch().then((from) =>
          config.decideLog.advanceEpoch(from).then((to) => ({ from, to }))
        );
        ctx.pipeToSelf(advance, (result) => ({
          type: "advanced",
          from: result.ok ? result.value.from : -1,
          result: result.ok ? { ok: true, value: result.value.to } : result,
          orphaned: message.orphaned ?? [],
          leases: message.leases ?? [],
          replyTo: message.replyTo,
        }));
        return;
      }
      message.replyTo?.tell(message.result);
      if (!message.result.ok) {
        ctx.log.warn("epoch advance failed", { error: errorMessage(message.result.error) });
        return;
      }
      const toEpoch = message.result.value;
      config.core.tell({ type: "set-epoch", epoch: toEpoch });
      // Payload lists are bounded: long ones go out in several RECONCILEs of the same epochs.
      const { orphaned, leases } = message;
      const parts = Math.max(1, Math.ceil(Math.max(orphaned.length, leases.length) / PART));
      for (let part = 0; part < parts; part++) {
        const drops = leases.slice(part * PART, (part + 1) * PART);
        config.core.tell({
          type: "emit",
          kind: "RECONCILE",
          thread: config.thread ?? "swarm-epochs",
          payload: {
            fromEpoch: message.from,
            toEpoch,
            orphaned: orphaned.slice(part * PART, (part + 1) * PART),
            ...(drops.length > 0 ? { leases: drops } : {}),
          },
        });
      }
    },
  };
}

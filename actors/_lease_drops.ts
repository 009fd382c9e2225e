/**
 * Lease drops a RECONCILE names (AP mode), waiting for the decide log to
 * confirm them. A node sets aside the work of a dropped lease
 * (`protocols/lifecycle/lease_drop.ts`) only once its own decide log holds
 * the kept lease for the task: the merge is where the choice was made, so a
 * RECONCILE that names a drop the log does not bear out (a forger's, or a
 * reconciler that merged something this node's log has not) changes nothing.
 * Until the node's log has merged the other side, the check is repeated.
 *
 * @module
 */

import type { ActorContext } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import type { DecideLog, LeaseRecord } from "../runtime/store/decide_log.ts";
import type { LeaseDrop } from "../protocols/lifecycle/payloads.ts";

/** The RECONCILE that named a drop: kept with the thread once the drop is applied. */
export interface DropSource {
  readonly id: string;
  readonly bytes: Uint8Array;
}

/** Checks of one drop before it is given up as unconfirmed. */
export const LEASE_DROP_CHECKS_MAX = 30;
/** Pause between two checks of a drop the log does not bear out yet. */
export const LEASE_DROP_RECHECK_MS = 1_000;
/** Most drops under confirmation at once; more are refused (`E_RECONCILE_BACKLOG`). */
export const LEASE_DROPS_PENDING_MAX = 4_096;

/** Messages the checks send to their actor (the node core). */
export type LeaseDropMessage =
  | {
    readonly type: "lease-drop-check";
    readonly drop: LeaseDrop;
    readonly source: DropSource;
    readonly attempts: number;
  }
  | {
    readonly type: "lease-drop-checked";
    readonly drop: LeaseDrop;
    readonly source: DropSource;
    readonly attempts: number;
    readonly logged: Settled<LeaseRecord | undefined>;
  };

/** What the core does with a judged drop. */
export interface LeaseDropSink {
  /** The log holds the kept lease: set the dropped one aside. */
  confirmed(drop: LeaseDrop, source: DropSource): void;
  /** Counts a refusal by its code. */
  count(code: string): void;
}

/** Drops under confirmation (bounded). */
export class LeaseDropChecks {
  readonly #log: DecideLog;
  #pending = 0;

  constructor(log: DecideLog) {
    this.#log = log;
  }

  /** Starts confirming the drops of a RECONCILE. */
  start(
    ctx: ActorContext<LeaseDropMessage>,
    drops: readonly LeaseDrop[],
    source: DropSource,
    sink: LeaseDropSink,
  ): void {
    for (const drop of drops) {
      if (this.#pending >= LEASE_DROPS_PENDING_MAX) {
        sink.count("E_RECONCILE_BACKLOG");
        continue;
      }
      this.#pending++;
      this.check(ctx, { type: "lease-drop-check", drop, source, attempts: 0 });
    }
  }

  /** Reads the task's lease; the answer comes back as `lease-drop-checked`. */
  check(
    ctx: ActorContext<LeaseDropMessage>,
    { drop, source, attempts }: Extract<LeaseDropMessage, { type: "lease-drop-check" }>,
  ): void {
    ctx.pipeToSelf(this.#log.getLease(drop.taskId), (logged) => ({
      type: "lease-drop-checked",
      drop,
      source,
      attempts: attempts + 1,
      logged,
    }));
  }

  /** Judges the log's answer: confirm, ask again later, or give up (`E_RECONCILE_UNCONFIRMED`). */
  checked(
    ctx: ActorContext<LeaseDropMessage>,
    { drop, source, attempts, logged }: Extract<LeaseDropMessage, { type: "lease-drop-checked" }>,
    sink: LeaseDropSink,
  ): void {
    if (logged.ok && logged.value?.leaseId === drop.kept) {
      this.#pending--;
      return sink.confirmed(drop, source);
    }
    if (attempts < LEASE_DROP_CHECKS_MAX) {
      ctx.schedule(LEASE_DROP_RECHECK_MS, { type: "lease-drop-check", drop, source, attempts });
      return;
    }
    this.#pending--;
    sink.count("E_RECONCILE_UNCONFIRMED");
  }
}

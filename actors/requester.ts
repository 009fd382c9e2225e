/**
 * The requester: the node's front door for work. It posts NEEDs and tells
 * whoever asked when each one is final or expired, with its latency.
 *
 * Admission: with `openMax`, at most that many of its NEEDs are open in the
 * swarm at once; later posts wait in line, in order, and go out as earlier
 * ones end. A swarm handed far more work than it can coordinate at once
 * finishes less of it, not more: five node processes given 5,000 NEEDs at
 * once finalised 2,187 of them before their deadlines (5 NEEDs/s); with at
 * most 256 open per node, all 5,000 (47 NEEDs/s). A NEED's deadline counts
 * from its post, so one that waited past it ends `expired` without going
 * out. Beyond `inFlightMax` waiting and open, posts are refused.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import { RingQueue } from "../runtime/ring_queue.ts";
import { toHex } from "../protocols/envelope/mod.ts";
import type { TaskSpec } from "../protocols/lifecycle/payloads.ts";
import type { BountyClass } from "../protocols/economics/mod.ts";
import type { ThreadState } from "../protocols/lifecycle/state.ts";
import type { CoreMessage, EmitResult, RoleEvent } from "./swarm_messages.ts";

/** How a NEED ended, for the one who posted it. */
export interface NeedOutcome {
  readonly needId: string;
  /** `abandoned`: this requester stopped before it learned the end (the swarm may still finish it). */
  readonly status: "final" | "expired" | "refused" | "abandoned";
  /** NEED to FINALIZE (or expiry) on this node's clock. */
  readonly latencyMs: number;
  /** Why it was refused, for `refused`. */
  readonly reason?: string;
  /** The refusal's error code, for `refused` (e.g. `E_INSUFFICIENT_FUNDS`). */
  readonly code?: string;
}

/** A request to post a NEED. */
export interface PostNeed {
  readonly type: "post";
  readonly task: TaskSpec;
  readonly bounty: number;
  readonly budget: number;
  /** Relative deadline. */
  readonly deadlineInMs: number;
  /** Caps the bounty and scales challenge bonds; default SIMPLE. */
  readonly bountyClass?: BountyClass;
  /** Told the NEED id as soon as it is posted. */
  readonly postedTo?: ActorRef<string>;
  /** Told the outcome. */
  readonly replyTo?: ActorRef<NeedOutcome>;
}

/** A NEED as the requester knows it: in flight, or how it ended. */
export interface NeedStatus {
  readonly needId: string;
  readonly status: NeedOutcome["status"] | "in-flight";
  readonly postedAtMs: number;
  readonly latencyMs?: number;
}

/** Messages of the requester. */
export type RequesterMessage =
  | PostNeed
  | { readonly type: "list"; readonly replyTo: ActorRef<NeedStatus[]> }
  | RoleEvent
  | { readonly type: "posted"; readonly needId: string; readonly result: EmitResult | undefined }
  | { readonly type: "look"; readonly needId: string; readonly look: number }
  | {
    readonly type: "looked";
    readonly needId: string;
    readonly look: number;
    /** The core knows the thread; undefined when it did not answer either. */
    readonly known: boolean | undefined;
  };

/** Settings of a requester. */
export interface RequesterConfig {
  readonly core: ActorRef<CoreMessage>;
  /** Prefix of NEED ids, unique per node (e.g. the node id). */
  readonly prefix: string;
  /** Most NEEDs in flight, waiting or open; more are refused until some finish. Default 100,000. */
  readonly inFlightMax?: number;
  /** Most NEEDs open in the swarm at once; more wait in line (see the module doc). Default: no bound. */
  readonly openMax?: number;
}

/** Looks for the thread of a NEED the core did not answer in time, before it counts as refused. */
const LOOKS_MAX = 10;
/** Pause between those looks (the NEED may still be queued behind the core's other work). */
const LOOK_MS = 2_000;

/** Finished NEEDs remembered for listing. */
const RECENT_MAX = 1_000;
/** NEEDs in flight listed at most (the oldest). */
const IN_FLIGHT_LISTED_MAX = 1_000;

interface Waiting {
  readonly postedAtMs: number;
  readonly replyTo: ActorRef<NeedOutcome> | undefined;
}

/** A post waiting for an open slot. */
interface Queued {
  readonly needId: string;
  readonly post: PostNeed;
  readonly postedAtMs: number;
}

/** Makes a requester behaviour. */
export function requester(config: RequesterConfig): Behavior<RequesterMessage> {
  const waiting = new Map<string, Waiting>();
  const queue = new RingQueue<Queued>();
  const recent: NeedStatus[] = [];
  let sequence = 0;
  let epoch = 0;
  const inFlightMax = config.inFlightMax ?? 100_000;
  const openMax = config.openMax ?? Infinity;
  return {
    preStart(ctx) {
      config.core.tell({
        type: "watch",
        role: ctx.self as ActorRef<RoleEvent>,
        effects: ["need-final", "need-expired"],
      });
    },
    postStop(ctx) {
      for (const needId of [...waiting.keys()]) {
        finish(needId, "abandoned", ctx.nowMs(), "the requester stopped");
      }
    },
    receive(ctx, message) {
      if (message.type === "post") {
        const needId = `${config.prefix}-${(sequence++).toString(36)}-${toHex(ctx.randomBytes(4))}`;
        if (waiting.size >= inFlightMax) {
          message.replyTo?.tell({
            needId,
            status: "refused",
            latencyMs: 0,
            reason: "too many needs in flight",
          });
          return;
        }
        waiting.set(needId, { postedAtMs: ctx.nowMs(), replyTo: message.replyTo });
        message.postedTo?.tell(needId);
        queue.push({ needId, post: message, postedAtMs: ctx.nowMs() });
        return admit(ctx);
      }
      if (message.type === "list") {
        // Each part has its own bound: however many are in flight, every recent end is listed
        // (a poller learns how NEEDs ended from it).
        const inFlight: NeedStatus[] = [];
        for (const [needId, entry] of waiting) {
          if (inFlight.length === IN_FLIGHT_LISTED_MAX) break;
          inFlight.push({ needId, status: "in-flight", postedAtMs: entry.postedAtMs });
        }
        message.replyTo.tell([...inFlight, ...recent]);
        return;
      }
      if (message.type === "posted") {
        if (message.result?.type === "emitted" || message.result?.type === "held") return;
        if (!waiting.has(message.needId)) return;
        if (message.result === undefined) {
          // No answer in time (a busy core): the NEED may still be published; look for it.
          return void ctx.schedule(LOOK_MS, { type: "look", needId: message.needId, look: 0 });
        }
        const { message: reason, code } = message.result;
        finish(message.needId, "refused", ctx.nowMs(), reason, code);
        return admit(ctx);
      }
      if (message.type === "look") {
        if (!waiting.has(message.needId)) return;
        const { needId, look } = message;
        return ctx.ask<CoreMessage, ThreadState | undefined>(
          config.core,
          (replyTo) => ({ type: "thread", needId, replyTo }),
          (thread) => ({
            type: "looked",
            needId,
            look,
            known: thread.ok ? thread.value !== undefined : undefined,
          }),
        );
      }
      if (message.type === "looked") {
        // A NEED the core knows ends with its FINAL or expiry, like any other.
        if (!waiting.has(message.needId) || message.known === true) return;
        if (message.look + 1 < LOOKS_MAX) {
          const next = { type: "look", needId: message.needId, look: message.look + 1 } as const;
          return void ctx.schedule(LOOK_MS, next);
        }
        const reason = "the core did not answer and does not know the NEED";
        finish(message.needId, "refused", ctx.nowMs(), reason, "E_NO_ANSWER");
        return admit(ctx);
      }
      if (message.type === "core-ready" || message.type === "epoch") {
        epoch = message.epoch;
        return;
      }
      if (message.type !== "effect") return;
      if (message.effect.type === "need-final") finish(message.effect.needId, "final", ctx.nowMs());
      else if (message.effect.type === "need-expired") {
        finish(message.effect.needId, "expired", ctx.nowMs());
      }
      admit(ctx);
    },
  };

  /** Sends out waiting posts, oldest first, while fewer than `openMax` are open. */
  function admit(ctx: ActorContext<RequesterMessage>): void {
    while (queue.size > 0 && waiting.size - queue.size < openMax) {
      const { needId, post, postedAtMs } = queue.shift() as Queued;
      const deadlineMs = postedAtMs + post.deadlineInMs;
      if (ctx.nowMs() >= deadlineMs) {
        finish(needId, "expired", ctx.nowMs(), "its deadline passed while it waited to go out");
        continue;
      }
      ctx.ask<CoreMessage, EmitResult>(config.core, (replyTo) => ({
        type: "emit",
        kind: "NEED",
        thread: needId,
        replyTo,
        payload: {
          needId,
          epoch,
          requires: [],
          produces: ["result"],
          budget: post.budget,
          bounty: post.bounty,
          deadlineMs,
          task: post.task,
          ...(post.bountyClass === undefined ? {} : { bountyClass: post.bountyClass }),
        },
      }), (result) => ({ type: "posted", needId, result: result.ok ? result.value : undefined }));
    }
  }

  function finish(
    needId: string,
    status: NeedOutcome["status"],
    nowMs: number,
    reason?: string,
    code?: string,
  ): void {
    const entry = waiting.get(needId);
    if (entry === undefined) return;
    waiting.delete(needId);
    const latencyMs = nowMs - entry.postedAtMs;
    recent.unshift({ needId, status, postedAtMs: entry.postedAtMs, latencyMs });
    if (recent.length > RECENT_MAX) recent.pop();
    entry.replyTo?.tell({ needId, status, latencyMs, reason, code });
  }
}

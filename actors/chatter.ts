/**
 * Chatter: the runtime's built-in workload. Each chatter sends a budget of
 * messages to random peers after random delays; peers acknowledge and
 * sometimes forward. It exercises timers, randomness, local and remote
 * delivery, supervision (a rare crash under BUGGIFY) and the store, and runs
 * unchanged on the real host and in the simulator.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { Address } from "../runtime/transport/transport.ts";

/** Messages a chatter understands. */
export type ChatterMessage =
  | { readonly type: "tick" }
  | { readonly type: "start" }
  | {
    readonly type: "chat";
    readonly from: ActorRef<ChatterMessage>;
    readonly sequence: number;
    readonly hops: number;
  }
  | { readonly type: "ack"; readonly sequence: number }
  | { readonly type: "news"; readonly node: string; readonly sequence: number }
  | { readonly type: "status"; readonly replyTo: ActorRef<ChatterReport> };

/** What a chatter reports when its budget is spent (or when asked for its status). */
export interface ChatterReport {
  readonly type: "chatter-done" | "chatter-status";
  readonly address: Address;
  readonly sent: number;
  readonly received: number;
  readonly acknowledged: number;
  /** News this chatter published on the topic. */
  readonly published: number;
  /** News heard on the topic from chatters on other nodes. */
  readonly heard: number;
}

/** Settings of one chatter. */
export interface ChatterConfig {
  /** Every chatter of the run, this one included. */
  readonly peers: readonly Address[];
  /** Chats this actor originates. */
  readonly messageBudget: number;
  /** Upper bound of the random pause between two chats. */
  readonly pauseMaxMs: number;
  /** Chance that a received chat is forwarded to another peer. */
  readonly forwardRate: number;
  /** Forwarding stops after this many hops. */
  readonly hopsMax: number;
  /** Receives the report when the budget is spent. */
  readonly reportTo?: ActorRef<ChatterReport>;
  /** A topic the chatter subscribes to and publishes news on; none when absent. */
  readonly topic?: string;
  /** Publish news every this many chats (default 10). */
  readonly publishEvery?: number;
  /** Wait for a `start` message before chatting (default false: start at once). */
  readonly waitForStart?: boolean;
}

/** Raised by BUGGIFY to exercise supervision. */
export class ChatterFault extends Error {
  constructor(path: string) {
    super(`Chatter ${path} failed on purpose (buggify)`);
  }
}

/**
 * Makes a chatter behaviour.
 *
 * @example
 * ```ts
 * system.spawn(() => chatter({ peers, messageBudget: 100, pauseMaxMs: 5, forwardRate: 0.2, hopsMax: 2 }));
 * ```
 */
export function chatter(config: ChatterConfig): Behavior<ChatterMessage> {
  let sent = 0;
  let received = 0;
  let acknowledged = 0;
  let published = 0;
  let heard = 0;
  let reported = false;
  const publishEvery = config.publishEvery ?? 10;

  const pickPeer = (ctx: ActorContext<ChatterMessage>): ActorRef<ChatterMessage> | undefined => {
    const self = ctx.self.address;
    const others = config.peers.filter((peer) =>
      peer.node !== self.node || peer.path !== self.path
    );
    if (others.length === 0) return undefined;
    return ctx.refFor(others[ctx.randomInt(others.length)]);
  };

  const counts = (ctx: ActorContext<ChatterMessage>, type: ChatterReport["type"]) => ({
    type,
    address: ctx.self.address,
    sent,
    received,
    acknowledged,
    published,
    heard,
  });

  const report = (ctx: ActorContext<ChatterMessage>) => {
    if (reported || config.reportTo === undefined) return;
    reported = true;
    config.reportTo.tell(counts(ctx, "chatter-done"));
  };

  const maybePublish = (ctx: ActorContext<ChatterMessage>) => {
    if (config.topic === undefined || sent % publishEvery !== 0) return;
    ctx.publish(config.topic, { type: "news", node: ctx.nodeId, sequence: published });
    published++;
  };

  return {
    preStart(ctx) {
      if (config.topic !== undefined) ctx.subscribe(config.topic);
      if (config.waitForStart) return;
      ctx.schedule(ctx.random() * config.pauseMaxMs, { type: "tick" }, { key: "tick" });
    },
    receive(ctx, message) {
      switch (message.type) {
        case "start":
          ctx.schedule(ctx.random() * config.pauseMaxMs, { type: "tick" }, { key: "tick" });
          return;
        case "tick": {
          const peer = pickPeer(ctx);
          if (peer === undefined || sent >= config.messageBudget) return report(ctx);
          peer.tell({ type: "chat", from: ctx.self, sequence: sent, hops: 0 }, ctx.self);
          sent++;
          maybePublish(ctx);
          ctx.schedule(ctx.random() * config.pauseMaxMs, { type: "tick" }, { key: "tick" });
          return;
        }
        case "chat": {
          received++;
          if (ctx.buggify("chatter.crash")) throw new ChatterFault(ctx.self.address.path);
          message.from.tell({ type: "ack", sequence: message.sequence }, ctx.self);
          if (message.hops < config.hopsMax && ctx.random() < config.forwardRate) {
            pickPeer(ctx)?.tell({ ...message, hops: message.hops + 1 }, ctx.self);
          }
          return;
        }
        case "ack":
          acknowledged++;
          return;
        case "news":
          if (message.node !== ctx.nodeId) heard++;
          return;
        case "status":
          message.replyTo.tell(counts(ctx, "chatter-status"));
          return;
      }
    },
  };
}

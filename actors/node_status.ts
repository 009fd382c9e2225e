/**
 * The node status actor: counts boots durably in the node's store and
 * reports a heartbeat, so an operator sees that a node is alive and that its
 * store survives restarts.
 *
 * @module
 */

import type { ActorRef, Behavior } from "../runtime/actor.ts";

/** Messages of the node status actor. */
export type NodeStatusMessage =
  | { readonly type: "heartbeat" }
  | { readonly type: "status"; readonly replyTo: ActorRef<NodeStatus> };

/** What the node status actor reports. */
export interface NodeStatus {
  readonly nodeId: string;
  /** How many times this node has booted on its store, this boot included. */
  readonly boots: number;
  readonly uptimeMs: number;
  readonly heartbeats: number;
}

/** Store key of the boot counter. */
export const BOOT_COUNTER_KEY = ["node", "boots"] as const;

/**
 * Makes the node status behaviour; `onHeartbeat` receives each status (the
 * CLI prints it).
 */
export function nodeStatus(options: {
  readonly heartbeatMs: number;
  readonly onHeartbeat?: (status: NodeStatus) => void;
}): Behavior<NodeStatusMessage> {
  let boots = 0;
  let startedMs = 0;
  let heartbeats = 0;
  const status = (nodeId: string, nowMs: number): NodeStatus => ({
    nodeId,
    boots,
    uptimeMs: nowMs - startedMs,
    heartbeats,
  });
  return {
    async preStart(ctx) {
      startedMs = ctx.nowMs();
      const previous = await ctx.store.get<number>(BOOT_COUNTER_KEY);
      boots = (previous?.value ?? 0) + 1;
      await ctx.store.set(BOOT_COUNTER_KEY, boots);
      ctx.log.info("node booted", { boots });
      ctx.schedule(options.heartbeatMs, { type: "heartbeat" }, { key: "heartbeat" });
    },
    receive(ctx, message) {
      if (message.type === "status") {
        message.replyTo.tell(status(ctx.nodeId, ctx.nowMs()));
        return;
      }
      heartbeats++;
      options.onHeartbeat?.(status(ctx.nodeId, ctx.nowMs()));
      ctx.schedule(options.heartbeatMs, { type: "heartbeat" }, { key: "heartbeat" });
    },
  };
}

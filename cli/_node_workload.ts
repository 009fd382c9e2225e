/**
 * The workload a `run node` process can carry: chatter actors that talk to
 * chatters on the other nodes of the swarm (direct messages) and publish
 * news on a shared topic, and a status sampler that asks each chatter for
 * its counts (ask across the actor system) so the process can report them.
 *
 * @module
 */

import { chatter, type ChatterReport } from "../actors/chatter.ts";
import type { ActorRef } from "../runtime/actor.ts";
import type { ActorSystem } from "../runtime/system.ts";
import type { Address } from "../runtime/transport/transport.ts";

/** Topic the chatter workload publishes news on. */
export const CHATTER_TOPIC = "chatter-news";

/** Settings of the chatter workload of one node. */
export interface NodeChatterOptions {
  /** Node ids of every node that runs chatters (this one included). */
  readonly nodes: readonly string[];
  readonly actorsPerNode: number;
  readonly messageBudget: number;
  readonly pauseMaxMs: number;
}

/** Counts summed over a node's chatters. */
export interface ChatterTotals {
  sent: number;
  received: number;
  acknowledged: number;
  published: number;
  heard: number;
}

/** A node's chatters: `start` sets them chatting, `sample` sums their counts. */
export interface NodeChatter {
  start(): void;
  sample(): Promise<ChatterTotals>;
}

/**
 * Spawns this node's chatters, idle until `start()`: they can receive at
 * once (so early chats from faster nodes are not dead letters), and chat
 * once the caller has seen the other nodes.
 */
export function spawnNodeChatter(system: ActorSystem, options: NodeChatterOptions): NodeChatter {
  const peers: Address[] = options.nodes.flatMap((node) =>
    Array.from({ length: options.actorsPerNode }, (_, index) => ({
      node,
      path: `/user/chatter-${index}`,
    }))
  );
  const chatters: ActorRef<Parameters<ReturnType<typeof chatter>["receive"]>[1]>[] = [];
  for (let index = 0; index < options.actorsPerNode; index++) {
    chatters.push(system.spawn(() =>
      chatter({
        peers,
        messageBudget: options.messageBudget,
        pauseMaxMs: options.pauseMaxMs,
        forwardRate: 0.1,
        hopsMax: 1,
        topic: CHATTER_TOPIC,
        publishEvery: 5,
        waitForStart: true,
      }), { name: `chatter-${index}` }));
  }
  const start = () => {
    for (const ref of chatters) ref.tell({ type: "start" });
  };
  const sample = async () => {
    const totals: ChatterTotals = { sent: 0, received: 0, acknowledged: 0, published: 0, heard: 0 };
    const reports = await Promise.allSettled(
      chatters.map((ref) =>
        system.ask<never, ChatterReport>(
          ref as never,
          (replyTo) => ({ type: "status", replyTo }) as never,
          { timeoutMs: 2_000 },
        )
      ),
    );
    for (const report of reports) {
      if (report.status !== "fulfilled") continue;
      for (const key of Object.keys(totals) as (keyof ChatterTotals)[]) {
        totals[key] += report.value[key];
      }
    }
    return totals;
  };
  return { start, sample };
}

/**
 * The plan actor of a node: owns the node's plan replica (recovered from
 * the node's store at start), appends ops for local authors, and keeps the
 * replica in sync with the plan actors of known peers, on every change and
 * on a periodic tick that repairs lost messages and healed partitions.
 *
 * Nothing a peer sends can crash it: malformed messages, bad or oversized
 * sync messages are rejected with a typed error, counted and logged.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import { errorCode, errorMessage } from "../runtime/errors.ts";
import { BlobLogs } from "../runtime/store/blob_log.ts";
import type { Address } from "../runtime/transport/transport.ts";
import type { AppendResult } from "../protocols/plan/plan_store.ts";
import { PlanStore } from "../protocols/plan/plan_store.ts";
import { type OutgoingSync, PlanSyncPeers } from "../protocols/plan/plan_sync.ts";

/** A reply to {@linkcode PlanAppend}. */
export type PlanAppendReply =
  | { readonly type: "plan-appended"; readonly ok: true; readonly results: AppendResult[] }
  | {
    readonly type: "plan-appended";
    readonly ok: false;
    readonly code: string;
    readonly message: string;
  };

/** Asks the plan actor to append ops authored on this node; answered once they are durable. */
export interface PlanAppend {
  readonly type: "plan-append";
  readonly ops: readonly unknown[];
  readonly replyTo: ActorRef<PlanAppendReply>;
}

/** A sync message from a peer's plan actor. */
export interface PlanSyncWire {
  readonly type: "plan-sync";
  readonly thread: string;
  readonly data: Uint8Array;
}

/** Messages the plan actor understands. */
export type PlanSyncMessage = PlanAppend | PlanSyncWire | { readonly type: "plan-tick" };

/** Settings of the plan actor. */
export interface PlanSyncConfig {
  /** Plan actors of the other nodes. */
  readonly peers: readonly Address[];
  /** Period of the repair tick. Default 1,000 ms. */
  readonly intervalMs?: number;
  /** Largest sync message accepted. Default 16 MiB. */
  readonly messageBytesMax?: number;
  /** Increments per thread before compaction. Default 256. */
  readonly compactEvery?: number;
  /** Store namespace of the thread logs. Default `"plan"`. */
  readonly namespace?: string;
  /** Instrumentation: called with the replica once it is loaded (tests, tools). */
  readonly observe?: (replica: { store: PlanStore; sync: PlanSyncPeers }) => void;
}

/** Default period of the repair tick. */
export const PLAN_SYNC_INTERVAL_MS_DEFAULT = 1_000;

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function peerKey(address: Address): string {
  return `${address.node}${address.path}`;
}

/**
 * Makes the plan actor.
 *
 * @example
 * ```ts
 * system.spawn(() => planSync({ peers: [{ node: "node-1", path: "/user/plan" }] }), { name: "plan" });
 * ```
 */
export function planSync(config: PlanSyncConfig): Behavior<PlanSyncMessage> {
  const intervalMs = config.intervalMs ?? PLAN_SYNC_INTERVAL_MS_DEFAULT;
  const addresses = new Map(config.peers.map((address) => [peerKey(address), address]));
  let store: PlanStore;
  let sync: PlanSyncPeers;

  const send = (ctx: ActorContext<PlanSyncMessage>, out: readonly OutgoingSync[]) => {
    for (const message of out) {
      const address = addresses.get(message.peer);
      if (address === undefined) continue;
      ctx.refFor<PlanSyncWire>(address).tell(
        { type: "plan-sync", thread: message.thread, data: message.data },
        ctx.self as ActorRef<never>,
      );
    }
  };

  const reject = (ctx: ActorContext<PlanSyncMessage>, error: unknown, from: string) => {
    ctx.log.warn("plan sync message rejected", {
      from,
      code: errorCode(error),
      error: errorMessage(error),
    });
  };

  const append = async (ctx: ActorContext<PlanSyncMessage>, message: PlanAppend) => {
    if (typeof message.replyTo?.tell !== "function" || !Array.isArray(message.ops)) {
      sync.stats.rejected.E_PLAN_SYNC_MALFORMED = (sync.stats.rejected.E_PLAN_SYNC_MALFORMED ?? 0) +
        1;
      return reject(ctx, new Error("plan-append without ops array or replyTo"), "(local)");
    }
    try {
      const results = await store.appendOps(message.ops);
      message.replyTo.tell({ type: "plan-appended", ok: true, results });
      const threads = new Set(
        message.ops.map((op) => (op as { thread: string }).thread),
      );
      send(ctx, sync.announce(threads));
    } catch (error) {
      message.replyTo.tell({
        type: "plan-appended",
        ok: false,
        code: errorCode(error),
        message: errorMessage(error),
      });
    }
  };

  const receiveSync = async (ctx: ActorContext<PlanSyncMessage>, message: PlanSyncWire) => {
    const sender = ctx.sender?.address;
    const from = sender === undefined ? "(unknown)" : peerKey(sender);
    if (sender === undefined || !(message.data instanceof Uint8Array)) {
      sync.stats.rejected.E_PLAN_SYNC_MALFORMED = (sync.stats.rejected.E_PLAN_SYNC_MALFORMED ?? 0) +
        1;
      return reject(ctx, new Error("sync message without sender or binary data"), from);
    }
    try {
      const receipt = await sync.receive(from, message.thread, message.data);
      if (!addresses.has(from)) addresses.set(from, { node: sender.node, path: sender.path });
      send(ctx, receipt.replies);
    } catch (error) {
      reject(ctx, error, from);
    }
  };

  return {
    async preStart(ctx) {
      store = await PlanStore.open({
        actorId: hex(ctx.randomBytes(16)),
        persistence: new BlobLogs(ctx.store, config.namespace ?? "plan"),
        compactEvery: config.compactEvery,
      });
      sync = new PlanSyncPeers(store, { messageBytesMax: config.messageBytesMax });
      for (const key of addresses.keys()) sync.addPeer(key);
      config.observe?.({ store, sync });
      ctx.schedule(0, { type: "plan-tick" }, { key: "plan-tick" });
    },
    async receive(ctx, message) {
      switch (message?.type) {
        case "plan-append":
          return await append(ctx, message);
        case "plan-sync":
          return await receiveSync(ctx, message);
        case "plan-tick":
          send(ctx, sync.tick());
          ctx.schedule(intervalMs, { type: "plan-tick" }, { key: "plan-tick" });
          return;
        default:
          sync.stats.rejected.E_PLAN_SYNC_MALFORMED =
            (sync.stats.rejected.E_PLAN_SYNC_MALFORMED ?? 0) + 1;
          reject(ctx, new Error("unknown message type"), String(ctx.sender?.address.node));
      }
    },
  };
}

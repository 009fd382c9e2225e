/**
 * Peer sync of plan documents with Automerge's sync protocol: one sync
 * state per (peer, thread), so each exchange carries only the changes the
 * peer lacks (heads plus a Bloom filter of what it has).
 *
 * Pure bookkeeping: it returns the messages to send and never sends them
 * itself; the plan-sync actor moves them over the runtime's transport.
 * Losses are repaired by {@linkcode PlanSyncPeers.tick}: a peer that is not
 * known to hold all our changes gets its sync state reset (the protocol's
 * reconnect: only the shared heads survive) and a fresh message, so a lost,
 * duplicated or reordered message or a partition delays sync but cannot
 * stall it.
 *
 * @module
 */

import * as Automerge from "@automerge/automerge";
import { errorCode } from "../../runtime/errors.ts";
import { PlanError, PlanSyncTooLargeError } from "./errors.ts";
import type { PlanOp } from "./op.ts";
import { checkThreadId, type PlanStore } from "./plan_store.ts";
import type { PlanSyncState } from "./thread_doc.ts";

/** Largest sync message accepted by default (16 MiB: about 100,000 plan ops). */
export const SYNC_MESSAGE_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Most peers tracked by default. */
export const SYNC_PEERS_MAX_DEFAULT = 256;
/** Most messages one tick emits by default; the rest wait for later ticks. */
export const SYNC_TICK_MESSAGES_MAX_DEFAULT = 512;

/** Options of {@linkcode PlanSyncPeers}. */
export interface PlanSyncOptions {
  readonly messageBytesMax?: number;
  readonly peersMax?: number;
  readonly tickMessagesMax?: number;
}

/** A message to hand to the transport. */
export interface OutgoingSync {
  readonly peer: string;
  readonly thread: string;
  readonly data: Uint8Array;
}

/** What sync did, for metrics and tests. */
export interface PlanSyncStats {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  opsReceived: number;
  resets: number;
  /** Rejected incoming messages by error code. */
  rejected: Record<string, number>;
}

/** The outcome of one received message. */
export interface SyncReceipt {
  /** Ops that became visible here. */
  readonly ops: readonly PlanOp[];
  /** Messages to send in answer (to the sender, and onward when ops were new). */
  readonly replies: readonly OutgoingSync[];
}

/** Sync states with every peer for every thread of one store. */
export class PlanSyncPeers {
  readonly stats: PlanSyncStats = {
    messagesSent: 0,
    bytesSent: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    opsReceived: 0,
    resets: 0,
    rejected: {},
  };
  readonly #store: PlanStore;
  readonly #states = new Map<string, Map<string, PlanSyncState>>();
  readonly #messageBytesMax: number;
  readonly #peersMax: number;
  readonly #tickMessagesMax: number;
  #tickCursor = 0;

  constructor(store: PlanStore, options: PlanSyncOptions = {}) {
    this.#store = store;
    this.#messageBytesMax = options.messageBytesMax ?? SYNC_MESSAGE_BYTES_MAX_DEFAULT;
    this.#peersMax = options.peersMax ?? SYNC_PEERS_MAX_DEFAULT;
    this.#tickMessagesMax = options.tickMessagesMax ?? SYNC_TICK_MESSAGES_MAX_DEFAULT;
  }

  /** Known peers, sorted. */
  peers(): string[] {
    return [...this.#states.keys()].sort();
  }

  /** Starts tracking a peer (no-op when known); throws `E_PLAN_SYNC_PEERS` over the bound. */
  addPeer(peer: string): void {
    if (this.#states.has(peer)) return;
    if (this.#states.size >= this.#peersMax) {
      throw new PlanError(
        "E_PLAN_SYNC_PEERS",
        `Cannot sync with ${
          JSON.stringify(peer)
        }: already tracking the maximum of ${this.#peersMax} peers`,
      );
    }
    this.#states.set(peer, new Map());
  }

  /** Messages telling every peer about local changes to `threads`. */
  announce(threads: Iterable<string>, except?: string): OutgoingSync[] {
    const out: OutgoingSync[] = [];
    for (const thread of threads) {
      for (const peer of this.#states.keys()) {
        if (peer !== except) this.#generate(peer, thread, out);
      }
    }
    return out;
  }

  /**
   * Applies a peer's message. Bad or oversized messages throw a typed error
   * (counted in `stats.rejected`) and leave the document as it was.
   */
  async receive(peer: string, thread: string, data: Uint8Array): Promise<SyncReceipt> {
    try {
      if (data.length > this.#messageBytesMax) {
        throw new PlanSyncTooLargeError(data.length, this.#messageBytesMax);
      }
      checkThreadId(thread);
      this.addPeer(peer);
      const states = this.#states.get(peer)!;
      const state = states.get(thread) ?? Automerge.initSyncState();
      const [next, ops] = await this.#store.receiveSyncMessage(thread, state, data);
      states.set(thread, next);
      this.stats.messagesReceived++;
      this.stats.bytesReceived += data.length;
      this.stats.opsReceived += ops.length;
      const replies: OutgoingSync[] = [];
      this.#generate(peer, thread, replies);
      if (ops.length > 0) replies.push(...this.announce([thread], peer));
      return { ops, replies };
    } catch (error) {
      const code = errorCode(error);
      this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + 1;
      throw error;
    }
  }

  /**
   * The periodic repair: for every (peer, thread) where the peer is not
   * known to hold all our changes, reset the sync state and send afresh.
   */
  tick(): OutgoingSync[] {
    const pairs: [string, string][] = [];
    for (const peer of this.#states.keys()) {
      for (const thread of this.#store.threads()) pairs.push([peer, thread]);
    }
    const out: OutgoingSync[] = [];
    for (let step = 0; step < pairs.length && out.length < this.#tickMessagesMax; step++) {
      const [peer, thread] = pairs[(this.#tickCursor + step) % pairs.length];
      const states = this.#states.get(peer)!;
      const state = states.get(thread) ?? Automerge.initSyncState();
      if (this.#store.peerHasOurChanges(thread, state)) continue;
      states.set(thread, Automerge.decodeSyncState(Automerge.encodeSyncState(state)));
      this.stats.resets++;
      this.#generate(peer, thread, out);
    }
    this.#tickCursor = pairs.length === 0 ? 0 : (this.#tickCursor + 1) % pairs.length;
    return out;
  }

  #generate(peer: string, thread: string, out: OutgoingSync[]): void {
    if (!this.#store.hasThread(thread)) return;
    const states = this.#states.get(peer)!;
    const [next, message] = this.#store.generateSyncMessage(
      thread,
      states.get(thread) ?? Automerge.initSyncState(),
    );
    states.set(thread, next);
    if (message === null) return;
    this.stats.messagesSent++;
    this.stats.bytesSent += message.length;
    out.push({ peer, thread, data: message });
  }
}

/**
 * Messages between a node's core and its role actors (planner, verifier,
 * worker, decider, requester).
 *
 * Roles never sign or publish themselves: they ask the core to emit an
 * envelope, and the core tells them what the lifecycle concluded (effects,
 * with the thread's state at that moment).
 *
 * @module
 */

import type { ActorRef } from "../runtime/actor.ts";
import type { ConfirmationMessage } from "./_decide_confirmation.ts";
import type { LeaseDropMessage } from "./_lease_drops.ts";
import type {
  LifecycleMessage,
  LifecycleVerb,
  PayloadOf,
} from "../protocols/lifecycle/payloads.ts";
import type { Effect, ThreadState } from "../protocols/lifecycle/state.ts";
import type { EconomyStats, LedgerAnswer, LedgerQuery } from "../protocols/economics/mod.ts";

/** What a role asks the core to sign and publish. */
export interface EmitRequest<V extends LifecycleVerb = LifecycleVerb> {
  readonly kind: V;
  readonly thread: string;
  readonly payload: PayloadOf[V];
  readonly epoch?: number;
  readonly fence?: number;
  /**
   * Sign only, held under this key (unique to the requester: a worker uses
   * its lease id). The envelope is checked and signed, then held (told back
   * as `held`, with its bytes) until a `publish-held` names the key;
   * `drop-held` discards it, even before it is signed. A worker writes its
   * signed CLAIM into its lease this way.
   */
  readonly hold?: string;
  /** Told the outcome (the envelope id, or why it was refused). */
  readonly replyTo?: ActorRef<EmitResult>;
}

/** The outcome of an emit. */
export type EmitResult =
  | {
    readonly type: "emitted";
    readonly id: string;
    readonly kind: LifecycleVerb;
    readonly thread: string;
  }
  | {
    readonly type: "refused";
    readonly code: string;
    readonly message: string;
    readonly kind: LifecycleVerb;
  }
  | {
    /** Signed and held (an emit with `hold`): not applied or published yet. */
    readonly type: "held";
    readonly id: string;
    readonly kind: LifecycleVerb;
    readonly thread: string;
    readonly bytes: Uint8Array;
  };

/** What the core tells its roles. */
export type RoleEvent =
  | {
    readonly type: "effect";
    readonly effect: Effect;
    /** The thread after the transition that produced the effect. */
    readonly thread: ThreadState;
  }
  | {
    /** The core is ready: its identity, epoch and the active verifiers are known. */
    readonly type: "core-ready";
    readonly did: string;
    readonly epoch: number;
    readonly bootstrap: boolean;
    readonly core: ActorRef<CoreMessage>;
  }
  | { readonly type: "epoch"; readonly epoch: number }
  | { readonly type: "bootstrap"; readonly bootstrap: boolean };

/** Counters of the core, for status output and tests. */
export interface CoreStats {
  readonly did: string;
  readonly epoch: number;
  readonly emitted: number;
  readonly accepted: number;
  /** Envelopes from peers (and sync replies) refused, by code. */
  readonly rejected: Readonly<Record<string, number>>;
  /**
   * This node's own emits refused, by code: a role asked for an envelope
   * the thread no longer allows (the second bidder for a task already
   * claimed, a vote after its window), so nothing was sent.
   */
  readonly declined: Readonly<Record<string, number>>;
  readonly parked: number;
  readonly threads: number;
  readonly finalNeeds: number;
  /** The ledger's counters, when the node runs the economy. */
  readonly economics?: EconomyStats;
}

/** Everything the core understands. */
export type CoreMessage =
  | { readonly type: "envelope"; readonly bytes: Uint8Array }
  | ({ readonly type: "emit" } & EmitRequest)
  /** Applies and publishes the envelope held under `key`; told as an emit is. */
  | {
    readonly type: "publish-held";
    readonly key: string;
    /** The verb it was signed as (named in a refusal when it is no longer held). */
    readonly kind: LifecycleVerb;
    readonly replyTo?: ActorRef<EmitResult>;
  }
  /** Discards the envelope held, or about to be held, under `key`. */
  | { readonly type: "drop-held"; readonly key: string }
  /** Asks the peers for what they hold of `thread` (at most once per sync interval). */
  | { readonly type: "sync-thread"; readonly thread: string }
  | {
    readonly type: "watch";
    readonly role: ActorRef<RoleEvent>;
    /**
     * The effect types the role acts on: it is sent only those (every one
     * when absent). Other role events (ready, epoch, bootstrap) go to every role.
     */
    readonly effects?: readonly Effect["type"][];
  }
  | {
    readonly type: "thread";
    readonly needId: string;
    readonly replyTo: ActorRef<ThreadState | undefined>;
  }
  | { readonly type: "stats"; readonly replyTo: ActorRef<CoreStats> }
  /** The threads still open (OPEN or DECIDED): a decider that takes over buckets adopts them. */
  | { readonly type: "open-threads"; readonly replyTo: ActorRef<readonly ThreadState[]> }
  | {
    /** A read-only ledger query; undefined when the node runs no economy. */
    readonly type: "ledger";
    readonly query: LedgerQuery;
    readonly replyTo: ActorRef<LedgerAnswer | undefined>;
  }
  | { readonly type: "sweep" }
  | { readonly type: "retry"; readonly thread: string }
  | { readonly type: "set-epoch"; readonly epoch: number }
  | { readonly type: "set-bootstrap"; readonly bootstrap: boolean }
  | { readonly type: "audit-failed"; readonly reason: string }
  | {
    /** A peer asks for the envelopes of some threads, or of every open thread when none are named. */
    readonly type: "sync-request";
    readonly threads?: readonly string[];
    /** Ids of envelopes of those threads the asker holds already: the answer leaves them out. */
    readonly have?: readonly string[];
    /**
     * The asker has heard no peer on these threads, only itself: a peer that
     * never heard of one asks the asker for it (its NEED may have reached nobody).
     */
    readonly unheard?: boolean;
    readonly replyTo: ActorRef<CoreMessage>;
  }
  | { readonly type: "sync-reply"; readonly envelopes: readonly Uint8Array[] }
  /** Internal: the decide log's answers about DECIDEs under confirmation. */
  | ConfirmationMessage
  /** Internal: the decide log's answers about lease drops a RECONCILE named. */
  | LeaseDropMessage;

/** A hook that sees every message the core accepted (history for checkers, metrics). */
export type AcceptedHook = (message: LifecycleMessage, nodeDid: string) => void;

/** A hook that sees every effect the lifecycle produced on a node, with the thread after it. */
export type EffectHook = (effect: Effect, thread: ThreadState, nodeDid: string) => void;

/**
 * The capsule distributor: announces policy capsules to the swarm and
 * installs the ones it receives. An offer is verified off the actor's turn
 * (signature, texts, engine, conformance; `verifyCapsule`), staged in the
 * node's {@linkcode CapsuleRegistry}, and put in force when the node
 * reports the epoch boundary it waits for. Staged capsules are kept in the
 * node's store and verified again after a restart, so a node that was away
 * when the swarm switched comes back under the capsule in force. Bad offers
 * are counted and logged; nothing a peer sends can fail the actor.
 *
 * Offers travel on {@linkcode CAPSULE_TOPIC} as the author's signed
 * package (signature over the canonical body, content-addressed by its
 * hash), so any node can relay one and none can alter it. The topic is heard by a
 * child actor that forwards only offers, so a peer can never reach the
 * distributor's local commands (`epoch`, `announce`, `status`).
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorCode, errorMessage } from "../runtime/errors.ts";
import type { StoreEntry } from "../runtime/store/store.ts";
import {
  type CapsulePackage,
  type InstalledCapsule,
  type SignatureVerifier,
  verifyCapsule,
} from "../policies/capsule.ts";
import type { CapsuleRegistry } from "../policies/capsule_registry.ts";
import type { CedarRuntime } from "../policies/cedar_runtime.ts";
import type { ConformanceSuite } from "../policies/conformance.ts";
import { toHex } from "../policies/hash.ts";
import type { CoreMessage, RoleEvent } from "./swarm_messages.ts";
import { EvictionCursor } from "../runtime/eviction_cursor.ts";

/** The topic capsule offers are published on. */
export const CAPSULE_TOPIC = "/swarm/policy/capsules";

/** Where a node keeps the capsules it staged, so a restart recovers them. */
export const CAPSULE_STORE_PREFIX = ["capsules"] as const;

/** Most kept capsules read back at start. */
const KEPT_MAX = 64;

/** The message published on {@linkcode CAPSULE_TOPIC}. */
export interface CapsuleOffer {
  readonly type: "capsule-offer";
  readonly package: CapsulePackage;
}

/** Told to `notify` when the node switches capsules. */
export interface CapsuleSwitched {
  readonly type: "capsule-switched";
  readonly epoch: number;
  readonly capsuleHash: string;
  readonly previousHash: string;
}

/** What the distributor reports on `status`. */
export interface CapsuleDistributorStatus {
  readonly activeHash: string;
  readonly epoch: number;
  readonly pending: readonly string[];
  readonly received: number;
  readonly staged: number;
  readonly switched: number;
  /** Refused offers per error code. */
  readonly rejected: Readonly<Record<string, number>>;
}

/** Messages of the distributor (and, when it watches a node core, the core's role events). */
export type CapsuleDistributorMessage =
  | Exclude<RoleEvent, { type: "epoch" }>
  | { readonly type: "announce"; readonly package: CapsulePackage }
  | { readonly type: "capsule-offer"; readonly package: unknown }
  | { readonly type: "epoch"; readonly epoch: number }
  | { readonly type: "status"; readonly replyTo: ActorRef<CapsuleDistributorStatus> }
  | {
    readonly type: "verified";
    readonly key: string;
    readonly result: Settled<InstalledCapsule>;
    /** The package, to keep in the store; absent for capsules read back from it. */
    readonly keep?: CapsulePackage;
  }
  | { readonly type: "restored"; readonly result: Settled<StoreEntry<unknown>[]> }
  | { readonly type: "kept"; readonly hash: string; readonly result: Settled<string> };

/** What the distributor needs from its node. */
export interface CapsuleDistributorConfig {
  readonly registry: CapsuleRegistry;
  readonly runtime: CedarRuntime;
  readonly verify: SignatureVerifier;
  readonly trustedAuthors: ReadonlySet<string>;
  /**
   * The node's core: when given, the distributor watches it and switches
   * capsules at the epochs the core reaches (RECONCILE, or a local advance).
   */
  readonly core?: ActorRef<CoreMessage>;
  /** This node's conformance suite; default the shipped one. */
  readonly suite?: ConformanceSuite;
  /** Receives a {@linkcode CapsuleSwitched} at every switch. */
  readonly notify?: ActorRef<CapsuleSwitched>;
  /** Offers remembered to skip repeats. Default 256. */
  readonly seenMax?: number;
  /** Verifications in flight at once; more offers wait for a repeat. Default 4. */
  readonly inFlightMax?: number;
}

/**
 * Makes the distributor behaviour.
 *
 * @example
 * ```ts
 * const distributor = system.spawn(() => capsuleDistributor({ registry, runtime, verify, trustedAuthors }),
 *   { name: "capsules" });
 * distributor.tell({ type: "announce", package: pkg });
 * distributor.tell({ type: "epoch", epoch: 7 });
 * ```
 */
export function capsuleDistributor(
  config: CapsuleDistributorConfig,
): Behavior<CapsuleDistributorMessage> {
  const seen = new Set<string>();
  const seenOldest = new EvictionCursor(seen);
  const inFlight = new Set<string>();
  const seenMax = config.seenMax ?? 256;
  const inFlightMax = config.inFlightMax ?? 4;
  const rejected = new Map<string, number>();
  const counts = { received: 0, staged: 0, switched: 0 };

  const reject = (ctx: ActorContext<CapsuleDistributorMessage>, error: unknown) => {
    const code = errorCode(error);
    rejected.set(code, (rejected.get(code) ?? 0) + 1);
    ctx.log.warn("policy capsule refused", { code, error: errorMessage(error) });
  };

  const remember = (key: string) => {
    seen.add(key);
    if (seen.size > seenMax) seenOldest.evict();
  };

  const offer = (
    ctx: ActorContext<CapsuleDistributorMessage>,
    value: unknown,
    restoring = false,
  ) => {
    if (!restoring) counts.received++;
    const signature = (value as { signature?: unknown } | null)?.signature;
    const key = signature instanceof Uint8Array ? toHex(signature.subarray(0, 64)) : undefined;
    if (key !== undefined && (seen.has(key) || inFlight.has(key))) return;
    if (key !== undefined && inFlight.size >= inFlightMax) {
      return reject(ctx, new Error("Too many capsule verifications in flight; offer dropped"));
    }
    const verifying = verifyCapsule(value, {
      runtime: config.runtime,
      verify: config.verify,
      trustedAuthors: config.trustedAuthors,
      suite: config.suite,
    });
    const token = key ?? "malformed";
    if (key !== undefined) inFlight.add(key);
    const keep = restoring ? undefined : value as CapsulePackage;
    ctx.pipeToSelf(verifying, (result) => ({ type: "verified", key: token, result, keep }));
  };

  const verified = (
    ctx: ActorContext<CapsuleDistributorMessage>,
    key: string,
    result: Settled<InstalledCapsule>,
    keep: CapsulePackage | undefined,
  ) => {
    inFlight.delete(key);
    if (!result.ok) return reject(ctx, result.error);
    remember(key);
    const capsule = result.value;
    try {
      const outcome = keep === undefined
        ? config.registry.restore(capsule)
        : config.registry.stage(capsule);
      if (outcome === "staged") {
        counts.staged++;
        ctx.log.info("policy capsule staged", {
          capsule: capsule.hash,
          activationEpoch: capsule.body.activationEpoch,
        });
      }
      if (outcome === "active") {
        ctx.log.info("policy capsule restored in force", { capsule: capsule.hash });
      }
      if (outcome === "staged" && keep !== undefined) {
        const kept = ctx.store.set([...CAPSULE_STORE_PREFIX, capsule.hash], keep);
        ctx.pipeToSelf(kept, (stored) => ({ type: "kept", hash: capsule.hash, result: stored }));
      }
    } catch (error) {
      reject(ctx, error);
    }
  };

  /** Verifies again the capsules this node kept before a restart. */
  const restore = (
    ctx: ActorContext<CapsuleDistributorMessage>,
    result: Settled<StoreEntry<unknown>[]>,
  ) => {
    if (!result.ok) return reject(ctx, result.error);
    for (const entry of result.value) offer(ctx, entry.value, true);
  };

  const epoch = (ctx: ActorContext<CapsuleDistributorMessage>, value: number) => {
    const previousHash = config.registry.active.hash;
    let next: InstalledCapsule | undefined;
    try {
      next = config.registry.advanceEpoch(value);
    } catch (error) {
      return reject(ctx, error);
    }
    if (next === undefined) return;
    counts.switched++;
    ctx.log.info("policy capsule in force", { capsule: next.hash, epoch: value });
    config.notify?.tell({
      type: "capsule-switched",
      epoch: value,
      capsuleHash: next.hash,
      previousHash,
    });
  };

  return {
    preStart(ctx) {
      const parent = ctx.self;
      ctx.spawn(() => offerListener(parent), { name: "offers" });
      // It needs the epoch and bootstrap events, no effect.
      config.core?.tell({ type: "watch", role: ctx.self as ActorRef<RoleEvent>, effects: [] });
      const kept = ctx.store.list([...CAPSULE_STORE_PREFIX], { limit: KEPT_MAX });
      ctx.pipeToSelf(kept, (result) => ({ type: "restored", result }));
    },
    receive(ctx, message) {
      switch (message.type) {
        case "core-ready":
          return epoch(ctx, message.epoch);
        case "effect":
        case "bootstrap":
          return;
        case "announce":
          // Local subscribers (this node's listener included) receive the offer too.
          return ctx.publish(CAPSULE_TOPIC, { type: "capsule-offer", package: message.package });
        case "capsule-offer":
          return offer(ctx, message.package);
        case "verified":
          return verified(ctx, message.key, message.result, message.keep);
        case "restored":
          return restore(ctx, message.result);
        case "kept":
          if (!message.result.ok) reject(ctx, message.result.error);
          return;
        case "epoch":
          return epoch(ctx, message.epoch);
        case "status":
          message.replyTo.tell({
            activeHash: config.registry.active.hash,
            epoch: config.registry.epoch,
            pending: config.registry.pending.map((capsule) => capsule.hash),
            ...counts,
            rejected: Object.fromEntries(rejected),
          });
          return;
      }
    },
  };
}

/** Hears the capsule topic and forwards what it hears as offers, and only as offers. */
function offerListener(parent: ActorRef<CapsuleDistributorMessage>): Behavior<unknown> {
  return {
    preStart(ctx) {
      ctx.subscribe(CAPSULE_TOPIC);
    },
    receive(_ctx, message) {
      const offer = message as { type?: unknown; package?: unknown } | null;
      const isOffer = typeof offer === "object" && offer !== null && offer.type === "capsule-offer";
      // Anything else goes on as an empty offer, so it is refused, counted and logged.
      parent.tell({ type: "capsule-offer", package: isOffer ? offer.package : undefined });
    },
  };
}

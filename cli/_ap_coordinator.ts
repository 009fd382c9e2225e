/**
 * The node-level half of AP mode in a `run node --consensus ap` process:
 * which node is the home of each bucket now, and what this node's decider
 * must do about it. Every `tickMs` it reads which members it is connected
 * to, and:
 *
 * - lends: a bucket whose owner has been out of reach for `lendAfterMs` is
 *   homed at a borrower on this side (`_ap_lending.ts`); if that is this
 *   node, its decider takes the bucket as borrowed (it decides, the owner
 *   finalizes after the heal, see `actors/decider.ts`);
 * - returns: once the owner is back, the borrower's decider drops the
 *   bucket (after this node merged the owner's replica);
 * - re-fences: a bucket homed here whose newest fence (merged from a peer)
 *   is held by someone else is taken again, so the owner fences anew after
 *   a heal and a decider deposed by a merge race gets its bucket back;
 * - checks on the decider: about once a second it asks the decider which
 *   buckets it holds and gives it back any bucket homed here that it gave
 *   up (a stale fence while a merge raced its re-fence, a restart), and
 *   takes back borrowed buckets no longer homed here;
 * - reconciles: when a merge reports NEEDs decided differently on two
 *   sides, or tasks leased on both, the member with the smallest node id
 *   among those it reaches advances the epoch with RECONCILE naming the
 *   orphaned NEEDs and the dropped leases (each once), so every node
 *   re-reads the winning decisions and sets the dropped leases' work aside.
 *
 * A peer that says hello (it joined, restarted, or a partition healed) is
 * synced with first (its replica merged into this one); the caller then
 * asks it for its open threads, so the decisions are here before the
 * threads that carry them.
 *
 * @module
 */

import type { ActorRef } from "../runtime/actor.ts";
import { DECIDE_BUCKETS } from "../runtime/store/decide_log.ts";
import type { ReplicaAbsorb } from "../protocols/consensus/ap_replica.ts";
import type { DeciderMessage } from "../actors/decider.ts";
import type { EpochManagerMessage } from "../actors/epoch_manager.ts";
import type { ApDecideLog } from "./_ap_decide_log.ts";
import { bucketHomes } from "./_ap_lending.ts";
import type { LeaseDrop } from "../protocols/lifecycle/payloads.ts";
import { leaseDropsOf } from "../protocols/lifecycle/lease_drop.ts";

/** Options of {@linkcode ApCoordinator}. */
export interface ApCoordinatorOptions {
  readonly self: string;
  readonly did: string;
  /** Owner (node id) of each owned bucket, from the members file. */
  readonly owners: ReadonlyMap<number, string>;
  /** Every member's node id. */
  readonly members: readonly string[];
  /** Member node ids this node is connected to now. */
  readonly connected: () => readonly string[];
  /** A member unreachable this long has its buckets lent. Default 2,000 ms. */
  readonly lendAfterMs?: number;
  /**
   * A member not seen at all since this node started is waited for this
   * long before its buckets are lent (a swarm starting up is not a
   * partition). Default 20,000 ms.
   */
  readonly startupGraceMs?: number;
  /** Interval of the checks. Default 250 ms. */
  readonly tickMs?: number;
  /** The clock (ms). */
  readonly nowMs?: () => number;
  /** Asks this node's decider which buckets it holds (none: no checks). */
  readonly askOwned?: (decider: ActorRef<DeciderMessage>) => Promise<readonly number[]>;
}

/** Counters of the coordinator (served on /health and /decisions). */
export interface ApCoordinatorStats {
  /** Buckets this node borrowed, and gave back, so far. */
  lent: number;
  returned: number;
  /** Buckets this node holds on loan now. */
  borrowedNow: number;
  /** Fences taken again after a merge. */
  refenced: number;
  /** Buckets given back to the decider, or taken from it, by the checks. */
  restored: number;
  /** RECONCILEs this node started, and the NEEDs and dropped leases they named. */
  reconciles: number;
  reconciledNeeds: number;
  reconciledLeases: number;
  /** Peers synced with, and syncs that failed. */
  peerSyncs: number;
  peerSyncFailures: number;
}

/** Time between two re-fences of one bucket (its fence request needs a moment). */
const REFENCE_PAUSE_MS = 3_000;
/** Interval of the checks on the decider. */
const CHECK_INTERVAL_MS = 1_000;

/** Keeps a node's buckets homed and its decider told (see the module documentation). */
export class ApCoordinator {
  readonly stats: ApCoordinatorStats = {
    lent: 0,
    returned: 0,
    borrowedNow: 0,
    refenced: 0,
    restored: 0,
    reconciles: 0,
    reconciledNeeds: 0,
    reconciledLeases: 0,
    peerSyncs: 0,
    peerSyncFailures: 0,
  };
  readonly #options: ApCoordinatorOptions;
  /** When each member was first found missing (since its last sighting). */
  readonly #missingSince = new Map<string, number>();
  readonly #borrowed = new Set<number>();
  readonly #refencedAt = new Map<number, number>();
  readonly #reconciled = new Set<string>();
  readonly #orphans = new Set<string>();
  /** Dropped leases the merges reported, by dropped lease id, and those announced. */
  readonly #drops = new Map<string, LeaseDrop>();
  readonly #reconciledDrops = new Set<string>();
  #homes: string[];
  #log: ApDecideLog | undefined;
  #decider: ActorRef<DeciderMessage> | undefined;
  #epochManager: ActorRef<EpochManagerMessage> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #startedAt: number;
  #checkedAt = -Infinity;
  #checking = false;

  constructor(options: ApCoordinatorOptions) {
    this.#options = options;
    this.#startedAt = this.#now();
    this.#homes = bucketHomes(options.owners, options.self, () => true);
  }

  /** The home of `bucket` now. */
  homeOf(bucket: number): string {
    return this.#homes[bucket];
  }

  /** Starts the checks, once the node's log and actors exist. */
  start(
    log: ApDecideLog,
    refs: {
      decider?: ActorRef<DeciderMessage>;
      epochManager: ActorRef<EpochManagerMessage>;
    },
  ): void {
    this.#log = log;
    this.#decider = refs.decider;
    this.#epochManager = refs.epochManager;
    this.#timer = setInterval(() => this.tick(), this.#options.tickMs ?? 250);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Merges the replica of `node`, which just said hello; resolves when done (or failed). */
  async onHello(node: string): Promise<void> {
    if (this.#log === undefined || node === this.#options.self) return;
    try {
      await this.#log.syncWith(node);
      this.stats.peerSyncs++;
    } catch {
      this.stats.peerSyncFailures++;
    }
  }

  /** Sees every merge into this node's replica (wired as the log's `onAbsorb`). */
  onAbsorb(result: ReplicaAbsorb): void {
    for (const branch of result.decisions.orphaned) this.#orphans.add(branch.record.needId);
    for (const drop of leaseDropsOf(result.leaseConflicts)) this.#drops.set(drop.dropped, drop);
    if (result.fencesRaised.length > 0) this.#refence();
  }

  /** One round of checks (see the module documentation); public for tests. */
  tick(): void {
    const now = this.#now();
    const connected = new Set(this.#options.connected());
    const lendAfterMs = this.#options.lendAfterMs ?? 2_000;
    const graceMs = this.#options.startupGraceMs ?? 20_000;
    // Absence is counted from the first check that found a member missing, not from its last
    // sighting: a stalled event loop must not turn a blip in the connections into a lending.
    for (const node of this.#options.members) {
      if (connected.has(node)) this.#missingSince.set(node, Infinity);
      else if (this.#missingSince.get(node) === Infinity) this.#missingSince.set(node, now);
    }
    const reachable = (node: string) => {
      if (connected.has(node)) return true;
      const since = this.#missingSince.get(node);
      return since === undefined ? now - this.#startedAt < graceMs : now - since < lendAfterMs;
    };
    this.#homes = bucketHomes(this.#options.owners, this.#options.self, reachable);
    this.#lend();
    this.#refence();
    this.#reconcile(reachable);
    if (now - this.#checkedAt >= CHECK_INTERVAL_MS && !this.#checking) {
      this.#checkedAt = now;
      this.#checking = true;
      void this.checkDecider().finally(() => (this.#checking = false));
    }
  }

  /**
   * Compares what the decider holds with what is homed here, and corrects
   * the difference; public for tests.
   */
  async checkDecider(): Promise<void> {
    const ask = this.#options.askOwned;
    if (ask === undefined || this.#decider === undefined) return;
    let owned: Set<number>;
    try {
      owned = new Set(await ask(this.#decider));
    } catch {
      return;
    }
    const self = this.#options.self;
    const now = this.#now();
    const take: number[] = [];
    const borrow: number[] = [];
    const drop: number[] = [];
    for (let bucket = 0; bucket < DECIDE_BUCKETS; bucket++) {
      if (now - (this.#refencedAt.get(bucket) ?? -Infinity) < REFENCE_PAUSE_MS) continue;
      const owner = this.#options.owners.get(bucket);
      const home = this.#homes[bucket] === self;
      const lent = owner !== self && owner !== undefined;
      if (home && !owned.has(bucket) && (owner === self || this.#borrowed.has(bucket))) {
        (lent ? borrow : take).push(bucket);
      } else if (!home && owned.has(bucket) && lent) drop.push(bucket);
      else continue;
      this.#refencedAt.set(bucket, now);
    }
    if (take.length > 0) this.#decider.tell({ type: "take-buckets", buckets: take });
    if (borrow.length > 0) {
      this.#decider.tell({ type: "take-buckets", buckets: borrow, borrowed: true });
    }
    if (drop.length > 0) this.#decider.tell({ type: "drop-buckets", buckets: drop });
    this.stats.restored += take.length + borrow.length + drop.length;
  }

  #lend(): void {
    const self = this.#options.self;
    const taken: number[] = [];
    const given: number[] = [];
    for (let bucket = 0; bucket < DECIDE_BUCKETS; bucket++) {
      const owner = this.#options.owners.get(bucket);
      const borrowing = owner !== undefined && owner !== self && this.#homes[bucket] === self;
      if (borrowing && !this.#borrowed.has(bucket)) taken.push(bucket);
      if (!borrowing && this.#borrowed.has(bucket)) given.push(bucket);
    }
    if (taken.length > 0 && this.#decider !== undefined) {
      const now = this.#now();
      for (const bucket of taken) {
        this.#borrowed.add(bucket);
        // Taking the bucket fences it: no re-fence until that had time to land.
        this.#refencedAt.set(bucket, now);
      }
      this.stats.lent += taken.length;
      this.#decider.tell({ type: "take-buckets", buckets: taken, borrowed: true });
    }
    if (given.length > 0) {
      for (const bucket of given) this.#borrowed.delete(bucket);
      this.stats.returned += given.length;
      this.#decider?.tell({ type: "drop-buckets", buckets: given });
    }
    this.stats.borrowedNow = this.#borrowed.size;
  }

  /** Takes again the buckets homed here whose newest fence someone else holds. */
  #refence(): void {
    const log = this.#log;
    if (log === undefined || this.#decider === undefined) return;
    const now = this.#now();
    const own: number[] = [];
    const lent: number[] = [];
    for (let bucket = 0; bucket < DECIDE_BUCKETS; bucket++) {
      if (this.#homes[bucket] !== this.#options.self) continue;
      const owner = this.#options.owners.get(bucket);
      if (owner !== this.#options.self && !this.#borrowed.has(bucket)) continue;
      const fence = log.replica.fenceOf(bucket);
      if (fence === undefined || fence.holder === this.#options.did) continue;
      if (now - (this.#refencedAt.get(bucket) ?? -Infinity) < REFENCE_PAUSE_MS) continue;
      this.#refencedAt.set(bucket, now);
      (owner === this.#options.self ? own : lent).push(bucket);
    }
    if (own.length > 0) this.#decider.tell({ type: "take-buckets", buckets: own });
    if (lent.length > 0) {
      this.#decider.tell({ type: "take-buckets", buckets: lent, borrowed: true });
    }
    this.stats.refenced += own.length + lent.length;
  }

  /**
   * The reconciler (smallest reachable member) announces orphaned NEEDs and
   * dropped leases not announced yet.
   */
  #reconcile(reachable: (node: string) => boolean): void {
    const fresh = [...this.#orphans].filter((needId) => !this.#reconciled.has(needId));
    const drops = [...this.#drops.values()].filter((drop) =>
      !this.#reconciledDrops.has(drop.dropped)
    );
    if (fresh.length + drops.length === 0 || this.#epochManager === undefined) return;
    const present = this.#options.members.filter((node) =>
      node === this.#options.self || reachable(node)
    ).sort();
    if (present[0] !== this.#options.self) return;
    for (const needId of fresh) this.#reconciled.add(needId);
    for (const drop of drops) this.#reconciledDrops.add(drop.dropped);
    this.stats.reconciles++;
    this.stats.reconciledNeeds += fresh.length;
    this.stats.reconciledLeases += drops.length;
    this.#epochManager.tell({ type: "reconcile", orphaned: fresh.sort(), leases: drops });
  }

  #now(): number {
    return (this.#options.nowMs ?? (() => performance.now()))();
  }
}

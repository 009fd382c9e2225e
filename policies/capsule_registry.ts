/**
 * The capsules of one node: the one in force, and newer ones waiting for
 * their activation epoch. A node switches capsules only at an epoch
 * boundary ({@linkcode CapsuleRegistry.advanceEpoch}), so within an epoch
 * every envelope is judged by one policy, and all nodes that saw the same
 * capsule switch at the same boundary.
 *
 * The registry is the gates' {@linkcode PolicySource}.
 *
 * @module
 */

import type { InstalledCapsule } from "./capsule.ts";
import { CapsuleError, PolicyCapsuleMismatchError, short } from "./errors.ts";
import type { ActivePolicy, PolicySource } from "./policy_source.ts";

/** Options of {@linkcode CapsuleRegistry}. */
export interface CapsuleRegistryOptions {
  /** The node's epoch now. Default 0. */
  readonly epoch?: number;
  /** Most capsules waiting at once; more are refused (`E_CAPSULE_PENDING_FULL`). Default 8. */
  readonly pendingMax?: number;
}

/** What {@linkcode CapsuleRegistry.stage} did. */
export type StageOutcome = "staged" | "duplicate";

/** The capsule in force and those waiting for their epoch. */
export class CapsuleRegistry implements PolicySource {
  #active: InstalledCapsule;
  #activePolicy: ActivePolicy;
  #epoch: number;
  readonly #pending = new Map<string, InstalledCapsule>();
  readonly #pendingMax: number;

  /** Starts with `genesis` in force. */
  constructor(genesis: InstalledCapsule, options: CapsuleRegistryOptions = {}) {
    this.#active = genesis;
    this.#activePolicy = { engine: genesis.engine, capsuleHash: genesis.hash };
    this.#epoch = options.epoch ?? 0;
    this.#pendingMax = options.pendingMax ?? 8;
  }

  current(): ActivePolicy {
    return this.#activePolicy;
  }

  /** The capsule in force. */
  get active(): InstalledCapsule {
    return this.#active;
  }

  /** The node's epoch as the registry last heard it. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Capsules waiting, by activation epoch. */
  get pending(): readonly InstalledCapsule[] {
    return [...this.#pending.values()].sort((a, b) =>
      a.body.activationEpoch - b.body.activationEpoch
    );
  }

  /**
   * Queues a verified capsule to come into force at the first epoch
   * boundary at or after its activation epoch. Only capsules newer than the
   * one in force (a later activation epoch) are accepted.
   */
  stage(capsule: InstalledCapsule): StageOutcome {
    if (capsule.hash === this.#active.hash || this.#pending.has(capsule.hash)) return "duplicate";
    const activation = capsule.body.activationEpoch;
    if (activation <= this.#active.body.activationEpoch) {
      throw new CapsuleError(
        "E_CAPSULE_STALE",
        `Capsule ${
          short(capsule.hash)
        } activates at epoch ${activation}, not after the capsule in force (epoch ${this.#active.body.activationEpoch})`,
      );
    }
    if (this.#pending.size >= this.#pendingMax) {
      throw new CapsuleError(
        "E_CAPSULE_PENDING_FULL",
        `Cannot stage capsule ${short(capsule.hash)}: ${this.#pendingMax} capsules already wait`,
      );
    }
    this.#pending.set(capsule.hash, capsule);
    return "staged";
  }

  /**
   * Takes back a capsule this node verified before it restarted: in force at
   * once when it is newer than the one in force and its activation epoch has
   * come (the swarm switched while the node was away), staged when its epoch
   * is still ahead, ignored when older than the one in force.
   */
  restore(capsule: InstalledCapsule): StageOutcome | "active" | "stale" {
    const activation = capsule.body.activationEpoch;
    if (capsule.hash === this.#active.hash || this.#pending.has(capsule.hash)) return "duplicate";
    if (activation <= this.#active.body.activationEpoch) return "stale";
    if (activation > this.#epoch) return this.stage(capsule);
    for (const [hash, waiting] of this.#pending) {
      if (waiting.body.activationEpoch <= activation) this.#pending.delete(hash);
    }
    this.#active = capsule;
    this.#activePolicy = { engine: capsule.engine, capsuleHash: capsule.hash };
    return "active";
  }

  /**
   * The node entered `epoch`. Puts in force the newest waiting capsule whose
   * activation epoch has come, drops older waiting ones, and returns the new
   * capsule (undefined when nothing changed). Epochs never go back.
   */
  advanceEpoch(epoch: number): InstalledCapsule | undefined {
    if (!Number.isSafeInteger(epoch) || epoch < this.#epoch) {
      throw new CapsuleError(
        "E_CAPSULE_EPOCH",
        `Epoch must be an integer >= ${this.#epoch}, got ${epoch}`,
      );
    }
    if (epoch === this.#epoch) return undefined;
    this.#epoch = epoch;
    let next: InstalledCapsule | undefined;
    for (const capsule of this.#pending.values()) {
      const activation = capsule.body.activationEpoch;
      if (activation > epoch) continue;
      if (next === undefined || activation > next.body.activationEpoch) next = capsule;
    }
    if (next === undefined) return undefined;
    for (const [hash, capsule] of this.#pending) {
      if (capsule.body.activationEpoch <= next.body.activationEpoch) this.#pending.delete(hash);
    }
    this.#active = next;
    this.#activePolicy = { engine: next.engine, capsuleHash: next.hash };
    return next;
  }

  /** Throws {@linkcode PolicyCapsuleMismatchError} unless `capsuleHash` is the one in force. */
  checkCapsule(capsuleHash: string | undefined): void {
    if (capsuleHash !== this.#active.hash) {
      throw new PolicyCapsuleMismatchError(capsuleHash ?? "", this.#active.hash);
    }
  }
}

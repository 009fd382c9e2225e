/**
 * The nemeses a scenario can schedule: partitions of several shapes and
 * heals, slow and flaky links, killing and restarting a node, clock skew and
 * drift, pausing a node, a decider failover that leaves a zombie behind,
 * and an epoch advance. Each is a timed fault with a target chosen from the
 * run's seed when it fires.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";

/** Which node a node fault picks: any protocol node, or one playing a role. */
export type NodeTarget = "any" | "decider" | "worker" | "verifier" | "planner" | "requester";

/** How a partition splits the nodes. */
export type PartitionShape =
  /** Two random halves. */
  | "halves"
  /** A random strict majority and the rest. */
  | "majority-minority"
  /** Two random halves and one node that reaches both (a non-transitive split). */
  | "bridge"
  /** One random node cut off from every other. */
  | "isolate-one";

/** The partition shapes, in a fixed order. */
export const PARTITION_SHAPES: readonly PartitionShape[] = [
  "halves",
  "majority-minority",
  "bridge",
  "isolate-one",
];

/** A timed fault. `durationMs` faults undo themselves when they end. */
export type NemesisSpec =
  | {
    readonly kind: "partition";
    readonly atMs: number;
    readonly durationMs: number;
    readonly shape: PartitionShape;
  }
  /** Heals every partition, resets every link and every clock. */
  | { readonly kind: "heal"; readonly atMs: number }
  | {
    readonly kind: "slow-links";
    readonly atMs: number;
    readonly durationMs: number;
    readonly latencyMinMs: number;
    readonly latencyMaxMs: number;
    /** Share of directed links slowed, in (0, 1]. */
    readonly share: number;
  }
  | {
    readonly kind: "flaky-links";
    readonly atMs: number;
    readonly durationMs: number;
    readonly dropRate: number;
    readonly duplicateRate: number;
    readonly reorderRate: number;
  }
  /** Kills a node (memory lost, store kept) and restarts it after `durationMs`. */
  | {
    readonly kind: "kill-restart";
    readonly atMs: number;
    readonly durationMs: number;
    readonly target: NodeTarget;
  }
  | {
    readonly kind: "clock-skew";
    readonly atMs: number;
    readonly durationMs: number;
    readonly offsetMs: number;
    readonly driftPpm: number;
    readonly target: NodeTarget;
  }
  | {
    readonly kind: "pause";
    readonly atMs: number;
    readonly durationMs: number;
    readonly target: NodeTarget;
  }
  /**
   * Pauses a decider and hands its buckets to another decider (new fence
   * tokens); when it resumes, the paused one is a zombie with stale tokens.
   */
  | { readonly kind: "failover"; readonly atMs: number; readonly durationMs: number }
  /** Advances the swarm's epoch (RECONCILE) from a random node. */
  | { readonly kind: "epoch-advance"; readonly atMs: number };

/** The kind of a nemesis. */
export type NemesisKind = NemesisSpec["kind"];

/** Raised for an unusable nemesis. */
export class NemesisSpecError extends SwarmError {
  constructor(message: string) {
    super("E_NEMESIS", message);
  }
}

/** Validates one nemesis of a run lasting `runMs`; throws {@linkcode NemesisSpecError}. */
export function checkNemesisSpec(spec: NemesisSpec, runMs: number): NemesisSpec {
  if (!Number.isSafeInteger(spec.atMs) || spec.atMs < 0 || spec.atMs >= runMs) {
    throw new NemesisSpecError(
      `Nemesis ${spec.kind} must start within the run [0, ${runMs}) ms, got ${spec.atMs}`,
    );
  }
  if ("durationMs" in spec) {
    if (!Number.isSafeInteger(spec.durationMs) || spec.durationMs < 1) {
      throw new NemesisSpecError(
        `Nemesis ${spec.kind} duration must be a positive integer of ms, got ${spec.durationMs}`,
      );
    }
    if (spec.atMs + spec.durationMs >= runMs) {
      throw new NemesisSpecError(
        `Nemesis ${spec.kind} at ${spec.atMs} ms must end before the run does at ${runMs} ms`,
      );
    }
  }
  switch (spec.kind) {
    case "partition":
      if (!PARTITION_SHAPES.includes(spec.shape)) {
        throw new NemesisSpecError(`Partition shape must be one of ${PARTITION_SHAPES.join(", ")}`);
      }
      return spec;
    case "slow-links":
      if (!(spec.latencyMinMs >= 0 && spec.latencyMaxMs >= spec.latencyMinMs)) {
        throw new NemesisSpecError("Slow links need 0 <= latencyMinMs <= latencyMaxMs");
      }
      if (!(spec.share > 0 && spec.share <= 1)) {
        throw new NemesisSpecError(`Slow links share must be in (0, 1], got ${spec.share}`);
      }
      return spec;
    case "flaky-links":
      for (const rate of [spec.dropRate, spec.duplicateRate, spec.reorderRate]) {
        if (!(rate >= 0 && rate <= 1)) {
          throw new NemesisSpecError(`Flaky link rates must be in [0, 1], got ${rate}`);
        }
      }
      if (spec.dropRate + spec.duplicateRate + spec.reorderRate === 0) {
        throw new NemesisSpecError("Flaky links with every rate 0 would be a silent no-op");
      }
      return spec;
    case "clock-skew":
      if (spec.offsetMs === 0 && spec.driftPpm === 0) {
        throw new NemesisSpecError(
          "Clock skew with no offset and no drift would be a silent no-op",
        );
      }
      if (Math.abs(spec.driftPpm) > 1_000_000 || !Number.isFinite(spec.offsetMs)) {
        throw new NemesisSpecError("Clock drift must be within ±1,000,000 ppm");
      }
      return spec;
    default:
      return spec;
  }
}

/**
 * AP-mode reconciliation (DESIGN.md §5): during a partition each side may
 * decide the same NEED differently; on heal the decision with the highest
 * (epoch, lamport, decider) wins everywhere and the others become orphaned
 * branches, marked with the epoch that orphaned them.
 *
 * @module
 */

import type { DecideRecord } from "../../runtime/store/decide_log.ts";

/**
 * Orders two decisions for the same need: positive when `left` wins.
 * Compares epoch, then lamport, then decider id, so every node picks the
 * same winner without talking to the others.
 */
export function compareDecisions(left: DecideRecord, right: DecideRecord): number {
  if (left.epoch !== right.epoch) return left.epoch - right.epoch;
  if (left.lamport !== right.lamport) return left.lamport - right.lamport;
  if (left.decider !== right.decider) return left.decider < right.decider ? -1 : 1;
  if (left.proposalId !== right.proposalId) return left.proposalId < right.proposalId ? -1 : 1;
  return 0;
}

/** The winner of two decisions for the same need. */
export function highestEpochWins(left: DecideRecord, right: DecideRecord): DecideRecord {
  return compareDecisions(left, right) >= 0 ? left : right;
}

/** A decision that lost the merge. */
export interface OrphanedBranch {
  readonly record: DecideRecord;
  /** Epoch of the winning decision that orphaned this one. */
  readonly orphaned_by_epoch: number;
  readonly winner: DecideRecord;
}

/** Needs decided differently on different sides. */
export interface MergeConflict {
  readonly needId: string;
  readonly records: readonly DecideRecord[];
  readonly winner: DecideRecord;
}

/** The result of {@linkcode mergeOnHeal}. */
export interface MergeResult {
  /** One decision per need, the same on every node that merges the same inputs. */
  readonly winners: ReadonlyMap<string, DecideRecord>;
  readonly conflicts: readonly MergeConflict[];
  readonly orphaned: readonly OrphanedBranch[];
}

/**
 * Merges the decisions seen on each side of a healed partition. Identical
 * decisions on several sides are not conflicts. The result does not depend
 * on the order of sides or of records.
 */
export function mergeOnHeal(sides: readonly (readonly DecideRecord[])[]): MergeResult {
  const byNeed = new Map<string, DecideRecord[]>();
  for (const side of sides) {
    for (const record of side) {
      const records = byNeed.get(record.needId) ?? [];
      if (!records.some((known) => compareDecisions(known, record) === 0)) records.push(record);
      byNeed.set(record.needId, records);
    }
  }
  const winners = new Map<string, DecideRecord>();
  const conflicts: MergeConflict[] = [];
  const orphaned: OrphanedBranch[] = [];
  for (const needId of [...byNeed.keys()].sort()) {
    const records = (byNeed.get(needId) as DecideRecord[]).sort(compareDecisions);
    const winner = records[records.length - 1];
    winners.set(needId, winner);
    if (records.length === 1) continue;
    conflicts.push({ needId, records, winner });
    for (const record of records.slice(0, -1)) {
      orphaned.push({ record, orphaned_by_epoch: winner.epoch, winner });
    }
  }
  return { winners, conflicts, orphaned };
}

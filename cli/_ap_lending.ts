/**
 * Who holds a decide bucket in AP mode: its owner while the owner is
 * reachable, else a borrower on this side of the partition. Every node of a
 * side sees the same reachable deciders, so every node of a side computes
 * the same borrower without talking to the others: the reachable decider
 * that ranks first for the bucket by rendezvous hashing (highest
 * sha256(bucket/node)), which spreads an absent owner's buckets over the
 * deciders that remain instead of loading one of them with all of them.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DECIDE_BUCKETS } from "../runtime/store/decide_log.ts";

/** The rendezvous rank of `node` for `bucket` (higher ranks first). */
export function rendezvousRank(bucket: number, node: string): bigint {
  const digest = createHash("sha256").update(`${bucket}/${node}`).digest();
  return digest.readBigUInt64BE(0);
}

/** The borrower of `bucket` among `candidates` (undefined when there is none). */
export function borrowerOf(bucket: number, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestRank = -1n;
  for (const node of candidates) {
    const rank = rendezvousRank(bucket, node);
    if (rank > bestRank || (rank === bestRank && best !== undefined && node < best)) {
      best = node;
      bestRank = rank;
    }
  }
  return best;
}

/**
 * The home of every bucket as `self` sees it: the owner when it is `self`
 * or reachable; a borrower (see {@linkcode borrowerOf}) among the reachable
 * deciders (`self` included when it decides) when the owner is not; the
 * owner still when no decider is reachable (calls then fail and are
 * retried). A bucket nobody owns is homed like an absent owner's (at the
 * first reachable decider by rank; `self` when there is none).
 */
export function bucketHomes(
  owners: ReadonlyMap<number, string>,
  self: string,
  reachable: (node: string) => boolean,
): string[] {
  const deciders = [...new Set(owners.values())].sort();
  const present = deciders.filter((node) => node === self || reachable(node));
  const homes: string[] = [];
  for (let bucket = 0; bucket < DECIDE_BUCKETS; bucket++) {
    const owner = owners.get(bucket);
    if (owner === undefined) homes.push(borrowerOf(bucket, present) ?? self);
    else if (owner === self || reachable(owner)) homes.push(owner);
    else homes.push(borrowerOf(bucket, present) ?? owner);
  }
  return homes;
}

// Proves AP bucket homes: owners keep their buckets while reachable, an absent owner's buckets go to the same borrower on every node of a side, spread over that side's deciders, and stay with the owner when no decider is reachable.
import assert from "node:assert/strict";
import { borrowerOf, bucketHomes } from "../../cli/_ap_lending.ts";
import { bucketsOf } from "../../cli/_swarm_members.ts";

/** node-0 owns the even buckets, node-3 the odd ones; node-1 and node-4 decide nothing. */
const OWNERS = new Map<number, string>([
  ...bucketsOf(0, 2).map((bucket) => [bucket, "node-0"] as [number, string]),
  ...bucketsOf(1, 2).map((bucket) => [bucket, "node-3"] as [number, string]),
]);

Deno.test("bucketHomes() homes every bucket at its owner while the owner is reachable", () => {
  const homes = bucketHomes(OWNERS, "node-1", () => true);
  for (const [bucket, owner] of OWNERS) assert.equal(homes[bucket], owner);
});

Deno.test("bucketHomes() lends an absent owner's buckets to the side's decider, on every node of the side", () => {
  const side = new Set(["node-0", "node-1"]);
  const reachable = (node: string) => side.has(node);
  const fromOwner = bucketHomes(OWNERS, "node-0", reachable);
  const fromOther = bucketHomes(OWNERS, "node-1", reachable);
  assert.deepEqual(fromOther, fromOwner, "both nodes of the side agree");
  assert.ok(fromOwner.every((home) => home === "node-0"), "node-0 is the side's only decider");
  const otherSide = bucketHomes(OWNERS, "node-4", (node) => node === "node-3");
  assert.ok(otherSide.every((home) => home === "node-3"));
});

Deno.test("bucketHomes() spreads an absent owner's buckets over the deciders left, by rendezvous", () => {
  const owners = new Map<number, string>([
    ...bucketsOf(0, 3).map((bucket) => [bucket, "a"] as [number, string]),
    ...bucketsOf(1, 3).map((bucket) => [bucket, "b"] as [number, string]),
    ...bucketsOf(2, 3).map((bucket) => [bucket, "c"] as [number, string]),
  ]);
  const homes = bucketHomes(owners, "a", (node) => node !== "c");
  const lent = bucketsOf(2, 3).map((bucket) => homes[bucket]);
  assert.ok(lent.includes("a") && lent.includes("b"), "both remaining deciders borrow some");
  for (const bucket of bucketsOf(2, 3)) assert.equal(homes[bucket], borrowerOf(bucket, ["a", "b"]));
  assert.equal(borrowerOf(7, ["b", "a"]), borrowerOf(7, ["a", "b"]), "order of candidates is moot");
});

Deno.test("bucketHomes() keeps the owner as home when no decider is reachable, and homes unowned buckets", () => {
  const homes = bucketHomes(OWNERS, "node-1", () => false);
  for (const [bucket, owner] of OWNERS) assert.equal(homes[bucket], owner);
  const partial = new Map([[0, "node-0"]]);
  const unowned = bucketHomes(partial, "node-1", () => true);
  assert.equal(unowned[0], "node-0");
  assert.ok(unowned.slice(1).every((home) => home === "node-0"), "the only decider takes the rest");
  assert.ok(bucketHomes(new Map(), "solo", () => true).every((home) => home === "solo"));
});

// Proves the AP coordinator of a run node: it waits out a starting swarm, lends an absent owner's buckets to this node's decider as borrowed and takes them back on reconnection, re-fences after a merge, gives the decider back buckets it lost, and lets one node reconcile orphaned NEEDs.
import assert from "node:assert/strict";
import { ApCoordinator } from "../../cli/_ap_coordinator.ts";
import { ApDecideLog } from "../../cli/_ap_decide_log.ts";
import { bucketsOf } from "../../cli/_swarm_members.ts";
import { ApReplica } from "../../protocols/consensus/ap_replica.ts";
import type { ActorRef } from "../../runtime/actor.ts";
import type { DeciderMessage } from "../../actors/decider.ts";
import type { EpochManagerMessage } from "../../actors/epoch_manager.ts";
import type { DecideRecord } from "../../runtime/store/decide_log.ts";
import type { WireValue } from "../../runtime/wire.ts";
import { decideRecord } from "../runtime/store/_decide_record.ts";

const EVEN = bucketsOf(0, 2);
const ODD = bucketsOf(1, 2);
/** node-0 (this node, did:0) owns the even buckets, node-3 the odd; node-1 decides nothing. */
const OWNERS = new Map<number, string>([
  ...EVEN.map((bucket) => [bucket, "node-0"] as [number, string]),
  ...ODD.map((bucket) => [bucket, "node-3"] as [number, string]),
]);

/**
 * Records what the coordinator tells an actor. The decider's own handling of
 * take/drop is covered by the decider's tests; here it is the messages that matter.
 */
function recorder<M>(): { ref: ActorRef<M>; told: M[] } {
  const told: M[] = [];
  const ref = {
    address: { node: "node-0", path: "/user/test" },
    tell: (message: M) => (told.push(message), true),
    send: (message: M) => Promise.resolve((told.push(message), true)),
  } as unknown as ActorRef<M>;
  return { ref, told };
}

function setup(connected: () => string[], owned: () => number[] = () => EVEN) {
  let now = 0;
  const coordinator = new ApCoordinator({
    self: "node-0",
    did: "did:0",
    owners: OWNERS,
    members: ["node-0", "node-1", "node-3"],
    connected,
    lendAfterMs: 2_000,
    startupGraceMs: 20_000,
    nowMs: () => now,
    askOwned: () => Promise.resolve(owned()),
  });
  const log = new ApDecideLog(
    new ApReplica("node-0"),
    { self: "node-0", call: () => Promise.reject(new Error("offline")), connected },
    { homeOf: (bucket) => coordinator.homeOf(bucket), onAbsorb: (r) => coordinator.onAbsorb(r) },
  );
  const decider = recorder<DeciderMessage>();
  const epochs = recorder<EpochManagerMessage>();
  coordinator.start(log, { decider: decider.ref, epochManager: epochs.ref });
  coordinator.stop(); // ticks are driven by hand
  return {
    coordinator,
    log,
    decider: decider.told,
    epochs: epochs.told,
    at: (ms: number) => (now = ms, coordinator.tick()),
  };
}

Deno.test("a starting swarm is waited for; an owner never seen is lent only after the grace", async () => {
  const node = setup(() => ["node-1"]);
  node.at(10_000);
  assert.deepEqual(node.decider, [], "node-3 may still be starting");
  assert.equal(node.coordinator.homeOf(ODD[0]), "node-3");
  node.at(20_001);
  assert.deepEqual(node.decider, [{ type: "take-buckets", buckets: ODD, borrowed: true }]);
  assert.equal(node.coordinator.homeOf(ODD[0]), "node-0");
  await node.log.close();
});

Deno.test("an owner out of reach for a while has its buckets borrowed, and given back when it returns", async () => {
  let peers = ["node-1", "node-3"];
  const node = setup(() => peers);
  node.at(100);
  peers = ["node-1"];
  node.at(10_000);
  assert.deepEqual(node.decider, [], "absence counts from the first check that saw it, not before");
  node.at(11_900);
  assert.deepEqual(node.decider, [], "a short absence lends nothing");
  node.at(12_100);
  assert.deepEqual(node.decider, [{ type: "take-buckets", buckets: ODD, borrowed: true }]);
  assert.equal(node.coordinator.stats.borrowedNow, ODD.length);
  peers = ["node-1", "node-3"];
  node.at(12_300);
  assert.deepEqual(node.decider[1], { type: "drop-buckets", buckets: ODD });
  assert.equal(node.coordinator.stats.returned, ODD.length);
  await node.log.close();
});

Deno.test("after a merge raised an owned bucket's fence, the owner fences it anew", async () => {
  const node = setup(() => ["node-1", "node-3"]);
  node.at(100);
  await node.log.servePush({
    epoch: 0,
    fences: [{ bucket: EVEN[0], token: 4, holder: "did:3" }],
    decisions: [],
    leases: [],
  }, "node-3");
  assert.deepEqual(node.decider, [{ type: "take-buckets", buckets: [EVEN[0]] }]);
  await node.log.close();
});

Deno.test("the decider gets back a bucket it gave up while the bucket is still homed here", async () => {
  const node = setup(() => ["node-1", "node-3"], () => EVEN.slice(1));
  node.at(100);
  await node.coordinator.checkDecider();
  assert.deepEqual(node.decider, [{ type: "take-buckets", buckets: [EVEN[0]] }]);
  assert.equal(node.coordinator.stats.restored, 1);
  await node.coordinator.checkDecider();
  assert.equal(node.decider.length, 1, "not again while the first take is landing");
  await node.log.close();
});

Deno.test("orphaned NEEDs are reconciled once, by the smallest reachable member", async () => {
  const node = setup(() => ["node-1", "node-3"]);
  const record = (decider: string, lamport: number) =>
    decideRecord({ needId: "need-x", decider, lamport, proposalId: `p-${decider}` });
  await node.log.replica.acquireFence(0, "x");
  const push = (decision: DecideRecord) =>
    node.log.servePush(
      { epoch: 0, fences: [], decisions: [decision], leases: [] } as unknown as WireValue,
      "node-3",
    );
  await push(record("did:0", 2));
  await push(record("did:3", 5));
  node.at(100);
  node.at(200);
  assert.deepEqual(node.epochs, [{ type: "reconcile", orphaned: ["need-x"], leases: [] }]);
  assert.equal(node.coordinator.stats.reconciledNeeds, 1);
  await node.log.close();
});

Deno.test("a task leased on both sides is reconciled once: the later grant kept, the other dropped", async () => {
  const node = setup(() => ["node-1", "node-3"]);
  const lease = (leaseId: string, grantedAtMs: number) => ({
    taskId: "task-x",
    needId: "need-x",
    leaseId,
    holder: `did:${leaseId}`,
    grantedAtMs,
    expiresAtMs: grantedAtMs + 60_000,
    epoch: 0,
  });
  await node.log.replica.tryLease(lease("lease-here", 1_000));
  const push = () =>
    node.log.servePush(
      { epoch: 0, fences: [], decisions: [], leases: [lease("lease-there", 2_000)] } as WireValue,
      "node-3",
    );
  await push();
  node.at(100);
  await push();
  node.at(200);
  assert.deepEqual(node.epochs, [{
    type: "reconcile",
    orphaned: [],
    leases: [{ needId: "need-x", taskId: "task-x", kept: "lease-there", dropped: "lease-here" }],
  }]);
  assert.equal(node.coordinator.stats.reconciledLeases, 1);
  assert.equal((await node.log.replica.getLease("task-x"))?.leaseId, "lease-there");
  await node.log.close();
});

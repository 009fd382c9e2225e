// Proves the simulated network delays, loses, duplicates, reorders and partitions frames as configured, and keeps links FIFO otherwise.
import assert from "node:assert/strict";
import { SimScheduler } from "../../sim/scheduler.ts";
import { linkOptions, SimNetwork, SimNetworkError } from "../../sim/network.ts";
import { SeededRandom } from "../../sim/seeded_random.ts";
import type { Frame } from "../../runtime/transport/transport.ts";

function network(link = {}) {
  const scheduler = new SimScheduler();
  const net = new SimNetwork(scheduler, new SeededRandom(1), link);
  const received = new Map<string, { payload: unknown; atNs: bigint }[]>();
  for (const node of ["a", "b", "c"]) {
    const endpoint = net.connect(node);
    received.set(node, []);
    endpoint.attach({
      onFrame: (frame) =>
        received.get(node)?.push({ payload: frame.payload, atNs: scheduler.nowNs }),
    });
  }
  const send = (from: string, to: string, payload: number) => {
    const frame: Frame = {
      kind: "direct",
      to: { node: to, path: "/user/x" },
      from: undefined,
      payload,
    };
    net.route(from, frame);
  };
  return { scheduler, net, received, send };
}

Deno.test("frames arrive after a latency within the link's bounds, in order per link", async () => {
  const { scheduler, received, send } = network({ latencyMinMs: 10, latencyMaxMs: 50 });
  for (let index = 0; index < 200; index++) send("a", "b", index);
  await scheduler.run();
  const arrivals = received.get("b") ?? [];
  assert.deepEqual(
    arrivals.map((arrival) => arrival.payload),
    Array.from({ length: 200 }, (_, index) => index),
  );
  assert.ok(
    arrivals.every((arrival) => arrival.atNs >= 10_000_000n && arrival.atNs <= 50_000_000n),
  );
});

Deno.test("a partition drops frames between groups until healed, and only between groups", async () => {
  const { scheduler, net, received, send } = network();
  net.partition([["a", "b"], ["c"]], ["a", "b", "c"]);
  send("a", "b", 1);
  send("a", "c", 2);
  send("c", "a", 3);
  await scheduler.run();
  net.heal();
  send("a", "c", 4);
  await scheduler.run();
  assert.deepEqual(received.get("b")?.map((arrival) => arrival.payload), [1]);
  assert.deepEqual(received.get("c")?.map((arrival) => arrival.payload), [4]);
  assert.deepEqual(received.get("a"), []);
  assert.equal(net.stats.droppedByPartition, 2);
});

Deno.test("nodes left out of every partition group are isolated; one link can be blocked one way", async () => {
  const { scheduler, net, received, send } = network();
  net.partition([["a", "b"]], ["a", "b", "c"]);
  assert.equal(net.reachable("a", "c"), false);
  assert.equal(net.reachable("a", "b"), true);
  net.heal();
  net.block("a", "b", true);
  send("a", "b", 1);
  send("b", "a", 2);
  await scheduler.run();
  assert.deepEqual(received.get("b"), []);
  assert.deepEqual(received.get("a")?.map((arrival) => arrival.payload), [2]);
});

Deno.test("loss, duplication and reordering happen at roughly their configured rates", async () => {
  const { scheduler, net, received, send } = network({
    latencyMinMs: 1,
    latencyMaxMs: 20,
    dropRate: 0.1,
    duplicateRate: 0.1,
    reorderRate: 0.3,
  });
  for (let index = 0; index < 2_000; index++) send("a", "b", index);
  await scheduler.run();
  const payloads = (received.get("b") ?? []).map((arrival) => arrival.payload as number);
  assert.ok(
    net.stats.droppedByLoss > 120 && net.stats.droppedByLoss < 280,
    `lost ${net.stats.droppedByLoss}`,
  );
  assert.ok(
    net.stats.duplicated > 100 && net.stats.duplicated < 260,
    `duplicated ${net.stats.duplicated}`,
  );
  assert.equal(payloads.length, 2_000 - net.stats.droppedByLoss + net.stats.duplicated);
  const outOfOrder =
    payloads.filter((payload, index) => index > 0 && payload < payloads[index - 1]).length;
  assert.ok(outOfOrder > 0, "some frames overtook earlier ones");
});

Deno.test("topic frames reach every other subscribed node, not the sender", async () => {
  const { scheduler, net, received } = network();
  const endpoints = ["a", "b", "c"].map((node) => {
    const endpoint = net.connect(node);
    endpoint.attach({
      onFrame: (frame) => received.get(node)?.push({ payload: frame.payload, atNs: 0n }),
    });
    return endpoint;
  });
  endpoints[0].subscribe("t");
  endpoints[1].subscribe("t");
  endpoints[0].send({ kind: "topic", topic: "t", from: undefined, payload: "hello" });
  await scheduler.run();
  assert.deepEqual(received.get("a"), []);
  assert.deepEqual(received.get("b")?.map((arrival) => arrival.payload), ["hello"]);
  assert.deepEqual(received.get("c"), []);
});

Deno.test("frames in flight to a node that went down are lost and counted", async () => {
  const scheduler = new SimScheduler();
  const net = new SimNetwork(scheduler, new SeededRandom(1));
  const target = net.connect("b");
  let got = 0;
  target.attach({ onFrame: () => got++ });
  net.route("a", { kind: "direct", to: { node: "b", path: "/x" }, from: undefined, payload: 1 });
  await target.close();
  await scheduler.run();
  assert.equal(got, 0);
  assert.equal(net.stats.droppedNodeDown, 1);
});

Deno.test("bad link settings and overlapping partition groups are refused with typed errors", () => {
  assert.throws(
    () => linkOptions({ latencyMinMs: 5, latencyMaxMs: 1 }),
    (error: SimNetworkError) => error.code === "E_LINK_LATENCY",
  );
  assert.throws(
    () => linkOptions({ dropRate: 1.5 }),
    (error: SimNetworkError) => error.code === "E_LINK_RATE",
  );
  const { net } = network();
  assert.throws(
    () => net.partition([["a"], ["a", "b"]], ["a", "b", "c"]),
    (error: SimNetworkError) => error.code === "E_PARTITION",
  );
});

// Proves libp2p-specific behaviour: requests, ingress rejection scoring, the partition gate and the relay fallback.
import assert from "node:assert/strict";
import { RpcError } from "../../../runtime/transport/_rpc.ts";
import type { Frame } from "../../../runtime/transport/transport.ts";
import { libp2pTimersDrained, startTransports, waitFor, warmUpLibp2p } from "./_libp2p_util.ts";
import type { Libp2pTransport } from "../../../runtime/transport/libp2p_transport.ts";
import { threadTopic } from "../../../runtime/transport/topics.ts";

await warmUpLibp2p();

async function withTransports(
  nodeIds: string[],
  options: Parameters<typeof startTransports>[1],
  body: (transports: Libp2pTransport[]) => Promise<void>,
): Promise<void> {
  const transports = await startTransports(nodeIds, options);
  try {
    await body(transports);
  } finally {
    await Promise.all(transports.map((transport) => transport.close()));
    await libp2pTimersDrained();
  }
}

const frame = (to: string, payload: number): Frame => ({
  kind: "direct",
  to: { node: to, path: "/user/x" },
  from: undefined,
  payload,
});

Deno.test("request() calls a handler on another node and maps failures to typed errors", async () => {
  await withTransports(["a", "b"], {}, async ([a, b]) => {
    b.handle("sum", (body, caller) => {
      assert.equal(caller.node, "a");
      const [left, right] = body as bigint[];
      return left + right;
    });
    b.handle("fail", () => {
      throw new Error("no way");
    });
    assert.equal(await a.request("b", "sum", [2n ** 70n, 1n]), 2n ** 70n + 1n);
    await assert.rejects(
      () => a.request("b", "missing", null),
      (error) => error instanceof RpcError && error.code === "E_RPC_NO_HANDLER",
    );
    await assert.rejects(
      () => a.request("b", "fail", null),
      (error) => error instanceof RpcError && error.code === "E_RPC_FAILED",
    );
    await assert.rejects(
      () => a.request("nobody", "sum", null),
      (error) => error instanceof RpcError && error.code === "E_RPC_UNKNOWN_NODE",
    );
  });
});

Deno.test("thread topics travel on their shard topic and reach only followers of that thread", async () => {
  await withTransports(["a", "b"], {}, async ([a, b]) => {
    const received: Frame[] = [];
    b.attach({ onFrame: (incoming) => received.push(incoming) });
    const followed = threadTopic("need-1", "NEED");
    b.subscribe(followed);
    await waitFor(() => a.topicPeers(followed).includes(b.peerId), 10_000);
    let sibling = 0;
    while (a.topicPeers(threadTopic(`need-x${sibling}`, "NEED")).length === 0) sibling++;
    a.send({
      kind: "topic",
      topic: threadTopic(`need-x${sibling}`, "NEED"),
      from: undefined,
      payload: 0,
    });
    a.send({ kind: "topic", topic: followed, from: undefined, payload: 1 });
    await waitFor(() => received.length >= 1, 10_000);
    await waitFor(() => false, 200);
    assert.deepEqual(received.map((incoming) => incoming.payload), [1]);
  });
});

Deno.test("frames the ingress validator rejects are not delivered and lower the sender's score", async () => {
  const rejectOdd = (
    incoming: Frame,
  ) => ((incoming.payload as number) % 2 === 1 ? "reject" : "accept");
  await withTransports(["a", "b"], { ingress: rejectOdd }, async ([a, b]) => {
    const received: Frame[] = [];
    b.attach({ onFrame: (incoming) => received.push(incoming) });
    for (let value = 0; value < 4; value++) a.send(frame("b", value));
    await waitFor(() => b.stats.get("invalidFrames") >= 2 && received.length >= 2, 10_000);
    assert.deepEqual(received.map((incoming) => incoming.payload), [0, 2]);
    assert.equal(b.scores.view(a.peerId).invalidByCode.E_INGRESS_REJECTED, 2);
    assert.ok(b.scores.score(a.peerId) < 60, `score ${b.scores.score(a.peerId)}`);
  });
});

Deno.test("the partition gate cuts a peer off and lifting it lets traffic through again", async () => {
  await withTransports(["a", "b"], { relayClient: false }, async ([a, b]) => {
    const received: Frame[] = [];
    b.attach({ onFrame: (incoming) => received.push(incoming) });
    a.setBlocked([b.peerId]);
    await waitFor(() => !a.connectedPeers().includes(b.peerId), 5_000);
    a.send(frame("b", 1));
    await waitFor(() => false, 500);
    assert.equal(received.length, 0);
    assert.ok(a.stats.get("directLost") >= 1);
    a.setBlocked([]);
    a.send(frame("b", 2));
    await waitFor(() => received.length >= 1, 10_000);
    assert.deepEqual(received.map((incoming) => incoming.payload), [2]);
  });
});

Deno.test("a direct frame goes through a circuit relay when the direct dial fails", async () => {
  await withTransports(["relay", "a", "c"], { relayReserve: true }, async ([relay, a, c]) => {
    const received: Frame[] = [];
    c.attach({ onFrame: (incoming) => received.push(incoming) });
    a.setDirectBlocked([c.peerId]);
    c.setDirectBlocked([a.peerId]);
    await a.node.hangUp(c.node.peerId).catch(() => {});
    await waitFor(
      () => c.node.getMultiaddrs().some((address) => String(address).includes("p2p-circuit")),
      10_000,
    );
    a.send(frame("c", 7));
    await waitFor(() => received.length >= 1, 15_000);
    assert.deepEqual(received.map((incoming) => incoming.payload), [7]);
    const routes = a.node.getConnections(c.node.peerId).map((connection) =>
      String(connection.remoteAddr)
    );
    assert.ok(
      routes.length > 0 && routes.every((route) => route.includes("/p2p-circuit")),
      routes.join(),
    );
    assert.ok(routes[0].includes(relay.peerId), "through the relay node");
  });
});

Deno.test("the LAN DHT lets two nodes that bootstrapped from a third find and dial each other", async () => {
  const transports = await startTransports(["a"]);
  try {
    for (const nodeId of ["b", "c"]) {
      const [transport] = await startTransports([nodeId], {
        bootstrap: transports[0].addresses,
        announceIntervalMs: 3_600_000,
      });
      transports.push(transport);
    }
    const [, b, c] = transports;
    await waitFor(() => b.connectedPeers().includes(c.peerId), 15_000);
    assert.ok(b.connectedPeers().includes(c.peerId), "found through the DHT and dialed");
  } finally {
    await Promise.all(transports.map((transport) => transport.close()));
    await libp2pTimersDrained();
  }
});

// Proves the gossip inbound path delivers before forwarding, keeps order and rejects bad frames.
import assert from "node:assert/strict";
import { TopicValidatorResult } from "@libp2p/gossipsub";
import { GossipInbound } from "../../../runtime/transport/_gossip_inbound.ts";
import { InboundGuard } from "../../../runtime/transport/_inbound_guard.ts";
import { encodeFrame } from "../../../runtime/transport/frame_codec.ts";
import type { IngressValidator } from "../../../runtime/transport/ingress.ts";
import { gossipTopicOf } from "../../../runtime/transport/topics.ts";
import type { TopicFrame } from "../../../runtime/transport/transport.ts";
import type { WireValue } from "../../../runtime/wire.ts";

const GOSSIP = gossipTopicOf("news");
const INCARNATION = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 255]);

function bytesOf(payload: WireValue, sequence: number, topic = "news"): Uint8Array {
  return encodeFrame(
    { kind: "topic", topic, from: undefined, payload },
    { node: "pub", incarnation: INCARNATION, sequence },
  );
}

/** A gossip inbound path over a real InboundGuard; records what it delivers, reports and scores. */
function harness(ingress?: IngressValidator) {
  const log: string[] = [];
  const offences: string[] = [];
  const counts: string[] = [];
  const guard = new InboundGuard({
    nodeId: "me",
    frameBytesMax: 64 * 1024,
    inboundRate: { perSecond: 1_000, burst: 1_000 },
    ingress,
    isBanned: () => false,
    nodeOf: () => undefined,
    invalid: (_peer, code) => void offences.push(code),
    flooded: () => 0,
  });
  const inbound = new GossipInbound({
    routing: "sharded",
    guard,
    reporter: {
      reportMessageValidationResult: (msgId, _source, result) =>
        void log.push(`report ${msgId} ${result}`),
    },
    holdMs: 1_000,
    deliver: (frame: TopicFrame) => void log.push(`deliver ${String(frame.payload)}`),
    invalid: (_peer, code) => void offences.push(code),
    count: (what) => void counts.push(what),
    nowMs: () => 0,
    later: () => {},
  });
  return { inbound, log, offences, counts };
}

/** The lines of `log` that start with `prefix` (a fresh array: no narrowing from earlier asserts). */
const linesOf = (log: readonly string[], prefix: string): string[] =>
  log.filter((line) => line.startsWith(prefix));

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("accepted frames are delivered at once, and reported to gossipsub after", async () => {
  const { inbound, log } = harness();
  inbound.receive(GOSSIP, bytesOf("a", 0), "m0", "peer");
  inbound.receive(GOSSIP, bytesOf("b", 1), "m1", "peer");
  assert.deepEqual(log, ["deliver a", "deliver b"]);
  await settle();
  assert.deepEqual(log, [
    "deliver a",
    "deliver b",
    `report m0 ${TopicValidatorResult.Accept}`,
    `report m1 ${TopicValidatorResult.Accept}`,
  ]);
});

Deno.test("a frame behind a slow validator waits for it: arrival order holds", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { inbound, log } = harness((frame) =>
    frame.payload === "slow" ? gate.then(() => "accept" as const) : "accept"
  );
  inbound.receive(GOSSIP, bytesOf("slow", 0), "m0", "peer");
  inbound.receive(GOSSIP, bytesOf("fast", 1), "m1", "peer");
  await settle();
  assert.equal(log.length, 0);
  release();
  await settle();
  assert.deepEqual(linesOf(log, "deliver"), [
    "deliver slow",
    "deliver fast",
  ]);
  assert.equal(linesOf(log, "report").length, 2);
});

Deno.test("malformed and misrouted frames are rejected with their codes and never delivered", () => {
  const { inbound, log, offences } = harness();
  inbound.receive(GOSSIP, new Uint8Array([0xff, 0x00, 0x13]), "m0", "peer");
  inbound.receive(GOSSIP, bytesOf("x", 0, "elsewhere"), "m1", "peer");
  assert.deepEqual(offences, ["E_FRAME_CBOR", "E_FRAME_MISROUTED"]);
  assert.deepEqual(log, [
    `report m0 ${TopicValidatorResult.Reject}`,
    `report m1 ${TopicValidatorResult.Reject}`,
  ]);
});

Deno.test("a validator that throws or rejects makes the frame ignored, not delivered", async () => {
  const { inbound, log, offences } = harness((frame) => {
    if (frame.payload === "throw") throw new Error("validator bug");
    return Promise.reject(new Error("validator bug"));
  });
  inbound.receive(GOSSIP, bytesOf("throw", 0), "m0", "peer");
  inbound.receive(GOSSIP, bytesOf("reject", 1), "m1", "peer");
  await settle();
  assert.deepEqual(offences, []);
  assert.deepEqual(log, [
    `report m0 ${TopicValidatorResult.Ignore}`,
    `report m1 ${TopicValidatorResult.Ignore}`,
  ]);
});

Deno.test("a publisher's frames that arrive out of order are delivered in its order", () => {
  const { inbound, log, counts } = harness();
  inbound.receive(GOSSIP, bytesOf("second", 1), "m1", "peer");
  assert.deepEqual(log, []);
  inbound.receive(GOSSIP, bytesOf("first", 0), "m0", "peer");
  assert.deepEqual(log, ["deliver first", "deliver second"]);
  assert.deepEqual(counts, ["topicReordered"]);
  assert.deepEqual(inbound.orderCounts, { reordered: 1, skipped: 0 });
});

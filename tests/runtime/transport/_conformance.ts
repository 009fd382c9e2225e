// The transport conformance suite: one set of contract tests that every Transport must pass.
/**
 * The contract every {@linkcode Transport} keeps, written once and run
 * against the in-process, simulated and libp2p transports through a
 * harness per transport:
 *
 * - direct frames reach the one addressed node, in the order sent;
 * - topic frames reach every other subscribed node, in order per sender,
 *   never the publisher itself nor unsubscribed nodes;
 * - wire values (bigint, bytes, addresses, undefined, nesting) arrive intact;
 * - frames over the size limit and malformed frames are refused at `send`
 *   with a typed error, and the transport keeps working;
 * - `close` is idempotent, stops delivery and never strands the sender.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FrameError } from "../../../runtime/transport/frame_check.ts";
import type { Frame, Transport } from "../../../runtime/transport/transport.ts";
import { WireRef, type WireValue } from "../../../runtime/wire.ts";

/** One node's endpoint and what it received. */
export interface Endpoint {
  readonly transport: Transport;
  readonly received: Frame[];
}

/** How the suite drives one kind of transport. */
export interface TransportHarness {
  /** Opens connected endpoints for `nodeIds`, ready to exchange direct frames. */
  open(nodeIds: readonly string[]): Promise<Endpoint[]>;
  /** Waits until subscriptions to `topic` have propagated to every endpoint. */
  subscribed(endpoints: readonly Endpoint[], topic: string): Promise<void>;
  /** Lets the transport work until `done()` holds or `limitMs` passes. */
  settle(done: () => boolean, limitMs: number): Promise<void>;
  /** Closes whatever `open` created. */
  dispose(): Promise<void>;
  /** The size limit the transport enforces. */
  readonly frameBytesMax: number;
}

/** Makes a fresh harness for one test. */
export type HarnessFactory = () => TransportHarness;

type Case = (harness: TransportHarness) => Promise<void>;

const direct = (to: string, payload: WireValue, from = "a"): Frame => ({
  kind: "direct",
  to: { node: to, path: "/user/target" },
  from: { node: from, path: "/user/source" },
  payload,
});

const topicFrame = (topic: string, payload: WireValue): Frame => ({
  kind: "topic",
  topic,
  from: { node: "a", path: "/user/source" },
  payload,
});

const payloads = (endpoint: Endpoint) => endpoint.received.map((frame) => frame.payload);

const CASES: Record<string, Case> = {
  "delivers direct frames to the addressed node only, in the order sent": async (harness) => {
    const [a, b, c] = await harness.open(["a", "b", "c"]);
    for (let sequence = 0; sequence < 200; sequence++) a.transport.send(direct("b", sequence));
    await harness.settle(() => b.received.length >= 200, 10_000);
    assert.deepEqual(payloads(b), Array.from({ length: 200 }, (_, index) => index));
    assert.equal(c.received.length, 0);
    assert.equal(a.received.length, 0);
    assert.deepEqual(b.received[0], direct("b", 0));
  },
  "delivers topic frames to every other subscriber, in order per sender": async (harness) => {
    const [a, b, c, d] = await harness.open(["a", "b", "c", "d"]);
    for (const endpoint of [a, b, c]) endpoint.transport.subscribe("news");
    await harness.subscribed([a, b, c], "news");
    for (let sequence = 0; sequence < 100; sequence++) {
      a.transport.send(topicFrame("news", { sequence }));
    }
    await harness.settle(() => b.received.length >= 100 && c.received.length >= 100, 10_000);
    const expected = Array.from({ length: 100 }, (_, sequence) => ({ sequence }));
    assert.deepEqual(payloads(b), expected);
    assert.deepEqual(payloads(c), expected);
    await harness.settle(() => false, 100);
    assert.equal(a.received.length, 0, "the publisher does not receive its own frames");
    assert.equal(d.received.length, 0, "a node that did not subscribe receives nothing");
  },
  "stops topic delivery after unsubscribe": async (harness) => {
    const [a, b] = await harness.open(["a", "b"]);
    b.transport.subscribe("news");
    await harness.subscribed([b], "news");
    a.transport.send(topicFrame("news", "first"));
    await harness.settle(() => b.received.length >= 1, 10_000);
    b.transport.unsubscribe("news");
    a.transport.send(topicFrame("news", "second"));
    await harness.settle(() => false, 300);
    assert.deepEqual(payloads(b), ["first"]);
  },
  "carries every kind of wire value intact": async (harness) => {
    const [a, b] = await harness.open(["a", "b"]);
    const value: WireValue = {
      big: 2n ** 100n,
      negative: -5n,
      small: 5n,
      bytes: new Uint8Array([0, 1, 255]),
      ref: new WireRef("a", "/user/reply"),
      nothing: undefined,
      empty: null,
      float: 1.5,
      nested: [{ deep: [true, "text", -0.25] }],
    };
    a.transport.send(direct("b", value));
    await harness.settle(() => b.received.length >= 1, 10_000);
    assert.deepEqual(b.received[0].payload, value);
    const ref = (b.received[0].payload as { ref: WireValue }).ref;
    assert.ok(ref instanceof WireRef, "an address arrives as a WireRef");
  },
  "refuses frames over the size limit with E_FRAME_TOO_LARGE and keeps working": async (
    harness,
  ) => {
    const [a, b] = await harness.open(["a", "b"]);
    const tooLarge = new Uint8Array(harness.frameBytesMax);
    assert.throws(
      () => a.transport.send(direct("b", tooLarge)),
      (error) => error instanceof FrameError && error.code === "E_FRAME_TOO_LARGE",
    );
    assert.throws(
      () => a.transport.send(topicFrame("news", tooLarge)),
      (error) => error instanceof FrameError && error.code === "E_FRAME_TOO_LARGE",
    );
    const large = new Uint8Array(Math.floor(harness.frameBytesMax / 2)).fill(7);
    a.transport.send(direct("b", large));
    await harness.settle(() => b.received.length >= 1, 10_000);
    assert.equal((b.received[0].payload as Uint8Array).length, large.length);
    assert.equal(b.received.length, 1);
  },
  "refuses malformed frames with E_FRAME_INVALID and keeps working": async (harness) => {
    const [a, b] = await harness.open(["a", "b"]);
    const bad: unknown[] = [
      { kind: "direct", to: { node: "", path: "/user/x" }, from: undefined, payload: 1 },
      { kind: "direct", to: { node: "b", path: "no-slash" }, from: undefined, payload: 1 },
      { kind: "direct", to: { node: "b", path: "/x" }, from: { node: 5, path: "/y" }, payload: 1 },
      { kind: "topic", topic: "", from: undefined, payload: 1 },
      { kind: "topic", topic: "x".repeat(10_000), from: undefined, payload: 1 },
      { kind: "direct", to: { node: "b", path: "/x" }, from: undefined, payload: new Date() },
      { kind: "direct", to: { node: "b", path: "/x" }, from: undefined, payload: () => 1 },
      { kind: "other", from: undefined, payload: 1 },
    ];
    for (const frame of bad) {
      assert.throws(
        () => a.transport.send(frame as Frame),
        (error) => error instanceof FrameError && error.code === "E_FRAME_INVALID",
        `must refuse ${String(JSON.stringify(frame))?.slice(0, 80)}`,
      );
    }
    a.transport.send(direct("b", "still working"));
    await harness.settle(() => b.received.length >= 1, 10_000);
    assert.deepEqual(payloads(b), ["still working"]);
  },
  "shuts down cleanly: close is idempotent and stops delivery": async (harness) => {
    const [a, b] = await harness.open(["a", "b"]);
    a.transport.send(direct("b", "before"));
    await harness.settle(() => b.received.length >= 1, 10_000);
    await b.transport.close();
    await b.transport.close();
    a.transport.send(direct("b", "after"));
    await harness.settle(() => false, 200);
    assert.deepEqual(payloads(b), ["before"]);
    try {
      b.transport.send(direct("a", "from a closed transport"));
    } catch (error) {
      assert.equal((error as { code?: string }).code, "E_TRANSPORT_CLOSED");
    }
    await harness.settle(() => false, 200);
    assert.equal(a.received.length, 0);
  },
};

/**
 * Registers the suite for one transport.
 *
 * @example
 * ```ts
 * runTransportConformance("in-process", () => inprocHarness());
 * ```
 */
export function runTransportConformance(
  name: string,
  factory: HarnessFactory,
  options: { sanitizeResources?: boolean; sanitizeOps?: boolean } = {},
): void {
  for (const [fact, body] of Object.entries(CASES)) {
    Deno.test({
      name: `${name} transport ${fact}`,
      sanitizeResources: options.sanitizeResources ?? true,
      sanitizeOps: options.sanitizeOps ?? true,
      fn: async () => {
        const harness = factory();
        try {
          await body(harness);
        } finally {
          await harness.dispose();
        }
      },
    });
  }
}

/** Records every frame an endpoint's transport delivers. */
export function recordingEndpoint(transport: Transport): Endpoint {
  const received: Frame[] = [];
  transport.attach({ onFrame: (frame) => received.push(frame) });
  return { transport, received };
}

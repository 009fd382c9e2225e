// Proves an RPC settles within its timeout when the peer stops reading: a graceful close that never finishes is aborted. The stream is a scripted stand-in for a libp2p Stream: a real one cannot be made to hang in close() on cue (it happens when a peer process is starved of CPU under load and stops taking bytes).
import assert from "node:assert/strict";
import type { Stream } from "@libp2p/interface";
import { callRpc, serveRpc } from "../../../runtime/transport/_rpc.ts";
import { closeWithin } from "../../../runtime/transport/_stream_close.ts";
import { encodeWire } from "../../../runtime/transport/frame_codec.ts";
import { lengthPrefixed } from "../../../runtime/transport/length_prefix.ts";

type CloseBehaviour = "closes" | "waits-for-abort" | "ignores-abort";

/** A stream whose `close()` finishes, waits until its signal aborts it, or never settles. */
class ScriptedStream extends EventTarget {
  readonly sent: Uint8Array[] = [];
  aborted: Error | undefined;
  constructor(readonly behaviour: CloseBehaviour) {
    super();
  }
  send(bytes: Uint8Array): boolean {
    this.sent.push(bytes);
    return true;
  }
  /** The peer's bytes arrive. */
  receive(bytes: Uint8Array): void {
    const event = new Event("message") as Event & { data: { subarray(): Uint8Array } };
    event.data = { subarray: () => bytes };
    this.dispatchEvent(event);
  }
  close(options?: { signal?: AbortSignal }): Promise<void> {
    if (this.behaviour === "closes") return Promise.resolve();
    if (this.behaviour === "ignores-abort") return new Promise(() => {});
    return new Promise((_resolve, reject) =>
      options?.signal?.addEventListener("abort", () => reject(options.signal?.reason))
    );
  }
  abort(error: Error): void {
    this.aborted = error;
  }
}

const asStream = (stream: ScriptedStream) => stream as unknown as Stream;
const frame = (value: Parameters<typeof encodeWire>[0]) => lengthPrefixed(encodeWire(value));

for (const behaviour of ["waits-for-abort", "ignores-abort"] as const) {
  Deno.test(`a call whose close hangs (${behaviour}) still returns its reply, and aborts the stream`, async () => {
    const stream = new ScriptedStream(behaviour);
    const started = performance.now();
    const reply = callRpc(asStream(stream), { method: "cas-get", body: "cid" }, {
      bytesMax: 1024,
      timeoutMs: 50,
    });
    stream.receive(frame([true, "block"]));
    assert.equal(await reply, "block");
    assert.ok(performance.now() - started < 1_000, "settled within the timeout");
    assert.match(String(stream.aborted?.message), /rpc done/);
  });

  Deno.test(`a served request whose close hangs (${behaviour}) ends, and aborts the stream`, async () => {
    const stream = new ScriptedStream(behaviour);
    const served = serveRpc(
      asStream(stream),
      { peer: "peer", node: undefined },
      new Map([["echo", (body: unknown) => body as string]]),
      { bytesMax: 1024, timeoutMs: 50 },
    );
    stream.receive(frame(["echo", "hi"]));
    assert.equal(await served, undefined);
    assert.equal(stream.sent.length, 1, "the reply went out first");
    assert.match(String(stream.aborted?.message), /rpc reply not taken/);
  });
}

Deno.test("a close that finishes in time leaves the stream alone", async () => {
  const stream = new ScriptedStream("closes");
  await closeWithin(asStream(stream), 50, "unused");
  assert.equal(stream.aborted, undefined);
});

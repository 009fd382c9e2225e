// Proves an outbound channel that waits for a full stream to drain moves to a fresh stream when that stream closes instead, so frames queued meanwhile are sent rather than stuck. The stream is a scripted stand-in for a libp2p Stream: a real one cannot be made to fill up and then close on cue.
import assert from "node:assert/strict";
import type { Stream } from "@libp2p/interface";
import { OutboundChannel } from "../../../runtime/transport/_outbound.ts";

/** A stream that takes `capacity` frames, then reports itself full until it drains or closes. */
class ScriptedStream extends EventTarget {
  status = "open";
  writeStatus = "writable";
  readonly sent: Uint8Array[] = [];
  constructor(readonly capacity: number) {
    super();
  }
  send(bytes: Uint8Array): boolean {
    this.sent.push(bytes);
    return this.sent.length < this.capacity;
  }
  abort(): void {
    this.closeNow();
  }
  close(): Promise<void> {
    this.closeNow();
    return Promise.resolve();
  }
  closeNow(): void {
    this.status = "closed";
    this.writeStatus = "closed";
    this.dispatchEvent(new Event("close"));
  }
}

Deno.test("a channel whose full stream closes sends what it queued on a fresh stream", async () => {
  const streams: ScriptedStream[] = [];
  let delivered = 0;
  const channel = new OutboundChannel({ framesMax: 100, bytesMax: 1 << 20 }, {
    open: () => {
      const stream = new ScriptedStream(streams.length === 0 ? 2 : 100);
      streams.push(stream);
      return Promise.resolve(stream as unknown as Stream);
    },
    delivered: (ok, count) => void (delivered += ok ? count : 0),
  });
  for (let index = 0; index < 5; index++) channel.enqueue(new Uint8Array([index]));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(streams[0].sent.length, 2, "the first stream filled up");
  assert.equal(channel.queued, 3, "the rest waits for it to drain");

  streams[0].closeNow();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(streams.length, 2, "a fresh stream was opened");
  assert.equal(streams[1].sent.length, 3, "and carried what was queued");
  assert.equal(channel.queued, 0);
  assert.equal(delivered, 5);
  await channel.close();
});

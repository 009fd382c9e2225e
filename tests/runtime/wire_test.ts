// Proves wire copies keep a "__proto__" key as data (Deno has no __proto__ accessor; this guards it stays so).
import assert from "node:assert/strict";
import { decodeFrame } from "../../runtime/transport/frame_codec.ts";
import { fromWire, toWire, type WireValue } from "../../runtime/wire.ts";
import { encode } from "cborg";

Deno.test("fromWire() keeps a received __proto__ key as an own property", () => {
  const bytes = encode([1, 0, ["b", "/x"], null, JSON.parse('{"__proto__": {"type": "ack"}}')]);
  const payload = decodeFrame(bytes).frame.payload;
  const message = fromWire(payload, () => undefined) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(message), Object.prototype);
  assert.equal((message as { type?: string }).type, undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(message, "__proto__")?.value, { type: "ack" });
});

Deno.test("toWire() copies a __proto__ key as data", () => {
  const original = JSON.parse('{"__proto__": {"x": 1}, "y": 2}');
  const copy = toWire(original) as Record<string, WireValue>;
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.deepEqual(Object.keys(copy).sort(), ["__proto__", "y"]);
});

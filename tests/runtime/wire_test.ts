// Proves wire values copy messages faithfully across node boundaries and refuse what cannot travel.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  fromWire,
  toWire,
  WIRE_DEPTH_MAX,
  WireError,
  WireRef,
  type WireValue,
} from "../../runtime/wire.ts";
import { decodeFrame } from "../../runtime/transport/frame_codec.ts";
import { encode } from "cborg";

const plainValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true }),
    fc.string(),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

Deno.test("fromWire(toWire(x)) equals x for plain data (property)", () => {
  fc.assert(fc.property(plainValue, (value) => {
    assert.deepEqual(fromWire(toWire(value), () => assert.fail("no refs")), value);
  }));
});

Deno.test("a __proto__ key from a peer stays data and never becomes the copy's prototype", () => {
  const hostile = JSON.parse('{"__proto__": {"polluted": true}}');
  const received = fromWire(hostile, () => undefined) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(received), Object.prototype);
  assert.equal((received as { polluted?: boolean }).polluted, undefined);
  assert.deepEqual(Object.keys(received), ["__proto__"]);
});

Deno.test("toWire() copies: mutating the original does not change what was sent", () => {
  const original = { list: [1, 2], bytes: new Uint8Array([1]) };
  const wire = toWire(original) as { list: number[]; bytes: Uint8Array };
  original.list.push(3);
  original.bytes[0] = 9;
  assert.deepEqual(wire, { list: [1, 2], bytes: new Uint8Array([1]) });
});

Deno.test("actor references travel as addresses and come back through the resolver", () => {
  const ref = {
    address: { node: "n2", path: "/user/a" },
    tell: () => true,
    send: () => Promise.resolve(true),
  };
  const wire = toWire({ replyTo: ref }) as { replyTo: WireValue };
  assert.ok(wire.replyTo instanceof WireRef);
  const back = fromWire(wire, (address) => `resolved ${address.node}${address.path}`);
  assert.deepEqual(back, { replyTo: "resolved n2/user/a" });
});

Deno.test("functions, symbols, class instances and over-deep values are refused with E_WIRE_VALUE", () => {
  class Thing {}
  let deep: unknown = 1;
  for (let level = 0; level <= WIRE_DEPTH_MAX + 1; level++) deep = [deep];
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const bad of [() => 1, Symbol("s"), new Thing(), new Map(), new Date(0), deep, cyclic]) {
    assert.throws(() => toWire({ bad }), (error: WireError) => error.code === "E_WIRE_VALUE");
  }
});

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

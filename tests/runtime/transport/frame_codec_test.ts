// Proves the frame codec round-trips every wire value and refuses any other bytes with a typed FrameError (fuzzed).
import assert from "node:assert/strict";
import fc from "fast-check";
import { encode } from "cborg";
import { FrameError } from "../../../runtime/transport/frame_check.ts";
import {
  decodeFrame,
  decodeWire,
  encodeFrame,
  encodeWire,
  guardFrame,
  WIRE_REF_TAG,
} from "../../../runtime/transport/frame_codec.ts";
import type { Frame } from "../../../runtime/transport/transport.ts";
import { WireRef, type WireValue } from "../../../runtime/wire.ts";

const wireValue: fc.Arbitrary<WireValue> = fc.letrec<{ value: WireValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string(),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 64 }),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([node, path]) =>
      new WireRef(node, `/${path}`)
    ),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

const address = fc.record({
  node: fc.string({ minLength: 1, maxLength: 20 }),
  path: fc.string({ maxLength: 20 }).map((path) => `/${path}`),
}, { noNullPrototype: true });

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    kind: fc.constant("direct" as const),
    to: address,
    from: fc.option(address, { nil: undefined }),
    payload: wireValue,
  }, { noNullPrototype: true }),
  fc.record({
    kind: fc.constant("topic" as const),
    topic: fc.string({ minLength: 1, maxLength: 40 }),
    from: fc.option(address, { nil: undefined }),
    payload: wireValue,
  }, { noNullPrototype: true }),
);

const origin = { node: "node-1", incarnation: new Uint8Array([1, 2, 3]), sequence: 9 };

Deno.test("decodeFrame(encodeFrame(frame)) is the frame, for every frame", () => {
  fc.assert(
    fc.property(frame, (value) => {
      const decoded = decodeFrame(encodeFrame(value, origin));
      assert.deepEqual(decoded.frame, value);
      if (value.kind === "topic") assert.deepEqual(decoded.origin, origin);
      else assert.equal(decoded.origin, undefined);
    }),
    { numRuns: 500 },
  );
});

Deno.test("bigints keep their type, numbers stay numbers, -0 stays -0", () => {
  const payload = { a: 5n, b: 5, c: -0, d: -(2n ** 200n), e: 0n, f: 2 ** 60 };
  const decoded = decodeFrame(encodeFrame({ kind: "topic", topic: "t", from: undefined, payload }))
    .frame.payload as Record<string, unknown>;
  assert.equal(decoded.a, 5n);
  assert.equal(decoded.b, 5);
  assert.ok(Object.is(decoded.c, -0));
  assert.equal(decoded.d, -(2n ** 200n));
  assert.equal(decoded.e, 0n);
  assert.equal(decoded.f, 2 ** 60);
});

Deno.test("decodeFrame() throws only FrameError for arbitrary bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeFrame(bytes);
      } catch (error) {
        assert.ok(error instanceof FrameError, `expected FrameError, got ${error}`);
        assert.match(error.code, /^E_FRAME_/);
      }
    }),
    { numRuns: 3_000 },
  );
});

Deno.test("decodeFrame() throws only FrameError for mutated valid frames", () => {
  fc.assert(
    fc.property(
      frame,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      (value, mutations) => {
        const bytes = encodeFrame(value, origin);
        for (const [position, byte] of mutations) bytes[position % bytes.length] = byte;
        try {
          decodeFrame(bytes);
        } catch (error) {
          assert.ok(error instanceof FrameError, `expected FrameError, got ${error}`);
        }
      },
    ),
    { numRuns: 2_000 },
  );
});

Deno.test("decodeFrame() refuses well-formed CBOR that is not a frame, naming why", () => {
  const cases: [unknown, string][] = [
    [{ kind: "direct" }, "E_FRAME_SHAPE"],
    [[2, 0, ["b", "/x"], null, 1], "E_FRAME_VERSION"],
    [[1, 7, ["b", "/x"], null, 1], "E_FRAME_SHAPE"],
    [[1, 0, ["b"], null, 1], "E_FRAME_SHAPE"],
    [[1, 0, ["", "/x"], null, 1], "E_FRAME_VALUE"],
    [[1, 0, ["b", "x"], null, 1], "E_FRAME_VALUE"],
    [[1, 1, "t", null, 1, "n", new Uint8Array(1), -1], "E_FRAME_SHAPE"],
    [[1, 1, 5, null, 1, "n", new Uint8Array(1), 0], "E_FRAME_SHAPE"],
  ];
  for (const [layout, code] of cases) {
    assert.throws(
      () => decodeFrame(encode(layout)),
      (error) => error instanceof FrameError && error.code === code,
      `expected ${code} for ${JSON.stringify(layout)}`,
    );
  }
});

Deno.test("decodeFrame() refuses a broken WireRef tag and nesting beyond the depth limit", () => {
  const refWithNumber = encodeFrame({
    kind: "direct",
    to: { node: "b", path: "/x" },
    from: undefined,
    payload: new WireRef("a", "/y"),
  });
  // Cut the frame inside the tagged [node, path] and end it with an integer: the tag no longer wraps two strings.
  const index = refWithNumber.lastIndexOf(0x62);
  const broken = Uint8Array.from([...refWithNumber.slice(0, index), 0x05]);
  assert.throws(() => decodeFrame(broken), FrameError);
  let deep: WireValue = 1;
  for (let level = 0; level < 100; level++) deep = [deep];
  const deepBytes = encode([1, 0, ["b", "/x"], null, deep]);
  assert.throws(
    () => decodeFrame(deepBytes),
    (error) => error instanceof FrameError && error.code === "E_FRAME_VALUE",
  );
  assert.equal(WIRE_REF_TAG, 39_277);
});

Deno.test("decodeFrame() refuses more bytes than the limit before decoding", () => {
  const bytes = encodeFrame({
    kind: "topic",
    topic: "t",
    from: undefined,
    payload: "x".repeat(100),
  });
  assert.throws(
    () => decodeFrame(bytes, 50),
    (error) => error instanceof FrameError && error.code === "E_FRAME_TOO_LARGE",
  );
});

Deno.test("guardFrame() agrees with the encoded size at the limit", () => {
  const limit = 1_000;
  for (let size = 800; size < 1_000; size += 7) {
    const candidate: Frame = {
      kind: "direct",
      to: { node: "b", path: "/x" },
      from: undefined,
      payload: new Uint8Array(size),
    };
    const encoded = encodeFrame(candidate).length;
    if (encoded <= limit - 200) guardFrame(candidate, limit);
    if (encoded > limit) assert.throws(() => guardFrame(candidate, limit), FrameError);
  }
});

Deno.test("encodeWire/decodeWire round-trip wire values", () => {
  fc.assert(
    fc.property(wireValue, (value) => assert.deepEqual(decodeWire(encodeWire(value)), value)),
    { numRuns: 300 },
  );
});

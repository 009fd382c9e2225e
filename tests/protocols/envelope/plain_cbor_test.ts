// Proves the fast payload encoder writes exactly the bytes @ipld/dag-cbor writes, and declines what it cannot encode.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as dagCbor from "@ipld/dag-cbor";
import { encodePlain } from "../../../protocols/envelope/_plain_cbor.ts";

const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "binary" }),
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true })
      .filter((value) =>
        !Object.is(value, -0) && (!Number.isInteger(value) || Number.isSafeInteger(value))
      ),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), tie("value"), {
      maxKeys: 6,
      noNullPrototype: true,
    }),
  ),
})).value;

Deno.test("encodePlain() writes the same bytes as dagCbor.encode() for plain values (property)", () => {
  fc.assert(
    fc.property(plain, (value) => {
      const fast = encodePlain(value);
      assert.ok(fast !== undefined, "plain values take the fast path");
      assert.deepEqual(fast, new Uint8Array(dagCbor.encode(value)));
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("encodePlain() declines bytes, bigints, undefined, -0, non-finite numbers and class instances", () => {
  for (
    const value of [
      new Uint8Array(1),
      1n,
      { a: undefined },
      -0,
      Infinity,
      Number.NaN,
      new Date(0),
      [2 ** 60],
    ]
  ) {
    assert.equal(encodePlain(value), undefined, String(value));
  }
});

// Proves length-prefixed framing splits any chunking of a stream back into its messages and refuses oversized ones early.
import assert from "node:assert/strict";
import fc from "fast-check";
import { FrameError } from "../../../runtime/transport/frame_check.ts";
import { lengthPrefixed, LengthPrefixedDecoder } from "../../../runtime/transport/length_prefix.ts";

Deno.test("LengthPrefixedDecoder returns the messages whatever the chunk boundaries", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
      (messages, cuts) => {
        const stream = Uint8Array.from(messages.flatMap((message) => [...lengthPrefixed(message)]));
        const decoder = new LengthPrefixedDecoder(1_000);
        const out: Uint8Array[] = [];
        let offset = 0;
        for (let index = 0; offset < stream.length; index++) {
          const size = cuts[index % cuts.length];
          out.push(...decoder.push(stream.subarray(offset, offset + size)));
          offset += size;
        }
        assert.deepEqual(out, messages);
        assert.equal(decoder.buffered, 0);
      },
    ),
  );
});

Deno.test("LengthPrefixedDecoder refuses a declared length over the limit before the body arrives", () => {
  const decoder = new LengthPrefixedDecoder(100);
  assert.throws(
    () => decoder.push(new Uint8Array([0, 0, 0, 101])),
    (error) => error instanceof FrameError && error.code === "E_FRAME_TOO_LARGE",
  );
  const huge = new LengthPrefixedDecoder(1024);
  assert.throws(() => huge.push(new Uint8Array([0xff, 0xff, 0xff, 0xff])), FrameError);
});

Deno.test("LengthPrefixedDecoder holds an incomplete message until its last byte", () => {
  const decoder = new LengthPrefixedDecoder(100);
  const bytes = lengthPrefixed(new Uint8Array([1, 2, 3]));
  assert.deepEqual(decoder.push(bytes.subarray(0, 5)), []);
  assert.equal(decoder.buffered, 1);
  assert.deepEqual(decoder.push(bytes.subarray(5)), [new Uint8Array([1, 2, 3])]);
});

// Proves the trace's canonical rendering: short byte arrays in hex, long ones by length and digest (equal bytes alike, one changed byte different), and depth-limited rendering for deliveries.
import assert from "node:assert/strict";
import { canonicalString } from "../../sim/canonical.ts";

Deno.test("short bytes render in hex, long bytes by length and a digest that any change moves", () => {
  assert.equal(canonicalString(new Uint8Array([1, 255])), "0x01ff");
  const long = new Uint8Array(500).map((_, index) => index % 251);
  const rendered = canonicalString(long);
  assert.match(rendered, /^bytes\(500:[0-9a-f]{16}\)$/);
  assert.equal(canonicalString(long.slice()), rendered, "equal bytes render equally");
  for (const position of [0, 250, 499]) {
    const changed = long.slice();
    changed[position] ^= 1;
    assert.notEqual(canonicalString(changed), rendered, `a flip at byte ${position} shows`);
  }
  assert.notEqual(canonicalString(long.subarray(0, 499)), rendered, "length is part of it");
});

Deno.test("rendering stops at the depth limit with an ellipsis", () => {
  const nested = { a: { b: { c: { d: 1 } } } };
  assert.equal(canonicalString(nested), '{"a":{"b":{"c":{"d":1}}}}');
  assert.equal(canonicalString(nested, 0, 2), '{"a":{"b":{"c":…}}}');
});

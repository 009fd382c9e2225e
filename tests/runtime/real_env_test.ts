// Proves the production randomness gives fresh bytes of the asked length from its pool and beyond it, and floats in [0, 1).
import assert from "node:assert/strict";
import { CryptoRandom } from "../../runtime/real_env.ts";

Deno.test("bytes() has the asked length and never hands out the same pooled bytes twice", () => {
  const random = new CryptoRandom();
  const seen = new Set<string>();
  // Several pool refills' worth of nonces: all distinct.
  for (let index = 0; index < 2_000; index++) {
    const nonce = random.bytes(16);
    assert.equal(nonce.length, 16);
    seen.add(nonce.join(","));
  }
  assert.equal(seen.size, 2_000);
  const first = random.bytes(16);
  first.fill(0); // a caller's change does not reach the pool
  assert.notDeepEqual(random.bytes(16), new Uint8Array(16));
});

Deno.test("bytes() serves lengths past the pool, zero, and refuses a negative length", () => {
  const random = new CryptoRandom();
  assert.equal(random.bytes(0).length, 0);
  const large = random.bytes(100_000);
  assert.equal(large.length, 100_000);
  assert.ok(large.some((byte) => byte !== 0));
  assert.throws(() => random.bytes(-1), RangeError);
});

Deno.test("float() stays in [0, 1) and int() below its bound", () => {
  const random = new CryptoRandom();
  for (let index = 0; index < 10_000; index++) {
    const value = random.float();
    assert.ok(value >= 0 && value < 1);
    assert.ok(random.int(7) < 7);
  }
});

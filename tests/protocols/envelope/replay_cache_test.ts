// Proves the replay cache remembers (sender, nonce) for its window only, stays within its bound, and answers as a plain model does over any arrivals.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ReplayCache } from "../../../protocols/envelope/mod.ts";

const ms = (value: number) => BigInt(value) * 1_000_000n;
const nonce = (value: number) => new Uint8Array(16).fill(value);

Deno.test("a pair is refused within the window and accepted again after it", () => {
  const cache = new ReplayCache({ windowMs: 100 });
  assert.equal(cache.checkAndRecord("did:a", nonce(1), ms(0)), true);
  assert.equal(cache.checkAndRecord("did:a", nonce(1), ms(99)), false);
  assert.equal(cache.has("did:a", nonce(1), ms(99)), true);
  assert.equal(cache.checkAndRecord("did:a", nonce(1), ms(100)), true);
});

Deno.test("the same nonce from two senders are two different pairs", () => {
  const cache = new ReplayCache();
  assert.equal(cache.checkAndRecord("did:a", nonce(7), ms(0)), true);
  assert.equal(cache.checkAndRecord("did:b", nonce(7), ms(0)), true);
  assert.equal(cache.size, 2);
});

Deno.test("beyond its capacity the cache evicts the oldest pair and counts it", () => {
  const cache = new ReplayCache({ capacity: 3, windowMs: 60_000 });
  for (let value = 0; value < 5; value++) cache.checkAndRecord("did:a", nonce(value), ms(value));
  assert.equal(cache.size, 3);
  assert.equal(cache.evictedEarly, 2);
  assert.equal(cache.has("did:a", nonce(0), ms(10)), false);
  assert.equal(cache.has("did:a", nonce(4), ms(10)), true);
});

Deno.test("expired pairs are dropped as time passes", () => {
  const cache = new ReplayCache({ windowMs: 10 });
  for (let value = 0; value < 100; value++) cache.checkAndRecord("did:a", nonce(value), ms(value));
  assert.ok(cache.size <= 11, `size ${cache.size}`);
  assert.equal(cache.evictedEarly, 0);
});

Deno.test("a non-positive window or capacity is refused", () => {
  assert.throws(() => new ReplayCache({ windowMs: 0 }), /Replay window must be > 0 ms, got 0/);
  assert.throws(() => new ReplayCache({ capacity: 0 }), /positive integer, got 0/);
});

Deno.test("over any arrivals the cache answers as a list of (pair, expiry) with the same window and bound", () => {
  const arrival = fc.record({
    sender: fc.constantFrom("did:a", "did:b"),
    value: fc.nat(6),
    advanceMs: fc.nat(30),
  });
  fc.assert(
    fc.property(
      fc.array(arrival, { maxLength: 200 }),
      fc.integer({ min: 1, max: 8 }),
      (arrivals, capacity) => {
        const windowMs = 50;
        const cache = new ReplayCache({ windowMs, capacity });
        const model: { key: string; expiresMs: number }[] = [];
        let nowMs = 0;
        for (const { sender, value, advanceMs } of arrivals) {
          nowMs += advanceMs;
          while (model.length > 0 && model[0].expiresMs <= nowMs) model.shift();
          const key = `${sender} ${value}`;
          const fresh = !model.some((entry) => entry.key === key);
          if (fresh) {
            if (model.length >= capacity) model.shift();
            model.push({ key, expiresMs: nowMs + windowMs });
          }
          assert.equal(cache.checkAndRecord(sender, nonce(value), ms(nowMs)), fresh, key);
          assert.equal(cache.size, model.length);
        }
      },
    ),
  );
});

// Proves held envelopes hold back the later envelopes of their thread only, release them in Lamport order once the holds before them are gone, expire after their time, and are bounded.
import assert from "node:assert/strict";
import { HELD_MAX, HELD_TTL_MS, HeldEmits } from "../../actors/_held_emits.ts";

Deno.test("a hold blocks only later envelopes of its thread; they go out in Lamport order as holds end", () => {
  const held = new HeldEmits<string, string>();
  assert.deepEqual(held.hold("h5", "T", 5, "claim-5", 0), { held: true, freed: [] });
  assert.deepEqual(held.hold("h7", "T", 7, "claim-7", 0), { held: true, freed: [] });
  assert.equal(held.blocks("T", 6), true);
  assert.equal(held.blocks("T", 4), false, "signed before every hold");
  assert.equal(held.blocks("U", 9), false, "another thread");
  held.wait("T", 9, "w9");
  held.wait("T", 6, "w6");
  assert.deepEqual(held.released("T"), [], "all still blocked");
  assert.deepEqual(held.take("h5"), { thread: "T", value: "claim-5" });
  assert.deepEqual(held.released("T"), ["w6"], "w9 still waits behind h7");
  assert.equal(held.take("h5"), undefined, "taken once");
  assert.equal(held.drop("h7"), "T", "dropped like published: it blocks no more");
  assert.deepEqual(held.released("T"), ["w9"]);
  assert.deepEqual(held.released("T"), []);
});

Deno.test("a key dropped before its envelope is held makes the hold a no-op", () => {
  const held = new HeldEmits<string, string>();
  assert.equal(held.drop("late"), undefined, "nothing held yet");
  assert.deepEqual(held.hold("late", "T", 3, "claim", 0), { held: false, freed: [] });
  assert.equal(held.blocks("T", 4), false);
  assert.equal(held.take("late"), undefined);
  assert.deepEqual(held.hold("late", "T", 3, "claim", 0), { held: true, freed: [] }, "once");
});

Deno.test("a hold nobody resolves expires after its time, and the oldest goes when full", () => {
  const held = new HeldEmits<number, string>();
  held.hold("a", "T", 1, 1, 0);
  held.hold("b", "U", 2, 2, 10);
  held.wait("T", 3, "w3");
  assert.deepEqual(held.expire(HELD_TTL_MS - 1), []);
  assert.deepEqual(held.expire(HELD_TTL_MS), ["T"]);
  assert.deepEqual(held.released("T"), ["w3"]);
  assert.equal(held.take("a"), undefined, "expired");
  assert.deepEqual(held.take("b"), { thread: "U", value: 2 });

  const full = new HeldEmits<number, string>();
  for (let index = 0; index < HELD_MAX; index++) {
    assert.deepEqual(full.hold(`h${index}`, `T${index}`, index, index, 0).freed, []);
  }
  assert.deepEqual(full.hold("last", "X", 1, 1, 0).freed, ["T0"], "the oldest hold was dropped");
  assert.equal(full.take("h0"), undefined);
  assert.equal(full.take("h1")?.value, 1);
});

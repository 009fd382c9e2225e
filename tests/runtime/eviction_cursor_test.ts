// Proves the eviction cursor always drops the oldest live entry, whatever mix of inserts, touches, deletes and clears came before.
import assert from "node:assert/strict";
import fc from "fast-check";
import { EvictionCursor } from "../../runtime/eviction_cursor.ts";

type Step =
  | { readonly op: "add"; readonly key: number }
  | { readonly op: "touch"; readonly key: number }
  | { readonly op: "delete"; readonly key: number }
  | { readonly op: "evict" }
  | { readonly op: "clear" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(40).map((key) => ({ op: "add" as const, key })) },
  { weight: 2, arbitrary: fc.nat(40).map((key) => ({ op: "touch" as const, key })) },
  { weight: 2, arbitrary: fc.nat(40).map((key) => ({ op: "delete" as const, key })) },
  { weight: 4, arbitrary: fc.constant({ op: "evict" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "clear" as const }) },
);

Deno.test("evict() drops and returns what a fresh iterator names first, on a Map and on a Set", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const map = new Map<number, string>();
      const set = new Set<number>();
      const mapCursor = new EvictionCursor(map);
      const setCursor = new EvictionCursor(set);
      const model: number[] = []; // keys, oldest first
      for (const each of steps) {
        if (each.op === "add" && !model.includes(each.key)) {
          map.set(each.key, `v${each.key}`);
          set.add(each.key);
          model.push(each.key);
        } else if (each.op === "touch" && model.includes(each.key)) {
          map.delete(each.key);
          map.set(each.key, `v${each.key}`);
          set.delete(each.key);
          set.add(each.key);
          model.splice(model.indexOf(each.key), 1);
          model.push(each.key);
        } else if (each.op === "delete") {
          map.delete(each.key);
          set.delete(each.key);
          if (model.includes(each.key)) model.splice(model.indexOf(each.key), 1);
        } else if (each.op === "evict") {
          const expected = model.shift();
          assert.deepEqual(
            mapCursor.evict(),
            expected === undefined ? undefined : [expected, `v${expected}`],
          );
          assert.deepEqual(
            setCursor.evict(),
            expected === undefined ? undefined : [expected, expected],
          );
        } else if (each.op === "clear") {
          map.clear();
          set.clear();
          model.length = 0;
        }
        assert.deepEqual([...map.keys()], model);
        assert.deepEqual([...set], model);
      }
    }),
  );
});

Deno.test("evict() on an empty collection returns undefined, and works again once entries come back", () => {
  const set = new Set<string>();
  const cursor = new EvictionCursor(set);
  assert.equal(cursor.evict(), undefined);
  set.add("a");
  set.add("b");
  assert.deepEqual(cursor.evict(), ["a", "a"]);
  assert.deepEqual(cursor.evict(), ["b", "b"]);
  assert.equal(cursor.evict(), undefined);
  set.add("c");
  assert.deepEqual(cursor.evict(), ["c", "c"]);
  assert.equal(set.size, 0);
});

Deno.test("a bounded set kept with evict() holds exactly the newest entries after many rebuilds of its table", () => {
  const max = 1_000;
  const set = new Set<number>();
  const cursor = new EvictionCursor(set);
  for (let key = 0; key < 50_000; key++) {
    set.add(key);
    if (set.size > max) cursor.evict();
  }
  assert.equal(set.size, max);
  assert.deepEqual([...set], Array.from({ length: max }, (_, index) => 49_000 + index));
});

// Proves a concurrency limit never runs more than its bound, serves waiters in order, and frees a turn when a task fails.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConcurrencyLimit } from "../../runtime/concurrency_limit.ts";

Deno.test("never more than the bound at once, every task runs, in order of arrival", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }),
      async (max, ticks) => {
        const limit = new ConcurrencyLimit(max);
        let running = 0;
        let peak = 0;
        const started: number[] = [];
        await Promise.all(ticks.map((tick, index) =>
          limit.run(async () => {
            started.push(index);
            running++;
            peak = Math.max(peak, running);
            for (let turn = 0; turn < tick; turn++) await Promise.resolve();
            running--;
            return index;
          })
        ));
        assert.ok(peak <= max, `peak ${peak} over ${max}`);
        assert.deepEqual(started, ticks.map((_, index) => index), "first come, first served");
        assert.equal(limit.running, 0);
        assert.equal(limit.waiting, 0);
      },
    ),
  );
});

Deno.test("a failing task passes its error on and frees its turn", async () => {
  const limit = new ConcurrencyLimit(1);
  const failed = limit.run(() => Promise.reject(new Error("boom")));
  const next = limit.run(() => Promise.resolve("next"));
  await assert.rejects(failed, /boom/);
  assert.equal(await next, "next");
  assert.equal(limit.running, 0);
});

Deno.test("a bound that is not a whole number of at least 1 is refused", () => {
  for (const max of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new ConcurrencyLimit(max), RangeError);
  }
});

// Proves the deadline queue fires deadlines in order on one timer, honours cancellation and stays bounded.
import assert from "node:assert/strict";
import { DeadlineQueue } from "../../runtime/deadlines.ts";
import { SimScheduler } from "../../sim/scheduler.ts";
import { msToNs } from "../../runtime/env.ts";

function virtual() {
  const scheduler = new SimScheduler();
  let armed = 0;
  const timers = {
    setTimer: (delayMs: number, callback: () => void) => {
      armed++;
      return scheduler.at(scheduler.nowNs + msToNs(delayMs), "timer", callback);
    },
  };
  const queue = new DeadlineQueue(timers, { nowNs: () => scheduler.nowNs });
  return { scheduler, queue, armed: () => armed };
}

Deno.test("deadlines fire in time order at their virtual times", async () => {
  const { scheduler, queue } = virtual();
  const fired: string[] = [];
  for (const [name, delay] of [["c", 30], ["a", 10], ["b", 20], ["a2", 10]] as const) {
    queue.add(delay, () => fired.push(`${name}@${Number(scheduler.nowNs) / 1e6}`));
  }
  await scheduler.run();
  assert.deepEqual(fired, ["a@10", "a2@10", "b@20", "c@30"]);
});

Deno.test("a cancelled deadline never fires and a late cancel is harmless", async () => {
  const { scheduler, queue } = virtual();
  const fired: string[] = [];
  const first = queue.add(10, () => fired.push("first"));
  const second = queue.add(20, () => fired.push("second"));
  first.cancel();
  await scheduler.run();
  second.cancel();
  assert.deepEqual(fired, ["second"]);
});

Deno.test("many deadlines with the same timeout share one host timer", async () => {
  const { scheduler, queue, armed } = virtual();
  let fired = 0;
  for (let index = 0; index < 1_000; index++) queue.add(100, () => fired++);
  assert.equal(armed(), 1);
  await scheduler.run();
  assert.equal(fired, 1_000);
});

Deno.test("cancelled deadlines are compacted so the queue stays bounded by live ones", () => {
  const { queue } = virtual();
  const keep = queue.add(1_000_000, () => {});
  for (let index = 0; index < 10_000; index++) queue.add(5_000, () => {}).cancel();
  assert.ok(queue.size < 200, `size ${queue.size} stays small`);
  keep.cancel();
  assert.equal(queue.size, 0);
});

// Proves the node core's repair schedule: a thread is asked for at most once per interval, stalled threads are asked for at once, and idle threads with a doubling gap up to a minute.
import assert from "node:assert/strict";
import { type RepairSource, SyncRepair } from "../../actors/_sync_repair.ts";

/** A thread book that reports fixed stalled and idle threads (the real one is tested on its own). */
function book(stalled: string[], idle: { thread: string; sinceMs: number }[]): RepairSource {
  return { stalled: () => stalled, idle: () => idle };
}

Deno.test("a thread is asked for at most once per 2 s interval", () => {
  const repair = new SyncRepair();
  assert.equal(repair.shouldRequest("need-1", 0), true);
  assert.equal(repair.shouldRequest("need-1", 1_999), false);
  assert.equal(repair.shouldRequest("need-2", 1_999), true, "other threads are not held back");
  assert.equal(repair.shouldRequest("need-1", 2_000), true);
});

Deno.test("stalled threads are due at every sweep past the interval", () => {
  const repair = new SyncRepair();
  const stalled = book(["need-1", "need-2"], []);
  assert.deepEqual(repair.due(stalled, 10_000), ["need-1", "need-2"]);
  assert.deepEqual(repair.due(stalled, 11_000), [], "asked a second ago");
  assert.deepEqual(repair.due(stalled, 12_000), ["need-1", "need-2"]);
});

Deno.test("an idle thread is asked for with a doubling gap, capped at a minute, and afresh when it moves", () => {
  const repair = new SyncRepair({ idleRepairMs: 5_000 });
  const idle = book([], [{ thread: "need-1", sinceMs: 0 }]);
  const askedAt: number[] = [];
  for (let nowMs = 5_000; nowMs <= 400_000; nowMs += 1_000) {
    if (repair.due(idle, nowMs).length > 0) askedAt.push(nowMs);
  }
  const gaps = askedAt.slice(1).map((atMs, index) => atMs - askedAt[index]);
  assert.deepEqual(gaps.slice(0, 5), [5_000, 10_000, 20_000, 40_000, 60_000]);
  assert.ok(gaps.slice(5).every((gap) => gap === 60_000), "the gap stops growing at a minute");
  const moved = book([], [{ thread: "need-1", sinceMs: 399_000 }]);
  assert.deepEqual(repair.due(moved, 401_000), ["need-1"], "idle again since later: asked at once");
});

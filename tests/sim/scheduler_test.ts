// Proves the scheduler runs events in (time, insertion) order one at a time and folds outside promises back in deterministically.
import assert from "node:assert/strict";
import { type EventOwner, SimScheduler } from "../../sim/scheduler.ts";

Deno.test("events run in time order, ties in insertion order, and the clock jumps to each", async () => {
  const scheduler = new SimScheduler();
  const log: string[] = [];
  scheduler.at(20n, "late", () => void log.push(`late@${scheduler.nowNs}`));
  scheduler.at(10n, "first", () => void log.push(`first@${scheduler.nowNs}`));
  scheduler.at(10n, "second", () => void log.push(`second@${scheduler.nowNs}`));
  const summary = await scheduler.run();
  assert.deepEqual(log, ["first@10", "second@10", "late@20"]);
  assert.equal(summary.events, 3);
  assert.equal(summary.reason, "drained");
});

Deno.test("an async event completes before the next one starts", async () => {
  const scheduler = new SimScheduler();
  const log: string[] = [];
  scheduler.at(1n, "slow", async () => {
    log.push("slow start");
    await crypto.subtle.digest("SHA-256", new Uint8Array(1 << 16));
    log.push("slow end");
  });
  scheduler.at(1n, "fast", () => void log.push("fast"));
  await scheduler.run();
  assert.deepEqual(log, ["slow start", "slow end", "fast"]);
});

Deno.test("outside promises are delivered after their event, in registration order, whatever settles first", async () => {
  const scheduler = new SimScheduler();
  const log: string[] = [];
  scheduler.at(1n, "register", () => {
    const slow = new Promise<string>((resolve) => setTimeout(() => resolve("slow"), 20));
    const quick = Promise.resolve("quick");
    scheduler.trackExternal(slow, (result) => log.push(result.ok ? result.value : "error"));
    scheduler.trackExternal(quick, (result) => log.push(result.ok ? result.value : "error"));
    scheduler.trackExternal(
      Promise.reject(new Error("no")),
      (result) => log.push(result.ok ? "ok" : "rejected"),
    );
  });
  scheduler.at(1n, "next", () => void log.push("next event"));
  await scheduler.run();
  assert.deepEqual(log, ["slow", "quick", "rejected", "next event"]);
});

Deno.test("events of a dead incarnation are skipped and a paused owner's wait", async () => {
  const scheduler = new SimScheduler();
  const owner = { id: "n", incarnation: 0, paused: false };
  const log: string[] = [];
  scheduler.at(5n, "old", () => void log.push("old incarnation"), owner);
  owner.incarnation = 1;
  scheduler.at(6n, "new", () => void log.push("new incarnation"), owner);
  owner.paused = true;
  const summary = await scheduler.run();
  assert.deepEqual(log, []);
  assert.equal(summary.skipped, 2);
  owner.paused = false;
  scheduler.resumeOwner(owner as EventOwner);
  await scheduler.run();
  assert.deepEqual(log, ["new incarnation"]);
});

Deno.test("run() stops at the time limit, the event limit or a stop condition, and refuses re-entry", async () => {
  const scheduler = new SimScheduler();
  for (let time = 1n; time <= 10n; time++) scheduler.at(time, "tick", () => {});
  assert.equal((await scheduler.run({ untilNs: 3n })).reason, "time-limit");
  assert.equal(scheduler.nowNs, 3n);
  assert.equal((await scheduler.run({ maxEvents: 2 })).reason, "event-limit");
  let count = 0;
  const stopped = await scheduler.run({ stopWhen: () => ++count === 2 });
  assert.equal(stopped.reason, "stopped");
  scheduler.at(20n, "async", () => Promise.resolve());
  const running = scheduler.run();
  await assert.rejects(scheduler.run(), /already running/);
  await running;
});

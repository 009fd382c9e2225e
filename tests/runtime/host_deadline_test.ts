// Proves a host deadline expires on time in an idle process, but gives an answer that came while this process was too busy to read it the time it was held up, and stays cleared once cleared.
import assert from "node:assert/strict";
import { busyFor } from "../_busy.ts";
import { hostDeadline } from "../../runtime/host_deadline.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("a host deadline expires on time when the process is idle", async () => {
  const startedMs = performance.now();
  let expiredAfterMs: number | undefined;
  hostDeadline(100, () => expiredAfterMs = performance.now() - startedMs);
  await pause(1_000);
  assert.ok(
    expiredAfterMs !== undefined && expiredAfterMs < 500,
    `expired after ${expiredAfterMs} ms (due at 100)`,
  );
});

Deno.test("a host deadline held up by a busy process lets a waiting answer settle first, then expires", async () => {
  let expired = 0;
  const answered = hostDeadline(100, () => expired++);
  setTimeout(() => answered.clear(), 0); // the answer came at once, read behind the busy work
  busyFor(300);
  await pause(500);
  assert.equal(expired, 0, "the answer settled the call");

  const startedMs = performance.now();
  let expiredAfterMs: number | undefined;
  hostDeadline(100, () => expiredAfterMs = performance.now() - startedMs);
  busyFor(300);
  await pause(1_000);
  assert.ok(
    expiredAfterMs !== undefined && expiredAfterMs >= 380,
    `no answer: expired after ${expiredAfterMs} ms (300 busy, 200 late: at most one timeout more)`,
  );
});

// Proves the thread book remembers as settled the envelopes it accepted and those it refused for good (after their window closed), so sync replies repeating them are skipped before verifying, but not envelopes it parked.
import assert from "node:assert/strict";
import { ThreadBook } from "../../actors/_thread_book.ts";
import { swarmParams } from "../../protocols/params.ts";
import { message, NEED_ID, needPayload, VERIFIERS } from "../protocols/lifecycle/_fixture.ts";

const BYTES = new Uint8Array([0]);

function book(): ThreadBook {
  return new ThreadBook({
    params: swarmParams({ bidWindowMs: 10_000 }),
    verifiers: VERIFIERS,
    bootstrap: false,
    parkingCapacity: 16,
    parkedTtlMs: 60_000,
    finishedRetentionMs: 60_000,
  });
}

const need = (needId: string) => message("NEED", needPayload({ needId }), "did:requester");

const propose = (needId: string) =>
  message("PROPOSE", {
    needId,
    proposalId: `${needId}~p1`,
    ballot: 1,
    patch: [{
      op: "ADD_TASK",
      taskId: `${needId}:t1`,
      spec: { op: "sha256", input: "hello", rounds: 1 },
    }],
    cost: 5,
    etaMs: 100,
    shardDependencies: [],
  }, "did:planner");

Deno.test("accepted envelopes and envelopes refused after their window are settled; parked ones are not", () => {
  const threads = book();
  const opened = need(NEED_ID);
  assert.equal(threads.apply(opened, BYTES, 1_000)[0].status, "accepted");
  assert.ok(threads.settledLately(opened.id));

  const late = propose(NEED_ID);
  const [refused] = threads.apply(late, BYTES, 20_000);
  assert.deepEqual([refused.status, refused.status === "rejected" && refused.code], [
    "rejected",
    "E_OUT_OF_WINDOW",
  ]);
  assert.ok(threads.settledLately(late.id), "a message past its window can never be accepted");

  const early = propose("need-unknown");
  assert.equal(threads.apply(early, BYTES, 20_000)[0].status, "parked");
  assert.equal(threads.settledLately(early.id), false, "a parked message may still be accepted");
});

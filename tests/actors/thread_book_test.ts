// Proves the thread book remembers as settled the envelopes it accepted and those it refused for good (after their window closed), so sync replies repeating them are skipped before verifying, but not envelopes it parked, nor a live PROPOSE it took too late, which a sync reply brings again and it accepts as made in time.
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

  // Replayed from a peer's archive, made after the window: it never fits.
  const late = { ...propose(NEED_ID), replayedMadeAtMs: 15_000 };
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

Deno.test("a live PROPOSE taken after its window is not settled: replayed, it is judged by when it was made", () => {
  const threads = book();
  assert.equal(threads.apply(need(NEED_ID), BYTES, 1_000)[0].status, "accepted");
  // Made in time, but this node was busy and took it only after the bid window.
  const slow = propose(NEED_ID);
  const [refused] = threads.apply(slow, BYTES, 20_000);
  assert.equal(refused.status === "rejected" && refused.code, "E_OUT_OF_WINDOW");
  assert.equal(threads.settledLately(slow.id), false, "the swarm may have decided it");
  // A peer that took it in time replays it from its archive: it fits, and is accepted.
  const replayed = { ...slow, replayedMadeAtMs: 5_000 };
  assert.equal(threads.apply(replayed, BYTES, 21_000)[0].status, "accepted");
  assert.ok(threads.thread(NEED_ID)?.proposals.has(`${NEED_ID}~p1`));
});

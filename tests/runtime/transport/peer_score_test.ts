// Proves peer scores fall with invalid messages, poor delivery and latency, and that bans are time-limited and escalate.
import assert from "node:assert/strict";
import { PeerScoreBook, PeerScoreError } from "../../../runtime/transport/peer_score.ts";
import { TokenBucket } from "../../../runtime/transport/_token_bucket.ts";
import { NodeDirectory } from "../../../runtime/transport/node_directory.ts";

function book(options = {}) {
  let now = 0;
  const scores = new PeerScoreBook(() => now, options);
  return { scores, advance: (ms: number) => (now += ms) };
}

Deno.test("an unknown peer scores 100 and is not banned", () => {
  const { scores } = book();
  assert.equal(scores.score("p"), 100);
  assert.equal(scores.isBanned("p"), false);
});

Deno.test("invalid messages ban a peer once the score drops below the threshold", () => {
  const { scores } = book();
  assert.equal(scores.recordInvalid("p", "E_FRAME_CBOR"), false);
  assert.equal(scores.recordInvalid("p", "E_FRAME_CBOR"), false);
  assert.equal(scores.recordInvalid("p", "E_FRAME_CBOR"), false);
  assert.equal(scores.score("p"), 25);
  assert.equal(scores.recordInvalid("p", "E_FRAME_TOO_LARGE"), false);
  assert.equal(scores.recordInvalid("p", "E_FRAME_TOO_LARGE"), true);
  assert.ok(scores.isBanned("p"));
  assert.deepEqual(scores.view("p").invalidByCode, { E_FRAME_CBOR: 3, E_FRAME_TOO_LARGE: 2 });
  assert.equal(scores.recordInvalid("p", "E_FRAME_CBOR"), false, "no second ban while banned");
});

Deno.test("invalid-message penalties decay with their half-life", () => {
  const { scores, advance } = book();
  scores.recordInvalid("p", "E_X");
  scores.recordInvalid("p", "E_X");
  assert.equal(scores.score("p"), 50);
  advance(60_000);
  assert.equal(scores.score("p"), 75);
});

Deno.test("bans end after banMs and double for a repeat offender, up to the cap", () => {
  const { scores, advance } = book({ banMs: 1_000, banMsMax: 3_000 });
  const offend = () => {
    for (let index = 0; index < 5; index++) scores.recordInvalid("p", "E_X");
  };
  offend();
  assert.equal(scores.bannedUntilMs("p"), 1_000);
  advance(1_000);
  assert.equal(scores.isBanned("p"), false);
  assert.ok(scores.score("p") > 50, "a ban wipes the slate");
  offend();
  assert.equal(scores.bannedUntilMs("p"), 1_000 + 2_000);
  advance(2_000);
  offend();
  assert.equal(scores.bannedUntilMs("p"), 3_000 + 3_000, "capped at banMsMax");
});

Deno.test("a poor delivery ratio and high latency lower the score", () => {
  const { scores } = book();
  for (let index = 0; index < 30; index++) scores.recordDelivery("p", false);
  assert.ok(scores.score("p") < 70, `score ${scores.score("p")}`);
  scores.recordLatency("q", 2_000);
  assert.ok(scores.score("q") < 100 && scores.score("q") >= 80);
  for (let index = 0; index < 30; index++) scores.recordDelivery("r", true);
  assert.equal(scores.score("r"), 100);
});

Deno.test("PeerScoreBook refuses inconsistent settings", () => {
  assert.throws(() => new PeerScoreBook(() => 0, { banMs: 10, banMsMax: 5 }), PeerScoreError);
});

Deno.test("TokenBucket admits the burst, then the refill rate", () => {
  let now = 0;
  const bucket = new TokenBucket(10, 5, () => now);
  for (let index = 0; index < 5; index++) assert.ok(bucket.take());
  assert.equal(bucket.take(), false);
  now += 100;
  assert.ok(bucket.take());
  assert.equal(bucket.take(), false);
  assert.equal(bucket.refused, 2);
});

Deno.test("NodeDirectory lets an authenticated binding replace a hint, never the reverse", () => {
  const directory = new NodeDirectory("self", "P0");
  assert.ok(directory.bind("n1", "P1", false));
  assert.ok(directory.bind("n1", "P2", true));
  assert.equal(directory.peerOf("n1"), "P2");
  assert.equal(directory.nodeOf("P1"), undefined);
  assert.equal(directory.bind("n1", "P3", false), false);
  assert.equal(directory.peerOf("n1"), "P2");
  assert.ok(directory.bind("n1", "P3", true), "a restarted node with a new key rebinds");
  assert.equal(directory.peerOf("self"), "P0");
});

// Proves hellos and announcements are parsed strictly, foreign networks are told apart, and parked frames are bounded.
import assert from "node:assert/strict";
import {
  ANNOUNCED_ADDRESSES_MAX,
  announcementBody,
  helloBody,
  parseAnnouncement,
  parseHello,
} from "../../../runtime/transport/_announcements.ts";
import {
  PARKED_FRAMES_MAX,
  PARKED_TTL_MS,
  ParkedFrames,
} from "../../../runtime/transport/_parked_frames.ts";

Deno.test("parseHello() returns the node id, 'foreign' for another network, 'invalid' for junk", () => {
  assert.equal(parseHello(helloBody("net", "node-1", []), "net"), "node-1");
  assert.equal(parseHello(helloBody("other", "node-1", []), "net"), "foreign");
  for (const junk of [null, 5, "x", [], { node: 5, network: "net" }, { network: "net" }]) {
    assert.equal(parseHello(junk, "net"), "invalid");
  }
});

Deno.test("parseAnnouncement() keeps at most 16 multiaddr strings and refuses junk", () => {
  const addrs = Array.from({ length: 40 }, (_, index) => `/ip4/127.0.0.1/tcp/${index}`);
  const parsed = parseAnnouncement(
    announcementBody("net", { node: "n", peer: "p", addrs: [...addrs, "junk", 5 as never] }),
    "net",
  );
  assert.ok(parsed !== undefined && parsed !== "foreign");
  assert.equal(parsed.addrs.length, ANNOUNCED_ADDRESSES_MAX);
  assert.ok(parsed.addrs.every((address) => address.startsWith("/ip4/")));
  assert.equal(
    parseAnnouncement(announcementBody("x", { node: "n", peer: "p", addrs }), "net"),
    "foreign",
  );
  assert.equal(parseAnnouncement({ node: "n", peer: 1, addrs: [] }, "net"), undefined);
  assert.equal(parseAnnouncement([1, 2], "net"), undefined);
});

Deno.test("ParkedFrames releases in order once the node is known and drops after the TTL", () => {
  const parked = new ParkedFrames();
  for (let index = 0; index < 3; index++) parked.park("a", new Uint8Array([index]), 0);
  parked.park("b", new Uint8Array([9]), 0);
  const sent: [string, number][] = [];
  const peers = new Map([["a", "PA"]]);
  assert.equal(
    parked.release((node) => peers.get(node), (peer, bytes) => sent.push([peer, bytes[0]])),
    0,
  );
  assert.deepEqual(sent, [["PA", 0], ["PA", 1], ["PA", 2]]);
  assert.equal(parked.size, 1);
  assert.equal(parked.release(() => undefined, () => {}, PARKED_TTL_MS + 1), 1);
  assert.equal(parked.size, 0);
});

Deno.test("ParkedFrames refuses frames beyond its per-node bound", () => {
  const parked = new ParkedFrames();
  for (let index = 0; index < PARKED_FRAMES_MAX; index++) {
    assert.ok(parked.park("a", new Uint8Array(1), 0));
  }
  assert.equal(parked.park("a", new Uint8Array(1), 0), false);
});

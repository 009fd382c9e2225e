// Proves a swarm node's wire rules: gossipsub message ids are envelope CIDs (same envelope, same id, whoever publishes it), and ingress rejects malformed, misrouted, badly signed or unexpected frames (capsule offers included) with typed codes while signatures are verified once.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CachingSignatureVerifier,
  envelopeMessageId,
  swarmIngress,
} from "../../cli/_swarm_wire.ts";
import { shardTopic, SYNC_TOPIC } from "../../actors/node_core.ts";
import { signEnvelope } from "../../protocols/envelope/mod.ts";
import type { SignedEnvelope } from "../../protocols/envelope/types.ts";
import { encodeFrame } from "../../runtime/transport/frame_codec.ts";
import type { IngressDecision } from "../../runtime/transport/ingress.ts";
import type { Frame } from "../../runtime/transport/transport.ts";
import { WireRef, type WireValue } from "../../runtime/wire.ts";
import { testFields, testIdentity } from "../protocols/_fixtures.ts";
import { CAPSULE_TOPIC } from "../../actors/capsule_distributor.ts";
import { createCapsule } from "../../policies/capsule.ts";
import { baseEngine, TestKeys } from "../policies/_helpers.ts";

const CORE = "/user/core";
const SOURCE = { node: "node-9", peer: "12D3KooWtest" };

async function envelope(thread = "need-1"): Promise<SignedEnvelope> {
  const identity = await testIdentity(3);
  return await signEnvelope(testFields(identity.did, { thread }), identity);
}

function topicFrame(topic: string, payload: WireValue): Frame {
  return { kind: "topic", topic, from: new WireRef("node-9", "/user/core"), payload };
}

function direct(path: string, payload: WireValue): Frame {
  return { kind: "direct", to: new WireRef("node-0", path), from: undefined, payload };
}

async function decide(frame: Frame, verifier = new CachingSignatureVerifier()) {
  return await swarmIngress(verifier, CORE)(frame, SOURCE) as IngressDecision;
}

function codeOf(decision: IngressDecision): string | undefined {
  return typeof decision === "object" ? decision.code : undefined;
}

Deno.test("envelopeMessageId() is the envelope's CID, the same for any publisher and origin", async () => {
  const signed = await envelope();
  const topic = shardTopic(signed.thread);
  const payload = { type: "envelope", bytes: signed.bytes };
  const fromA = encodeFrame(topicFrame(topic, payload), {
    node: "node-1",
    incarnation: new Uint8Array([1]),
    sequence: 4,
  });
  const fromB = encodeFrame(
    { kind: "topic", topic, from: new WireRef("node-2", "/x"), payload },
    { node: "node-2", incarnation: new Uint8Array([9]), sequence: 70 },
  );
  assert.notDeepEqual(fromA, fromB, "two different frames");
  assert.deepEqual(envelopeMessageId(fromA), signed.cid.bytes);
  assert.deepEqual(envelopeMessageId(fromB), signed.cid.bytes);
});

Deno.test("envelopeMessageId() hashes the whole frame when it carries no envelope, or cannot be read", () => {
  const other = encodeFrame(topicFrame(SYNC_TOPIC, { type: "sync-request" }));
  const garbage = new Uint8Array([0xff, 0x00, 0x13]);
  for (const bytes of [other, garbage]) {
    assert.deepEqual(Uint8Array.from(envelopeMessageId(bytes)), sha256(bytes));
  }
});

Deno.test("swarm ingress accepts a signed envelope on its shard topic and verifies it once", async () => {
  const signed = await envelope();
  const verifier = new CachingSignatureVerifier();
  const frame = topicFrame(shardTopic(signed.thread), { type: "envelope", bytes: signed.bytes });
  assert.equal(await decide(frame, verifier), "accept");
  assert.equal(verifier.hits, 0);
  assert.equal(
    await verifier.verify(signed.sender, signed.sig, signed.signingBytes),
    true,
    "the core's check of the same signature",
  );
  assert.equal(verifier.hits, 1, "is answered from memory");
});

Deno.test("swarm ingress rejects bad shard-topic frames with typed codes", async () => {
  const signed = await envelope("need-7");
  const topic = shardTopic(signed.thread);
  const forged = signed.bytes.slice();
  forged[indexOf(forged, signed.sig) + 10] ^= 0xff; // a byte inside the signature
  const otherTopic = shardTopic(signed.thread) === "/swarm/shard/0"
    ? "/swarm/shard/1"
    : "/swarm/shard/0";
  const cases: [Frame, string][] = [
    [topicFrame(topic, "hello"), "E_SWARM_FRAME"],
    [topicFrame(topic, { type: "envelope", bytes: signed.bytes, extra: 1 }), "E_SWARM_FRAME"],
    [topicFrame(topic, { type: "envelope", bytes: "not bytes" }), "E_SWARM_FRAME"],
    [topicFrame(topic, { type: "envelope", bytes: new Uint8Array([1, 2, 3]) }), "E_ENV_ENCODING"],
    [topicFrame(otherTopic, { type: "envelope", bytes: signed.bytes }), "E_FRAME_MISROUTED"],
  ];
  for (const [frame, code] of cases) {
    assert.equal(codeOf(await decide(frame)), code, JSON.stringify(frame.payload).slice(0, 60));
  }
  const bad = await decide(topicFrame(topic, { type: "envelope", bytes: forged }));
  assert.equal(codeOf(bad), "E_SIG_INVALID", "a forged signature is rejected");
});

Deno.test("swarm ingress lets only sync requests and replies reach the core directly", async () => {
  const signed = await envelope();
  const replyTo = new WireRef("node-9", CORE);
  assert.equal(await decide(direct(CORE, { type: "sync-request", replyTo })), "accept");
  assert.equal(
    await decide(direct(CORE, { type: "sync-request", replyTo, threads: ["n"], have: ["id"] })),
    "accept",
  );
  assert.equal(
    await decide(topicFrame(SYNC_TOPIC, { type: "sync-request", replyTo, unheard: true })),
    "accept",
  );
  assert.equal(
    await decide(direct(CORE, { type: "sync-reply", envelopes: [signed.bytes] })),
    "accept",
  );
  const cases: [Frame, string][] = [
    [direct(CORE, { type: "emit", kind: "NEED" }), "E_SWARM_FRAME"],
    [direct("/user/worker", { type: "sync-request", replyTo }), "E_SWARM_FRAME"],
    [direct(CORE, { type: "sync-request" }), "E_SYNC_REQUEST"],
    [direct(CORE, { type: "sync-request", replyTo, threads: [1, 2] }), "E_SYNC_REQUEST"],
    [direct(CORE, { type: "sync-request", replyTo, have: "id" }), "E_SYNC_REQUEST"],
    [direct(CORE, { type: "sync-request", replyTo, have: [7] }), "E_SYNC_REQUEST"],
    [direct(CORE, { type: "sync-request", replyTo, unheard: "yes" }), "E_SYNC_REQUEST"],
    [direct(CORE, { type: "sync-request", replyTo, have: ["x".repeat(129)] }), "E_SYNC_REQUEST"],
    [
      direct(CORE, { type: "sync-request", replyTo, have: Array(1_025).fill("id") }),
      "E_SYNC_REQUEST",
    ],
    [direct(CORE, { type: "sync-reply", envelopes: "x" }), "E_SYNC_REPLY"],
    [
      direct(CORE, { type: "sync-reply", envelopes: Array(257).fill(signed.bytes) }),
      "E_SYNC_REPLY",
    ],
    [direct(CORE, { type: "sync-reply", envelopes: [new Uint8Array([7])] }), "E_ENV_ENCODING"],
    [topicFrame(SYNC_TOPIC, { type: "sync-request", replyTo: "node-9" }), "E_SYNC_REQUEST"],
  ];
  for (const [frame, code] of cases) {
    assert.equal(codeOf(await decide(frame)), code, JSON.stringify(frame.payload).slice(0, 60));
  }
  assert.equal(await decide(topicFrame("/other/topic", 1)), "ignore", "foreign topics are ignored");
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  for (let start = 0; start + needle.length <= haystack.length; start++) {
    if (needle.every((byte, offset) => haystack[start + offset] === byte)) return start;
  }
  throw new Error("needle not found");
}

function sha256(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(createHash("sha256").update(bytes).digest());
}

Deno.test("swarm ingress accepts well-formed capsule offers and rejects malformed ones", async () => {
  const pkg = await createCapsule(await baseEngine(), {
    signer: await new TestKeys().signer("did:key:z6MkAuthor"),
    activationEpoch: 1,
  });
  const offer = { type: "capsule-offer", package: pkg as unknown as WireValue };
  assert.equal(await decide(topicFrame(CAPSULE_TOPIC, offer)), "accept");
  const cases: [WireValue, string][] = [
    ["hello", "E_CAPSULE_MALFORMED"],
    [{ type: "capsule-offer" }, "E_CAPSULE_MALFORMED"],
    [
      { type: "capsule-offer", package: { ...pkg, policyText: 7 } } as unknown as WireValue,
      "E_CAPSULE_MALFORMED",
    ],
  ];
  for (const [payload, code] of cases) {
    assert.equal(codeOf(await decide(topicFrame(CAPSULE_TOPIC, payload))), code);
  }
  assert.equal(await decide(topicFrame("/swarm/other", "anything")), "ignore");
});

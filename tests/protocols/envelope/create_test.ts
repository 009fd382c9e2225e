// Proves EnvelopeSigner fills sender, Lamport, time and nonce, and moves large payloads to the content store by CID.
import assert from "node:assert/strict";
import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import {
  decodeEnvelope,
  ENVELOPE_ERROR_CODES,
  EnvelopeSigner,
  isPayloadReference,
  LamportClock,
  resolvePayload,
  verifyEnvelope,
} from "../../../protocols/envelope/mod.ts";
import { MemoryContentStore } from "../../../runtime/store/memory_content_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import { SeededRandom } from "../../../sim/seeded_random.ts";
import { TEST_POLICY, testIdentity } from "../_fixtures.ts";

const identity = await testIdentity(3);

function entropy(seed: number) {
  const random = new SeededRandom(seed);
  let nowNs = 1_000n;
  return { now: () => (nowNs += 1_000n), randomBytes: (length: number) => random.bytes(length) };
}

Deno.test("sign() stamps sender, increasing lamport, time and a fresh nonce", async () => {
  const signer = new EnvelopeSigner(identity, await LamportClock.open(new MemoryStore()));
  const source = entropy(1);
  const first = await signer.sign({
    kind: "NEED",
    thread: "t",
    payload: { need_id: "n" },
    policy: TEST_POLICY,
  }, source);
  const second = await signer.sign({
    kind: "PROPOSE",
    thread: "t",
    payload: {},
    policy: TEST_POLICY,
    epoch: 2,
    fence: 5,
  }, source);
  assert.equal(first.sender, identity.did);
  assert.deepEqual([first.lamport, second.lamport], [1, 2]);
  assert.deepEqual([first.ts, second.ts], [2_000n, 3_000n]);
  assert.notDeepEqual(first.nonce, second.nonce);
  assert.equal(first.nonce.length, 16);
  assert.deepEqual([second.epoch, second.fence], [2, 5]);
  assert.ok((await verifyEnvelope(second.bytes)).ok);
});

Deno.test("the same seed and clock give byte-identical envelopes (simulation is reproducible)", async () => {
  const make = async () => {
    const signer = new EnvelopeSigner(identity, await LamportClock.open(new MemoryStore()));
    return await signer.sign(
      { kind: "NEED", thread: "t", payload: { x: 1 }, policy: TEST_POLICY },
      entropy(9),
    );
  };
  assert.deepEqual((await make()).bytes, (await make()).bytes);
});

Deno.test("a payload over the inline threshold goes to the content store and resolves back", async () => {
  const cas = new MemoryContentStore();
  const signer = new EnvelopeSigner(identity, await LamportClock.open(new MemoryStore()), {
    cas,
    inlinePayloadMaxBytes: 1024,
  });
  const payload = { need_id: "n-9", document: "x".repeat(200_000) };
  const envelope = await signer.sign(
    { kind: "COMMIT", thread: "t", payload, policy: TEST_POLICY },
    entropy(2),
  );
  assert.ok(isPayloadReference(envelope.payload));
  assert.ok(envelope.bytes.length < 1024, `envelope is ${envelope.bytes.length} bytes`);
  const received = decodeEnvelope(envelope.bytes);
  assert.ok((await verifyEnvelope(received)).ok);
  assert.deepEqual(await resolvePayload(received, cas), payload);
});

Deno.test("small payloads stay inline even with a content store", async () => {
  const signer = new EnvelopeSigner(identity, await LamportClock.open(new MemoryStore()), {
    cas: new MemoryContentStore(),
  });
  const envelope = await signer.sign({
    kind: "NEED",
    thread: "t",
    payload: { a: 1 },
    policy: TEST_POLICY,
  }, entropy(3));
  assert.equal(isPayloadReference(envelope.payload), false);
  assert.deepEqual(await resolvePayload(envelope, undefined), { a: 1 });
});

Deno.test("without a content store an oversized payload is refused before signing", async () => {
  const clock = await LamportClock.open(new MemoryStore());
  const signer = new EnvelopeSigner(identity, clock);
  await assert.rejects(
    signer.sign({
      kind: "COMMIT",
      thread: "t",
      payload: { blob: new Uint8Array(100_000) },
      policy: TEST_POLICY,
    }, entropy(4)),
    (error: Error & { code?: string }) =>
      error.code === ENVELOPE_ERROR_CODES.payloadSize && /content store/.test(error.message),
  );
  assert.equal(clock.current, 0, "a refused envelope must not consume a Lamport value");
});

Deno.test("resolvePayload() reports a missing or corrupted block with a typed error", async () => {
  const cas = new MemoryContentStore();
  const bytes = dagCbor.encode({ a: 1 });
  const cid = await cas.put(bytes, 0x71);
  const missing = CID.parse("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy");
  await assert.rejects(
    resolvePayload({ payload: missing }, cas),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.payloadUnavailable,
  );
  await assert.rejects(
    resolvePayload({ payload: cid }, undefined),
    /no content store is configured/,
  );
  cas.corruptForTesting(cid, dagCbor.encode({ a: 2 }));
  await assert.rejects(resolvePayload({ payload: cid }, cas), /corrupt/);
  const listCid = await cas.put(dagCbor.encode([1, 2]), 0x71);
  await assert.rejects(
    resolvePayload({ payload: listCid }, cas),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.encoding,
  );
});

Deno.test("sign() refuses a draft with an invalid field before touching the clock", async () => {
  const clock = await LamportClock.open(new MemoryStore());
  const signer = new EnvelopeSigner(identity, clock);
  await assert.rejects(
    signer.sign({ kind: "NEED", thread: "", payload: {}, policy: TEST_POLICY }, entropy(5)),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.fieldType,
  );
  await assert.rejects(
    signer.sign({
      kind: "NEED",
      thread: "t",
      payload: { bad: undefined } as never,
      policy: TEST_POLICY,
    }, entropy(5)),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.fieldType,
  );
  assert.equal(clock.current, 0);
});

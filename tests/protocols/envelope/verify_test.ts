// Proves verifyEnvelope() answers every kind of bad envelope with its own stable error code, and accepts good ones.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as dagCbor from "@ipld/dag-cbor";
import {
  ENVELOPE_ERROR_CODES,
  type EnvelopeErrorCode,
  ReplayCache,
  type SignedEnvelope,
  signEnvelope,
  type VerifyContext,
  verifyEnvelope,
} from "../../../protocols/envelope/mod.ts";
import { TEST_POLICY, testFields, testIdentity } from "../_fixtures.ts";

const alice = await testIdentity(1);
const mallory = await testIdentity(2);
const good = await signEnvelope(testFields(alice.did), alice);

async function expectCode(
  input: Uint8Array | SignedEnvelope,
  code: EnvelopeErrorCode,
  context?: VerifyContext,
  message?: RegExp,
): Promise<void> {
  const result = await verifyEnvelope(input, context);
  assert.equal(result.ok, false, `expected ${code}, but the envelope was accepted`);
  if (result.ok) return;
  assert.equal(result.error.code, code, result.error.message);
  if (message !== undefined) assert.match(result.error.message, message);
}

/** The canonical bytes of `good` with some fields replaced (signature left as is). */
function reencoded(changes: Record<string, unknown>): Uint8Array {
  const record = { ...(dagCbor.decode(good.bytes) as Record<string, unknown>), ...changes };
  for (const [key, value] of Object.entries(record)) if (value === undefined) delete record[key];
  return dagCbor.encode(record);
}

Deno.test("a well-formed envelope verifies and comes back with its id and fields", async () => {
  const result = await verifyEnvelope(good.bytes, { policy: TEST_POLICY });
  assert.ok(result.ok);
  assert.equal(result.envelope.id, good.id);
  assert.equal(result.envelope.sender, alice.did);
  assert.deepEqual(result.envelope.payload, good.payload);
});

Deno.test("E_ENV_ENCODING: bytes that are not DAG-CBOR, or not a map", async () => {
  await expectCode(
    new Uint8Array([0xff, 0x00]),
    ENVELOPE_ERROR_CODES.encoding,
    {},
    /not valid DAG-CBOR/,
  );
  await expectCode(
    dagCbor.encode([1, 2, 3]),
    ENVELOPE_ERROR_CODES.encoding,
    {},
    /must be a map, got a list of 3/,
  );
  await expectCode(good.bytes.subarray(0, 40), ENVELOPE_ERROR_CODES.encoding);
});

Deno.test("E_ENV_VERSION: an envelope of version 2", async () => {
  await expectCode(reencoded({ v: 2 }), ENVELOPE_ERROR_CODES.version, {}, /unknown version 2/);
});

Deno.test("E_SIG_INVALID: a signature by another key, or a signature with a flipped bit", async () => {
  const forged = await signEnvelope(testFields(mallory.did), mallory);
  await expectCode(
    reencoded({ sig: forged.sig }),
    ENVELOPE_ERROR_CODES.signature,
    {},
    /does not verify under did:key:/,
  );
  const flipped = good.sig.slice();
  flipped[10] ^= 0x01;
  await expectCode(reencoded({ sig: flipped }), ENVELOPE_ERROR_CODES.signature);
});

Deno.test("E_SENDER_KEY_MISMATCH: a sender that is no Ed25519 did:key, or not the expected sender", async () => {
  await expectCode(
    reencoded({ sender: alice.didPeer0() }),
    ENVELOPE_ERROR_CODES.senderKey,
    {},
    /did:key/,
  );
  await expectCode(reencoded({ sender: "did:key:zNotBase58!!" }), ENVELOPE_ERROR_CODES.senderKey);
  await expectCode(
    reencoded({
      sender:
        "did:key:z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7",
    }),
    ENVELOPE_ERROR_CODES.senderKey,
    {},
    /only Ed25519 keys/,
  );
  await expectCode(
    good,
    ENVELOPE_ERROR_CODES.senderKey,
    { expectedSender: mallory.did },
    /not the expected/,
  );
  await assert.rejects(
    signEnvelope(testFields(mallory.did), alice),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.senderKey,
  );
});

Deno.test("E_LAMPORT_INVALID: lamport 0 or negative", async () => {
  await expectCode(
    reencoded({ lamport: 0 }),
    ENVELOPE_ERROR_CODES.lamport,
    {},
    /lamport must be > 0, got 0/,
  );
  await expectCode(reencoded({ lamport: -3 }), ENVELOPE_ERROR_CODES.lamport, {}, /got -3/);
  await assert.rejects(
    signEnvelope(testFields(alice.did, { lamport: 0 }), alice),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.lamport,
  );
});

Deno.test("E_PAYLOAD_TOO_LARGE: over the 64 KiB default cap, and over a configured cap", async () => {
  const big = await signEnvelope(
    testFields(alice.did, { payload: { blob: new Uint8Array(70 * 1024) } }),
    alice,
    { payloadMaxBytes: 1024 * 1024 },
  );
  await expectCode(
    big.bytes,
    ENVELOPE_ERROR_CODES.payloadSize,
    {},
    /exceeds the 65536-byte payload cap/,
  );
  assert.ok((await verifyEnvelope(big.bytes, { payloadMaxBytes: 128 * 1024 })).ok);
  await expectCode(
    good.bytes,
    ENVELOPE_ERROR_CODES.payloadSize,
    { payloadMaxBytes: 16 },
    /payload of \d+ bytes exceeds the 16-byte cap/,
  );
  await assert.rejects(
    signEnvelope(testFields(alice.did, { payload: { blob: new Uint8Array(70 * 1024) } }), alice),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.payloadSize,
  );
});

Deno.test("E_KIND_NOT_ALLOWED: a verb outside the receiver's allowlist, or no verb at all", async () => {
  await expectCode(
    good,
    ENVELOPE_ERROR_CODES.kind,
    { allowedKinds: new Set(["NEED"]) },
    /PROPOSE is not allowed here/,
  );
  await expectCode(
    reencoded({ kind: "STEAL" }),
    ENVELOPE_ERROR_CODES.kind,
    {},
    /'STEAL' is not a protocol verb/,
  );
});

Deno.test("E_POLICY_MISMATCH: a policy hash other than the node's capsule", async () => {
  await expectCode(
    good,
    ENVELOPE_ERROR_CODES.policy,
    { policy: "sha256:other" },
    /not this node's capsule/,
  );
  await expectCode(good, ENVELOPE_ERROR_CODES.policy, { policy: new Set(["a", "b"]) });
  assert.ok((await verifyEnvelope(good, { policy: new Set(["a", TEST_POLICY]) })).ok);
});

Deno.test("E_NONCE_REPLAYED: the same envelope twice within the window, accepted again after it", async () => {
  const replay = new ReplayCache({ windowMs: 1000 });
  assert.ok((await verifyEnvelope(good.bytes, { replay, nowNs: 0n })).ok);
  await expectCode(
    good.bytes,
    ENVELOPE_ERROR_CODES.replay,
    { replay, nowNs: 999_000_000n },
    /already seen/,
  );
  assert.ok((await verifyEnvelope(good.bytes, { replay, nowNs: 1_000_000_001n })).ok);
});

Deno.test("a forged envelope does not enter the replay cache, so it cannot block the genuine one", async () => {
  const replay = new ReplayCache();
  const forgedSig = good.sig.slice();
  forgedSig[0] ^= 0xff;
  await expectCode(reencoded({ sig: forgedSig }), ENVELOPE_ERROR_CODES.signature, {
    replay,
    nowNs: 1n,
  });
  assert.equal(replay.size, 0);
  assert.ok((await verifyEnvelope(good.bytes, { replay, nowNs: 2n })).ok);
});

Deno.test("E_FIELD_TYPE: wrong types, missing fields and malformed values", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ lamport: "7" }, /'lamport' must be a safe integer, got '7'/],
    [{ lamport: 1.5 }, /'lamport' must be a safe integer/],
    [{ thread: undefined }, /'thread' is missing/],
    [{ thread: "" }, /'thread' must be a well-formed string/],
    [{ nonce: new Uint8Array(4) }, /'nonce' must be 8 to 64 bytes, got 4 bytes/],
    [{ sig: new Uint8Array(63) }, /'sig' must be 64 bytes/],
    [{ payload: [1, 2] }, /'payload' must be a map or a CID reference/],
    [{ trace: "not-a-traceparent" }, /'trace' must be a W3C traceparent/],
    [{ epoch: -1 }, /'epoch' must be a safe integer >= 0/],
    [{ sender: "alice" }, /'sender' must be a DID/],
    [{ v: "1" }, /'v' must be an integer version/],
  ];
  for (const [changes, message] of cases) {
    await expectCode(reencoded(changes), ENVELOPE_ERROR_CODES.fieldType, {}, message);
  }
  await expectCode(
    "not an envelope" as never,
    ENVELOPE_ERROR_CODES.fieldType,
    {},
    /'v' is missing/,
  );
});

Deno.test("E_FIELD_UNKNOWN: a field the format does not define", async () => {
  await expectCode(
    reencoded({ extra: 1 }),
    ENVELOPE_ERROR_CODES.fieldUnknown,
    {},
    /unknown field 'extra'/,
  );
  await assert.rejects(
    signEnvelope({ ...testFields(alice.did), sig: new Uint8Array(64) } as never, alice),
    (error: Error & { code?: string }) => error.code === ENVELOPE_ERROR_CODES.fieldUnknown,
  );
});

Deno.test("any single-bit change to a signed envelope fails verification", async () => {
  const signed = await signEnvelope(
    testFields(alice.did, {
      epoch: 3,
      fence: 12,
      evalDigest: "deadbeef",
      trace: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }),
    alice,
  );
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: signed.bytes.length * 8 - 1 }), async (bit) => {
      const mutated = signed.bytes.slice();
      mutated[bit >> 3] ^= 1 << (bit & 7);
      const result = await verifyEnvelope(mutated);
      assert.equal(result.ok, false, `bit ${bit} flipped and the envelope still verified`);
    }),
    { numRuns: 400 },
  );
});

Deno.test("every bit of a small envelope is covered: flipping any one of them is rejected", async () => {
  const signed = await signEnvelope(testFields(alice.did, { payload: {} }), alice);
  for (let bit = 0; bit < signed.bytes.length * 8; bit++) {
    const mutated = signed.bytes.slice();
    mutated[bit >> 3] ^= 1 << (bit & 7);
    assert.equal((await verifyEnvelope(mutated)).ok, false, `bit ${bit}`);
  }
});

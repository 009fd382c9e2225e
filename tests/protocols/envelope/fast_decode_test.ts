// Proves the fast decoding path gives exactly the general path's answer — same envelope or same error code — on valid and damaged input.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as dagCbor from "@ipld/dag-cbor";
import { decodeGeneral } from "../../../protocols/envelope/codec.ts";
import { fastDecodeEnvelope } from "../../../protocols/envelope/_fast_decode.ts";
import {
  decodeEnvelope,
  type SignedEnvelope,
  signEnvelope,
} from "../../../protocols/envelope/mod.ts";
import { SeededRandom } from "../../../sim/seeded_random.ts";
import { testFields, testIdentity } from "../_fixtures.ts";

const identity = await testIdentity(8);
const sampleBytes = (await signEnvelope(testFields(identity.did), identity)).bytes;

type Outcome = { ok: true; envelope: SignedEnvelope } | { ok: false; code: string };

function outcome(decode: () => SignedEnvelope): Outcome {
  try {
    return { ok: true, envelope: decode() };
  } catch (error) {
    return { ok: false, code: (error as { code?: string }).code ?? `untyped ${String(error)}` };
  }
}

function assertSameOutcome(bytes: Uint8Array): void {
  const general = outcome(() => decodeGeneral(bytes));
  const full = outcome(() => decodeEnvelope(bytes));
  assert.equal(full.ok, general.ok, `fast path disagrees on ${bytes.length} bytes`);
  if (!full.ok || !general.ok) {
    assert.equal((full as { code: string }).code, (general as { code: string }).code);
    return;
  }
  assert.deepEqual(full.envelope.signingBytes, general.envelope.signingBytes);
  assert.deepEqual(full.envelope.payload, general.envelope.payload);
  assert.equal(full.envelope.ts, general.envelope.ts);
  assert.equal(full.envelope.id, general.envelope.id);
}

Deno.test("canonical envelopes take the fast path and decode to what the general path gives", async () => {
  const samples = [
    testFields(identity.did),
    testFields(identity.did, {
      epoch: 2 ** 40,
      fence: 0,
      evalDigest: "ünïcode-digest",
      thread: "thread ✓",
    }),
    testFields(identity.did, {
      ts: (1n << 64n) - 1n,
      lamport: Number.MAX_SAFE_INTEGER,
      payload: {},
    }),
    testFields(identity.did, {
      payload: { nested: [[1.5, -2, null, true], { deep: new Uint8Array(300) }] },
    }),
  ];
  for (const fields of samples) {
    const envelope = await signEnvelope(fields, identity);
    const fast = fastDecodeEnvelope(envelope.bytes);
    assert.ok(fast !== undefined, "a canonical envelope must take the fast path");
    assert.deepEqual(fast.signingBytes, envelope.signingBytes);
    assertSameOutcome(envelope.bytes);
  }
});

Deno.test("on damaged envelopes the fast and general paths give the same error code (seed 77)", async () => {
  const envelope = await signEnvelope(
    testFields(identity.did, {
      epoch: 9,
      trace: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }),
    identity,
  );
  const random = new SeededRandom(77);
  for (let index = 0; index < 3_000; index++) {
    const bytes = envelope.bytes.slice();
    const flips = 1 + random.int(3);
    for (let flip = 0; flip < flips; flip++) bytes[random.int(bytes.length)] ^= 1 << random.int(8);
    assertSameOutcome(random.int(4) === 0 ? bytes.subarray(0, random.int(bytes.length)) : bytes);
  }
});

Deno.test("re-encoded variants (extra keys, wrong types, other versions) agree between the paths", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("v", "ts", "sig", "kind", "nonce", "lamport", "payload", "thread", "extra"),
      fc.oneof(
        fc.integer(),
        fc.string(),
        fc.uint8Array({ maxLength: 70 }),
        fc.constant(null),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
      ),
      (key, value) => {
        const record = dagCbor.decode(sampleBytes) as Record<string, unknown>;
        record[key] = value;
        assertSameOutcome(dagCbor.encode(record));
      },
    ),
    { numRuns: 500 },
  );
});

// Proves the envelope decoder answers arbitrary and mutated bytes with typed errors only, never an untyped throw.
import assert from "node:assert/strict";
import {
  decodeEnvelope,
  ENVELOPE_ERROR_CODES,
  EnvelopeError,
  signEnvelope,
  verifyEnvelope,
} from "../../../protocols/envelope/mod.ts";
import { SeededRandom } from "../../../sim/seeded_random.ts";
import { testFields, testIdentity } from "../_fixtures.ts";

const CODES = new Set<string>(Object.values(ENVELOPE_ERROR_CODES));
const SEED = 20_240_611;

/** Calls decodeEnvelope and returns the typed error it must throw. */
function decodeError(bytes: Uint8Array): EnvelopeError {
  try {
    decodeEnvelope(bytes);
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `untyped ${String(error)} for ${hex(bytes)}`);
    assert.ok(CODES.has(error.code), `unknown code ${error.code}`);
    return error;
  }
  assert.fail(`random bytes decoded as an envelope: ${hex(bytes)}`);
}

function hex(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 48)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

Deno.test(`decodeEnvelope() turns 10,000 random byte strings into typed errors (seed ${SEED})`, () => {
  const random = new SeededRandom(SEED);
  const counts = new Map<string, number>();
  for (let index = 0; index < 10_000; index++) {
    const bytes = random.bytes(random.int(600));
    // Half the inputs start like a CBOR map, to get past the first byte more often.
    if (index % 2 === 0 && bytes.length > 0) bytes[0] = 0xa0 | random.int(24);
    const code = decodeError(bytes).code;
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  assert.equal([...counts.values()].reduce((sum, count) => sum + count, 0), 10_000);
});

Deno.test(`verifyEnvelope() rejects 3,000 mutations of a valid envelope with typed errors (seed ${SEED})`, async () => {
  const identity = await testIdentity(1);
  const envelope = await signEnvelope(testFields(identity.did, { epoch: 2 }), identity);
  const random = new SeededRandom(SEED + 1);
  const seenCodes = new Set<string>();
  for (let index = 0; index < 3_000; index++) {
    const mutated = mutate(envelope.bytes, random);
    if (
      mutated.length === envelope.bytes.length &&
      mutated.every((byte, at) => byte === envelope.bytes[at])
    ) {
      continue;
    }
    const result = await verifyEnvelope(mutated);
    assert.equal(result.ok, false, `mutation ${index} verified: ${hex(mutated)}`);
    if (result.ok) continue;
    assert.ok(result.error instanceof EnvelopeError);
    assert.ok(CODES.has(result.error.code));
    assert.doesNotMatch(result.error.message, /unexpected failure/);
    seenCodes.add(result.error.code);
  }
  assert.ok(seenCodes.has(ENVELOPE_ERROR_CODES.signature));
  assert.ok(seenCodes.has(ENVELOPE_ERROR_CODES.encoding));
});

Deno.test("deeply nested input is a typed error, not a stack overflow", () => {
  const nested = new Uint8Array(60_000).fill(0x81);
  nested[0] = 0xa1;
  assert.ok(decodeError(nested) instanceof EnvelopeError);
  const deepMap = new Uint8Array(30_000);
  for (let index = 0; index < deepMap.length; index += 3) deepMap.set([0xa1, 0x61, 0x61], index);
  assert.ok(decodeError(deepMap) instanceof EnvelopeError);
});

/** Flips, overwrites, inserts, deletes or truncates a few bytes. */
function mutate(bytes: Uint8Array, random: SeededRandom): Uint8Array {
  let out = bytes.slice();
  const operations = 1 + random.int(3);
  for (let step = 0; step < operations; step++) {
    const at = random.int(out.length);
    switch (random.int(5)) {
      case 0:
        out[at] ^= 1 << random.int(8);
        break;
      case 1:
        out[at] = random.int(256);
        break;
      case 2:
        out = Uint8Array.from([...out.subarray(0, at), random.int(256), ...out.subarray(at)]);
        break;
      case 3:
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1)]);
        break;
      default:
        out = out.slice(0, at);
    }
  }
  return out;
}

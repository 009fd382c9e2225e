// Proves envelope encoding is canonical DAG-CBOR: decode∘encode = id, bytes equal the library's, key order never matters, and an envelope's id is the CIDv1 string of its bytes.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import {
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  ENVELOPE_ERROR_CODES,
  envelopeCid,
  EnvelopeError,
  envelopeId,
  signEnvelope,
  VERBS,
} from "../../../protocols/envelope/mod.ts";
import { testFields, testIdentity } from "../_fixtures.ts";

const identity = await testIdentity(1);

/** Arbitrary IPLD payload values (no floats that are integers: DAG-CBOR writes those as ints). */
const payloadValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }).filter((value) =>
      value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)
    ),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)),
    fc.string(),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie("value"), {
      maxKeys: 4,
      noNullPrototype: true,
    }),
  ),
})).value;

const hex = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength, maxLength });

const envelopeFields = fc.record({
  kind: fc.constantFrom(...VERBS),
  thread: fc.string({ minLength: 1, maxLength: 40 }).filter((text) => text.isWellFormed()),
  lamport: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  ts: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  nonce: fc.uint8Array({ minLength: 8, maxLength: 64 }),
  payload: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), payloadValue, {
    maxKeys: 6,
    noNullPrototype: true,
  }),
  policy: fc.string({ minLength: 1, maxLength: 128 }).filter((text) => text.isWellFormed()),
  evalDigest: fc.option(hex(1, 64), { nil: undefined }),
  epoch: fc.option(fc.nat(), { nil: undefined }),
  fence: fc.option(fc.nat(), { nil: undefined }),
  trace: fc.option(
    fc.tuple(
      hex(32, 32),
      hex(16, 16),
    ).filter(([trace, span]) => /[1-9a-f]/.test(trace) && /[1-9a-f]/.test(span))
      .map(([trace, span]) => `00-${trace}-${span}-01`),
    { nil: undefined },
  ),
}, { requiredKeys: ["kind", "thread", "lamport", "ts", "nonce", "payload", "policy"] });

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

Deno.test("decodeEnvelope(encodeEnvelope(e)) is e, and the bytes equal dagCbor.encode(e)", () => {
  fc.assert(
    fc.property(envelopeFields, fc.uint8Array({ minLength: 64, maxLength: 64 }), (fields, sig) => {
      const envelope = withoutUndefined({ v: 1, sender: identity.did, ...fields, sig }) as Envelope;
      const bytes = encodeEnvelope(envelope);
      assert.deepEqual(bytes, new Uint8Array(dagCbor.encode(envelope)));
      const decoded = decodeEnvelope(bytes);
      for (const key of Object.keys(envelope) as (keyof Envelope)[]) {
        assert.deepEqual(decoded[key], envelope[key], `field ${key}`);
      }
      assert.deepEqual(decoded.bytes, bytes);
      assert.deepEqual(encodeEnvelope(decoded), bytes);
    }),
    { numRuns: 300 },
  );
});

Deno.test("canonical bytes do not depend on the insertion order of keys, at any depth", () => {
  fc.assert(
    fc.property(envelopeFields, fc.uint8Array({ minLength: 64, maxLength: 64 }), (fields, sig) => {
      const envelope = withoutUndefined({ v: 1, sender: identity.did, ...fields, sig });
      const reversed = reverseKeys(envelope) as Envelope;
      assert.deepEqual(Object.keys(reversed), Object.keys(envelope).reverse());
      assert.deepEqual(encodeEnvelope(reversed), encodeEnvelope(envelope as Envelope));
    }),
    { numRuns: 200 },
  );
});

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  if (CID.asCID(value) !== null) return value;
  return Object.fromEntries(
    Object.entries(value).reverse().map(([key, item]) => [key, reverseKeys(item)]),
  );
}

Deno.test("a signed envelope's id is the CIDv1 (dag-cbor, sha2-256) of its bytes", async () => {
  const envelope = await signEnvelope(testFields(identity.did), identity);
  const expected = CID.createV1(0x71, sha256.digest(envelope.bytes) as never);
  assert.equal(envelope.id, expected.toString());
  assert.ok(envelope.id.startsWith("bafyrei"));
  assert.equal(decodeEnvelope(envelope.bytes).id, envelope.id);
});

Deno.test("envelopeId(bytes) is the string form of the CIDv1 of any bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      const expected = CID.createV1(0x71, sha256.digest(bytes) as never).toString();
      assert.equal(envelopeId(bytes), expected);
      assert.equal(envelopeCid(bytes).toString(), expected);
    }),
    { numRuns: 300 },
  );
});

Deno.test("the signature covers exactly the canonical bytes of every field except sig", async () => {
  const envelope = await signEnvelope(testFields(identity.did, { epoch: 4, fence: 9 }), identity);
  const { sig: _sig, ...rest } = dagCbor.decode(envelope.bytes) as Record<string, unknown>;
  assert.deepEqual(envelope.signingBytes, new Uint8Array(dagCbor.encode(rest)));
  const key = await crypto.subtle.importKey(
    "raw",
    identity.publicKey as Uint8Array<ArrayBuffer>,
    "Ed25519",
    false,
    ["verify"],
  );
  assert.ok(
    await crypto.subtle.verify(
      "Ed25519",
      key,
      envelope.sig as Uint8Array<ArrayBuffer>,
      envelope.signingBytes as Uint8Array<ArrayBuffer>,
    ),
  );
});

Deno.test("decodeEnvelope() refuses non-canonical encodings of a valid envelope", async () => {
  const envelope = await signEnvelope(testFields(identity.did), identity);
  const map = dagCbor.decode(envelope.bytes) as Record<string, unknown>;
  // The same map with its keys in insertion order instead of DAG-CBOR order.
  const unsorted = encodeUnsortedMap(map);
  assert.notDeepEqual(unsorted, envelope.bytes);
  assert.throws(
    () => decodeEnvelope(unsorted),
    (error) =>
      error instanceof EnvelopeError && error.code === ENVELOPE_ERROR_CODES.encoding &&
      /not canonical/.test(error.message),
  );
});

/** A CBOR map with keys in reverse canonical order (values encoded canonically). */
function encodeUnsortedMap(map: Record<string, unknown>): Uint8Array {
  const entries = Object.entries(map).reverse();
  const parts: Uint8Array[] = [new Uint8Array([0xa0 | entries.length])];
  for (const [key, value] of entries) {
    parts.push(dagCbor.encode(key), dagCbor.encode(value));
  }
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

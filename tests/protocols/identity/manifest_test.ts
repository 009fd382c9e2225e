// Proves agent manifests are signed by their agent, tamper-evident, validated field by field, and indexed by DID and capability.
import assert from "node:assert/strict";
import {
  type AgentManifest,
  decodeSignedManifest,
  Identity,
  MANIFEST_ERROR_CODES,
  ManifestRegistry,
  SignatureVerifier,
  signManifest,
  verifyManifest,
} from "../../../protocols/identity/mod.ts";

const alice = await Identity.fromSeed(new Uint8Array(32).fill(11));
const bob = await Identity.fromSeed(new Uint8Array(32).fill(12));
const verifier = new SignatureVerifier();
const code = (expected: string) => (error: Error & { code?: string }) => error.code === expected;

function manifest(agent: string, overrides: Partial<AgentManifest> = {}): AgentManifest {
  return {
    v: 1,
    agent,
    version: "1.0.0",
    capabilities: ["summarise:v1", "translate:en-de"],
    ioSchema: {
      input: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      output: { type: "object", properties: { summary: { type: "string" } } },
    },
    tags: ["nlp"],
    constraints: { regions: ["eu"], maxInputBytes: 65536 },
    pricePerTask: 2.5,
    latencyMsAverage: 840,
    stake: { amount: 1000, unbonding: 0 },
    ...overrides,
  };
}

Deno.test("a signed manifest verifies, survives its wire form, and has a stable id", async () => {
  const signed = await signManifest(manifest(alice.did), alice);
  assert.deepEqual(await verifyManifest(signed, verifier), signed.manifest);
  const received = decodeSignedManifest(signed.bytes);
  assert.equal(received.id, signed.id);
  assert.ok(received.id.startsWith("bafyrei"));
  assert.deepEqual(await verifyManifest(received, verifier), signed.manifest);
});

Deno.test("a tampered manifest or a signature by another key fails with E_MANIFEST_SIG_INVALID", async () => {
  const signed = await signManifest(manifest(alice.did), alice);
  const cheaper = { ...signed, manifest: { ...signed.manifest, pricePerTask: 0.01 } };
  await assert.rejects(
    verifyManifest(cheaper, verifier),
    code(MANIFEST_ERROR_CODES.signatureInvalid),
  );
  const bobSig = (await signManifest(manifest(bob.did), bob)).sig;
  await assert.rejects(verifyManifest({ ...signed, sig: bobSig }, verifier), /does not verify/);
});

Deno.test("an agent cannot sign a manifest for another DID", async () => {
  await assert.rejects(signManifest(manifest(bob.did), alice), /is not the signer/);
});

Deno.test("invalid fields are refused with E_MANIFEST_INVALID naming the field", async () => {
  const cases: [Partial<AgentManifest> & Record<string, unknown>, RegExp][] = [
    [{ version: "1.0" }, /version must be MAJOR.MINOR.PATCH/],
    [{ capabilities: [] }, /capabilities must be a list of 1 to 64/],
    [{ capabilities: ["ok", "ok"] }, /lists 'ok' twice/],
    [{ capabilities: ["has space"] }, /capabilities entry must match/],
    [{ pricePerTask: -1 }, /pricePerTask must be a finite number >= 0, got number -1/],
    [{ latencyMsAverage: Number.NaN }, /latencyMsAverage must be a finite number/],
    [{ stake: { amount: 1 } as never }, /stake must have exactly the fields amount and unbonding/],
    [{ agent: "did:web:x" }, /agent must be a did:key or did:peer/],
    [{ extra: true }, /unknown field 'extra'/],
  ];
  for (const [overrides, message] of cases) {
    await assert.rejects(
      signManifest(manifest(alice.did, overrides as Partial<AgentManifest>), alice),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, MANIFEST_ERROR_CODES.invalid, error.message);
        assert.match(error.message, message);
        return true;
      },
    );
  }
  assert.throws(
    () => decodeSignedManifest(new Uint8Array([0xff])),
    code(MANIFEST_ERROR_CODES.invalid),
  );
});

Deno.test("the registry indexes by DID and capability, and keeps the highest version", async () => {
  const registry = new ManifestRegistry(verifier);
  const aliceV1 = await signManifest(manifest(alice.did), alice);
  const bobV1 = await signManifest(manifest(bob.did, { capabilities: ["summarise:v1"] }), bob);
  assert.equal(await registry.put(aliceV1), "added");
  assert.equal(await registry.put(bobV1), "added");
  assert.equal(await registry.put(aliceV1), "unchanged");
  assert.deepEqual(
    registry.byCapability("summarise:v1").map((signed) => signed.manifest.agent),
    [alice.did, bob.did].sort(),
  );
  assert.deepEqual(registry.byCapability("translate:en-de").map((s) => s.manifest.agent), [
    alice.did,
  ]);
  const aliceV2 = await signManifest(
    manifest(alice.did, { version: "1.1.0", capabilities: ["ocr:v2"] }),
    alice,
  );
  assert.equal(await registry.put(aliceV2), "replaced");
  assert.deepEqual(registry.byCapability("translate:en-de"), []);
  assert.deepEqual(registry.capabilities(), ["ocr:v2", "summarise:v1"]);
  assert.equal(registry.get(alice.did)?.manifest.version, "1.1.0");
  await assert.rejects(registry.put(aliceV1), code(MANIFEST_ERROR_CODES.stale));
  const sameVersion = await signManifest(
    manifest(alice.did, { version: "1.1.0", tags: ["x"] }),
    alice,
  );
  await assert.rejects(registry.put(sameVersion), /with different content/);
  assert.equal(registry.remove(bob.did), true);
  assert.deepEqual(registry.byCapability("summarise:v1"), []);
});

Deno.test("the registry refuses forged manifests and respects its capacity", async () => {
  const registry = new ManifestRegistry(verifier, { capacity: 1 });
  const signed = await signManifest(manifest(alice.did), alice);
  const forged = { ...signed, manifest: { ...signed.manifest, agent: bob.did } };
  await assert.rejects(registry.put(forged), code(MANIFEST_ERROR_CODES.signatureInvalid));
  assert.equal(registry.size, 0);
  await registry.put(signed);
  await assert.rejects(
    registry.put(await signManifest(manifest(bob.did), bob)),
    code(MANIFEST_ERROR_CODES.registryFull),
  );
});

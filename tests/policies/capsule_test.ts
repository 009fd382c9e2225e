// Proves capsules are created, signed and verified, and that tampered, untrusted, foreign-engine and non-conforming capsules are refused; and the registry switches only at epoch boundaries.

import assert from "node:assert/strict";
import {
  capsuleHash,
  type CapsulePackage,
  createCapsule,
  GENESIS_AUTHOR,
  genesisCapsule,
  type InstalledCapsule,
  signCapsule,
  verifyCapsule,
} from "../../policies/capsule.ts";
import { CapsuleRegistry } from "../../policies/capsule_registry.ts";
import { CedarEngine } from "../../policies/cedar_engine.ts";
import { BASE_CONFORMANCE_SUITE, checkConformanceSuite } from "../../policies/conformance.ts";
import { CapsuleError, PolicyCapsuleMismatchError } from "../../policies/errors.ts";
import { sha256Hex } from "../../policies/hash.ts";
import { BASE_SCHEMA_TEXT, SCHEMA_VERSION } from "../../policies/sources.ts";
import { baseEngine, cedarRuntime, TestKeys } from "./_helpers.ts";

const runtime = await cedarRuntime();
const keys = new TestKeys();
const author = await keys.signer("did:key:z6MkAuthor");
const stranger = await keys.signer("did:key:z6MkStranger");
const trustedAuthors = new Set([author.did]);
const verifyOptions = { runtime, verify: keys.verify, trustedAuthors };

async function refusal(value: unknown, options = verifyOptions): Promise<CapsuleError> {
  const error = await verifyCapsule(value, options).then(() => undefined, (caught) => caught);
  assert.ok(error instanceof CapsuleError, `expected CapsuleError, got ${error}`);
  return error;
}

const engine = await baseEngine();
const pkg = await createCapsule(engine, { signer: author, activationEpoch: 3 });

Deno.test("createCapsule() records hashes, the passed conformance ids and a verifying signature", async () => {
  assert.equal(pkg.body.engineHash, runtime.engineHash);
  assert.equal(pkg.body.policyHash, engine.policyHash);
  assert.equal(pkg.body.schemaVersion, SCHEMA_VERSION);
  assert.equal(pkg.body.conformance.length, BASE_CONFORMANCE_SUITE.vectors.length);
  assert.equal(pkg.signature.length, 64);
  const installed = await verifyCapsule(pkg, verifyOptions);
  assert.equal(installed.hash, await capsuleHash(pkg.body));
  assert.equal(installed.engine.policyHash, engine.policyHash);
  assert.deepEqual(installed.conformance.failed, []);
});

Deno.test("the capsule hash and signature are reproducible from the same engine and key", async () => {
  const again = await createCapsule(await baseEngine(), { signer: author, activationEpoch: 3 });
  assert.equal(await capsuleHash(again.body), await capsuleHash(pkg.body));
  assert.deepEqual(again.signature, pkg.signature);
});

Deno.test("a capsule whose policy text was changed after signing is refused as tampered", async () => {
  const tampered = { ...pkg, policyText: pkg.policyText.replace("1048576", "99999999") };
  assert.equal((await refusal(tampered)).code, "E_CAPSULE_TAMPERED");
});

Deno.test("a capsule whose body was changed after signing fails its signature", async () => {
  const tampered = { ...pkg, body: { ...pkg.body, activationEpoch: 1 } };
  assert.equal((await refusal(tampered)).code, "E_CAPSULE_SIGNATURE");
  const flipped = pkg.signature.slice();
  flipped[0] ^= 1;
  assert.equal((await refusal({ ...pkg, signature: flipped })).code, "E_CAPSULE_SIGNATURE");
});

Deno.test("a capsule from an untrusted author is refused even with a valid signature", async () => {
  const foreign = await signCapsule({ ...pkg.body, author: stranger.did }, pkg, stranger);
  const error = await refusal(foreign);
  assert.equal(error.code, "E_CAPSULE_AUTHOR");
  assert.match(error.message, /z6MkStranger is not trusted/);
});

Deno.test("a capsule for another engine binary is refused", async () => {
  const other = await signCapsule({ ...pkg.body, engineHash: "e".repeat(64) }, pkg, author);
  assert.equal((await refusal(other)).code, "E_CAPSULE_ENGINE");
});

const PERMISSIVE = `@id("anything-goes") permit (principal, action, resource);`;

Deno.test("a signed capsule whose policy fails the conformance suite is refused", async () => {
  const loose = await CedarEngine.load(runtime, {
    policyText: PERMISSIVE,
    schemaText: BASE_SCHEMA_TEXT,
    schemaVersion: SCHEMA_VERSION,
  });
  const body = {
    ...pkg.body,
    policyTextHash: loose.policyTextHash,
    policyHash: loose.policyHash,
  };
  const signed = await signCapsule(
    body,
    { policyText: PERMISSIVE, schemaText: BASE_SCHEMA_TEXT },
    author,
  );
  const error = await refusal(signed);
  assert.equal(error.code, "E_CAPSULE_CONFORMANCE");
  assert.match(error.message, /deny-payload-64mib \(expected deny, got allow\)/);
  await assert.rejects(() => createCapsule(loose, { signer: author }), {
    code: "E_CAPSULE_CONFORMANCE",
  });
});

Deno.test("the genesis capsule is the same on every node, in force from epoch 0, and refuses a failing policy", async () => {
  const genesis = await genesisCapsule(engine);
  const again = await genesisCapsule(await baseEngine());
  assert.equal(genesis.hash, again.hash, "reproducible from the same engine and policy");
  assert.equal(genesis.hash, await capsuleHash(genesis.body));
  assert.equal(genesis.body.author, GENESIS_AUTHOR);
  assert.equal(genesis.body.activationEpoch, 0);
  assert.deepEqual(genesis.conformance.failed, []);
  assert.notEqual(genesis.hash, await capsuleHash(pkg.body), "a signed capsule is another capsule");
  const loose = await CedarEngine.load(runtime, {
    policyText: PERMISSIVE,
    schemaText: BASE_SCHEMA_TEXT,
    schemaVersion: SCHEMA_VERSION,
  });
  await assert.rejects(() => genesisCapsule(loose), { code: "E_CAPSULE_CONFORMANCE" });
});

Deno.test("a capsule claiming conformance vectors this node lacks is refused", async () => {
  const body = { ...pkg.body, conformance: [...pkg.body.conformance, "vector-from-the-future"] };
  const signed = await signCapsule(body, pkg, author);
  const error = await refusal(signed);
  assert.equal(error.code, "E_CAPSULE_CONFORMANCE");
  assert.match(error.message, /vector-from-the-future/);
});

Deno.test("a signed capsule whose policy does not parse is refused with the engine's diagnostics", async () => {
  const broken = `@id("x") permit (principal,`;
  const body = { ...pkg.body, policyTextHash: await sha256Hex(broken) };
  const error = await refusal(
    await signCapsule(body, { policyText: broken, schemaText: BASE_SCHEMA_TEXT }, author),
  );
  assert.equal(error.code, "E_CAPSULE_POLICY");
  assert.ok(error.diagnostics.length > 0);
});

Deno.test("malformed capsule packages are refused with E_CAPSULE_MALFORMED", async () => {
  const bad: unknown[] = [
    null,
    "capsule",
    { ...pkg, signature: "sig" },
    { ...pkg, policyText: 7 },
    { ...pkg, body: { ...pkg.body, v: 2 } },
    { ...pkg, body: { ...pkg.body, engineHash: "abc" } },
    { ...pkg, body: { ...pkg.body, activationEpoch: -1 } },
    { ...pkg, body: { ...pkg.body, conformance: "all" } },
    { ...pkg, body: { ...pkg.body, extra: true } },
  ];
  for (const value of bad) assert.equal((await refusal(value)).code, "E_CAPSULE_MALFORMED");
});

Deno.test("a malformed conformance suite is a typed error", () => {
  assert.throws(() => checkConformanceSuite({ version: 1, vectors: [] }), {
    code: "E_CONFORMANCE_SUITE",
  });
  const vector = BASE_CONFORMANCE_SUITE.vectors[0];
  assert.throws(
    () => checkConformanceSuite({ version: 1, vectors: [vector, vector] }),
    { code: "E_CONFORMANCE_SUITE" },
  );
  assert.throws(
    () => checkConformanceSuite({ version: 1, vectors: [{ ...vector, expect: "maybe" }] }),
    { code: "E_CONFORMANCE_SUITE" },
  );
});

async function installed(
  activationEpoch: number,
  payloadBytesMax = 1_048_576,
): Promise<InstalledCapsule> {
  const made: CapsulePackage = await createCapsule(await baseEngine({ payloadBytesMax }), {
    signer: author,
    activationEpoch,
  });
  return await verifyCapsule(made, verifyOptions);
}

Deno.test("the registry switches to a staged capsule only at the boundary of its epoch", async () => {
  const genesis = await installed(0);
  const next = await installed(2, 2_097_152);
  const registry = new CapsuleRegistry(genesis, { epoch: 0 });
  assert.equal(registry.stage(next), "staged");
  assert.equal(registry.stage(next), "duplicate");
  assert.equal(registry.advanceEpoch(1), undefined);
  assert.equal(registry.current().capsuleHash, genesis.hash);
  assert.equal(registry.advanceEpoch(2), next);
  assert.equal(registry.current().capsuleHash, next.hash);
  assert.equal(registry.current().engine, next.engine);
  assert.deepEqual(registry.pending, []);
  assert.throws(() => registry.checkCapsule(genesis.hash), PolicyCapsuleMismatchError);
  registry.checkCapsule(next.hash);
});

Deno.test("the registry jumps to the newest due capsule and drops older waiting ones", async () => {
  const [genesis, second, third, later] = await Promise.all([
    installed(0),
    installed(2, 2_000_000),
    installed(3, 3_000_000),
    installed(9, 4_000_000),
  ]);
  const registry = new CapsuleRegistry(genesis);
  for (const capsule of [third, second, later]) registry.stage(capsule);
  assert.equal(registry.advanceEpoch(5), third);
  assert.deepEqual(registry.pending.map((capsule) => capsule.hash), [later.hash]);
});

Deno.test("the registry refuses stale capsules, overflow and epochs going back", async () => {
  const genesis = await installed(4);
  const registry = new CapsuleRegistry(genesis, { epoch: 4, pendingMax: 1 });
  assert.throws(() => registry.stage({ ...genesis, hash: "x" }), {
    code: "E_CAPSULE_STALE",
  });
  registry.stage(await installed(6, 2_000_000));
  assert.throws(
    () => registry.stage({ ...genesis, hash: "y", body: { ...genesis.body, activationEpoch: 7 } }),
    {
      code: "E_CAPSULE_PENDING_FULL",
    },
  );
  assert.throws(() => registry.advanceEpoch(3), { code: "E_CAPSULE_EPOCH" });
});

Deno.test("restore() puts a due capsule in force at once, stages one still ahead, ignores older ones", async () => {
  const [genesis, due, ahead] = await Promise.all([
    installed(0),
    installed(2, 2_000_000),
    installed(7, 3_000_000),
  ]);
  const registry = new CapsuleRegistry(genesis, { epoch: 4 });
  assert.equal(registry.restore(ahead), "staged");
  assert.equal(registry.restore(due), "active", "the swarm switched at epoch 2 while away");
  assert.equal(registry.current().capsuleHash, due.hash);
  assert.equal(registry.epoch, 4, "restoring does not move the epoch");
  assert.equal(registry.restore(due), "duplicate");
  assert.equal(registry.restore(genesis), "stale");
  assert.deepEqual(registry.pending.map((capsule) => capsule.hash), [ahead.hash]);
  assert.equal(registry.advanceEpoch(7), ahead);
});

// Proves `policy check`, `policy eval` and `policy capsule` work end to end, and that a digest computed in another process (another wasm instance) matches this one's.

import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { CommitGate } from "../../policies/commit_gate.ts";
import { fixedPolicy } from "../../policies/policy_source.ts";
import { baseEngine, cedarRuntime, view } from "../policies/_helpers.ts";
import { verifyCapsule } from "../../policies/capsule.ts";
import { capsuleFromJson } from "../../policies/capsule_json.ts";
import { SignatureVerifier } from "../../protocols/identity/mod.ts";
import { loadNodeIdentity } from "../../cli/node_identity.ts";

const cli = (...args: string[]) => runCli(["--allow-read", "--allow-env"], args);

Deno.test("policy eval in another process reproduces this process's evaluation digest", async () => {
  const engine = await baseEngine();
  const commit = view("COMMIT", {
    payload: { artifacts: 1, telemetry: { cost: 10, timeMs: 100, memoryBytes: 1_000 } },
  });
  const actual = { cost: 50, timeMs: 100, memoryBytes: 1_000 };
  const local = await new CommitGate(fixedPolicy(engine, engine.policyHash)).evaluate(
    commit,
    actual,
  );
  const input = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(input, JSON.stringify([{ view: commit, facts: { actual } }, {}]));
    const run = await cli("policy", "eval", "--input", input);
    assert.equal(run.code, 1, "the second, empty item is malformed");
    const [remote, malformed] = JSON.parse(run.stdout);
    assert.equal(remote.evalDigest, local.evalDigest);
    assert.equal(remote.evalInput, local.evalInput);
    assert.deepEqual(remote.reasons, ["commit-cost-understated"]);
    assert.equal(malformed.error, "E_POLICY_REQUEST");
  } finally {
    await Deno.remove(input);
  }
});

Deno.test("policy check passes the shipped policy and refuses a policy file without rule ids", async () => {
  const passing = await cli("policy", "check");
  assert.equal(passing.code, 0, passing.stderr);
  const report = JSON.parse(passing.stdout);
  assert.equal(report.policyHash, (await baseEngine()).policyHash);
  assert.deepEqual(report.conformance.failed, []);
  const file = await Deno.makeTempFile({ suffix: ".cedar" });
  try {
    await Deno.writeTextFile(file, "permit (principal, action, resource);");
    const failing = await cli("policy", "check", "--policy", file);
    assert.equal(failing.code, 1);
    assert.equal(JSON.parse(failing.stdout).error, "E_POLICY_ID");
    assert.equal((await cli("policy", "check", "--payload-bytes-max", "lots")).code, 2);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("policy capsule signs a capsule as the data directory's node that verifies for that author", async () => {
  const dir = await Deno.makeTempDir({ prefix: "can-swarm-capsule-" });
  try {
    const write = (...args: string[]) =>
      runCli(["--allow-read", "--allow-write", "--allow-env"], ["policy", "capsule", ...args]);
    const run = await write("--data-dir", dir, "--activation-epoch", "3", "--out", `${dir}/c.json`);
    assert.equal(run.code, 0, run.stderr);
    const pkg = capsuleFromJson(JSON.parse(await Deno.readTextFile(`${dir}/c.json`)));
    const author = (await loadNodeIdentity(dir)).identity;
    assert.equal(pkg.body.author, author.did);
    assert.equal(pkg.body.activationEpoch, 3);
    const signatures = new SignatureVerifier();
    const installed = await verifyCapsule(pkg, {
      runtime: await cedarRuntime(),
      verify: (did, bytes, signature) => signatures.verify(did, signature, bytes),
      trustedAuthors: new Set([author.did]),
    });
    assert.equal(installed.engine.policyHash, (await baseEngine()).policyHash);

    const missing = await write("--data-dir", dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--activation-epoch N is required/);
    const genesis = await write("--data-dir", dir, "--activation-epoch", "0");
    assert.equal(genesis.code, 2, "epoch 0 belongs to the genesis capsule");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

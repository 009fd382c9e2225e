// Proves `policy check` and `policy eval` work end to end, and that a digest computed in another process (another wasm instance) matches this one's.

import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { CommitGate } from "../../policies/commit_gate.ts";
import { fixedPolicy } from "../../policies/policy_source.ts";
import { baseEngine, view } from "../policies/_helpers.ts";

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

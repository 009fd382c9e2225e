// Proves the decider's ruling checks each mechanical proof for real (schema, citation, re-execution, budget) and refuses or rejects what it cannot accept.
import assert from "node:assert/strict";
import { admissibility, judgeChallenge } from "../../../protocols/economics/judge.ts";
import { economicsParams, type ProofType } from "../../../protocols/economics/params.ts";
import type { CommitState, TaskState, ThreadState } from "../../../protocols/lifecycle/state.ts";
import { runWork, telemetryOf } from "../../../protocols/work.ts";
import { challengeOf, Driver, TASK_ID } from "./_fixtures.ts";

const PARAMS = economicsParams();
const encode = (text: string) => new TextEncoder().encode(text);

/** A verified thread whose commit carries `output` (digest as committed), of the task sha256("hello"). */
function verified(
  output: string,
  digest = runWork({ op: "sha256", input: "hello", rounds: 1 }).digest,
) {
  const driver = new Driver();
  driver.toVerified();
  const thread = driver.thread as ThreadState;
  const task = thread.tasks.get(TASK_ID) as TaskState;
  const commit = {
    ...(task.commits.get("commit-1") as CommitState),
    outputDigest: digest,
    artifacts: ["bafy-out"],
  };
  return { thread, task, commit, output };
}

function rule(
  proofType: ProofType,
  output: string | undefined,
  options: { digest?: string; evidence?: number } = {},
) {
  const { task, commit } = verified(output ?? "", options.digest);
  const challenge = { ...challengeOf("did:challenger"), proofType, evidenceBytes: 5 };
  const evidence = options.evidence === undefined
    ? encode("proof")
    : new Uint8Array(options.evidence);
  const artifacts = new Map([["bafy-out", output === undefined ? undefined : encode(output)]]);
  return judgeChallenge(challenge, {
    task,
    commit,
    fetched: { evidence, artifacts },
    params: PARAMS,
  });
}

Deno.test("OUTPUT_MISMATCH is upheld when re-running the task gives another digest, rejected when it matches", () => {
  const right = runWork({ op: "sha256", input: "hello", rounds: 1 });
  assert.equal(rule("OUTPUT_MISMATCH", right.output).verdict, "REJECTED");
  assert.equal(rule("OUTPUT_MISMATCH", "forged", { digest: "f".repeat(64) }).verdict, "UPHELD");
  assert.equal(
    rule("OUTPUT_MISMATCH", "forged").verdict,
    "UPHELD",
    "artifact differs from its digest",
  );
});

Deno.test("SCHEMA_VIOLATION checks the operation's declared output schema; MISSING_CITATION the store", () => {
  const right = runWork({ op: "sha256", input: "hello", rounds: 1 }).output;
  assert.equal(rule("SCHEMA_VIOLATION", `${right} (tampered)`).verdict, "UPHELD");
  assert.equal(rule("SCHEMA_VIOLATION", right).code, "E_PROOF_NOT_SHOWN");
  assert.equal(rule("MISSING_CITATION", undefined).verdict, "UPHELD");
  assert.equal(rule("MISSING_CITATION", right).verdict, "REJECTED");
});

Deno.test("POLICY_BREACH is upheld with a severity when the commit understated its telemetry", () => {
  const driver = new Driver();
  driver.toVerified();
  const thread = driver.thread as ThreadState;
  const task = thread.tasks.get(TASK_ID) as TaskState;
  const measured = telemetryOf(runWork(task.spec));
  const commit = { ...(task.commits.get("commit-1") as CommitState), telemetry: measured };
  const challenge = {
    ...challengeOf("did:c"),
    proofType: "POLICY_BREACH" as const,
    evidenceBytes: 1,
  };
  const fetched = { evidence: new Uint8Array(1), artifacts: new Map() };
  assert.equal(
    judgeChallenge(challenge, { task, commit, fetched, params: PARAMS }).verdict,
    "REJECTED",
  );
  const understated = {
    ...commit,
    telemetry: { ...measured, memoryBytes: measured.memoryBytes / 2 },
  };
  const ruling = judgeChallenge(challenge, {
    task,
    commit: understated,
    fetched,
    params: PARAMS,
  });
  assert.deepEqual([ruling.verdict, ruling.severity], ["UPHELD", 5]);
});

Deno.test("evidence that is missing or not the declared size is malformed; semantic proofs are unproven", () => {
  assert.equal(rule("OUTPUT_MISMATCH", "x", { evidence: 6 }).code, "E_PROOF_MALFORMED");
  const { task, commit } = verified("x");
  const challenge = { ...challengeOf("did:c"), evidenceBytes: 5 };
  const fetched = { evidence: undefined, artifacts: new Map() };
  const missing = judgeChallenge(challenge, { task, commit, fetched, params: PARAMS });
  assert.deepEqual([missing.verdict, missing.code], ["REJECTED", "E_PROOF_MALFORMED"]);
  assert.equal(rule("SEMANTIC_CONTRADICTION", "x").verdict, "UNPROVEN");
});

Deno.test("a challenge outside the window, over the rate, or on an invalidated commit is refused", () => {
  const { task, commit } = verified("x");
  const challenge = challengeOf("did:c");
  assert.equal(admissibility(challenge, task, commit, true), undefined);
  assert.equal(admissibility(challenge, task, commit, false)?.code, "E_CHALLENGE_RATE");
  assert.equal(
    admissibility({ ...challenge, openedAtMs: task.finalizeAfterMs as number }, task, commit, true)
      ?.code,
    "E_CHALLENGE_WINDOW",
  );
  assert.equal(
    admissibility(challenge, { ...task, status: "FINAL" }, commit, true)?.verdict,
    "REFUSED",
  );
  assert.equal(
    admissibility(challenge, task, { ...commit, invalidated: true }, true)?.code,
    "E_CHALLENGE_WINDOW",
  );
});

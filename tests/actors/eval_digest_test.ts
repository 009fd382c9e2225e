// Proves verifiers compare each other's evaluation digests at runtime: honest verifiers always agree, and a verifier that forges its digest is flagged by the others while the NEEDs still finish.
import assert from "node:assert/strict";
import { LocalSwarm, type LocalSwarmOptions } from "../../cli/local_swarm.ts";
import type { LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import { swarmParams } from "../../protocols/params.ts";

const PARAMS = swarmParams({ challengeWindowMs: 200 });
const NEEDS = 24;

/** Runs NEEDS needs on 4 nodes with policy on; returns the outcomes, ATTESTs and verifier counters. */
async function run(byzantine: LocalSwarmOptions["byzantine"]) {
  const attests: LifecycleMessage[] = [];
  const swarm = await LocalSwarm.start({
    nodes: 4,
    params: PARAMS,
    consensus: "kv",
    onAccepted: (message, node) => {
      if (message.kind === "ATTEST" && node === message.sender) attests.push(message);
    },
    byzantine,
  });
  try {
    const outcomes = await Promise.all(
      Array.from(
        { length: NEEDS },
        (_, index) =>
          swarm.post({ op: "sha256", input: `digest ${index}`, rounds: 2 }, {
            deadlineInMs: 60_000,
          }),
      ),
    );
    return { swarm, outcomes, attests, stats: { ...swarm.verifierStats } };
  } finally {
    await swarm.stop();
  }
}

/** Commits attested by two or more verifiers, with their attesters. */
function sharedCommits(attests: LifecycleMessage[]): Map<string, string[]> {
  const byCommit = new Map<string, string[]>();
  for (const attest of attests) {
    const { commitId } = attest.payload as { commitId: string };
    byCommit.set(commitId, [...(byCommit.get(commitId) ?? []), attest.sender]);
  }
  return new Map([...byCommit].filter(([, attesters]) => attesters.length > 1));
}

Deno.test("honest verifiers compare their evaluation digests and find no divergence", async () => {
  const { outcomes, attests, stats } = await run(undefined);
  assert.deepEqual(outcomes.filter((outcome) => outcome.status !== "final"), []);
  assert.ok(sharedCommits(attests).size > 0, "some commits had two verifiers");
  assert.ok(stats.compared > 0, "the verifiers compared digests");
  assert.equal(stats.divergences, 0, "and every digest agreed");
  assert.equal(stats.attested, attests.length, "every ATTEST sent was counted");
});

Deno.test("a verifier that forges its evaluation digest is flagged by the others", async () => {
  const { swarm, outcomes, attests, stats } = await run({ 0: { forgeEvalDigest: true } });
  assert.deepEqual(
    outcomes.filter((outcome) => outcome.status !== "final"),
    [],
    "the forger's verdicts are right, so the NEEDs still finish",
  );
  const forger = swarm.dids[0];
  const withForger = [...sharedCommits(attests).values()].filter((attesters) =>
    attesters.includes(forger)
  );
  assert.ok(withForger.length > 0, "the forger shared some commits with honest verifiers");
  assert.ok(stats.divergences > 0, "honest verifiers flagged the forged digests");
  const pairsWithForger = withForger.reduce((sum, attesters) => sum + attesters.length - 1, 0);
  assert.ok(
    stats.divergences <= pairsWithForger,
    `only comparisons with the forger diverge (${stats.divergences} ≤ ${pairsWithForger})`,
  );
});

// Proves a running swarm installs a policy capsule signed by a trusted author, switches every node to it at the next epoch boundary and keeps finishing NEEDs under it (a restarted node comes back under it), while capsules from untrusted authors are refused and counted.
import assert from "node:assert/strict";
import { decode } from "@ipld/dag-cbor";
import { LocalSwarm } from "../../cli/local_swarm.ts";
import { loadBasePolicy } from "../../cli/_node_policy.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import { createCapsule } from "../../policies/capsule.ts";
import { type Identity, simulationIdentity } from "../../protocols/identity/mod.ts";
import { swarmParams } from "../../protocols/params.ts";

const NODES = 3;

/** Polls an async condition until it holds or `timeoutMs` passes. */
async function untilTrue(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error("Condition did not hold in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function capsuleBy(author: Identity, activationEpoch: number) {
  const { engine } = await loadBasePolicy();
  return await createCapsule(engine, {
    signer: { did: author.did, sign: (bytes) => author.sign(bytes) },
    activationEpoch,
  });
}

async function finishNeeds(swarm: LocalSwarm, label: string, count: number) {
  const outcomes = await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        swarm.post({ op: "reverse", input: `${label} ${index}`, rounds: 1 }, {
          deadlineInMs: 30_000,
        }),
    ),
  );
  assert.deepEqual(outcomes.filter((outcome) => outcome.status !== "final"), [], label);
  return outcomes.map((outcome) => outcome.needId);
}

/** The `policy` field of every envelope node 0 holds for a thread. */
async function capsulesOf(swarm: LocalSwarm, needId: string): Promise<Set<string>> {
  const reply = await swarm.system(0).ask<CoreMessage, CoreMessage>(
    swarm.system(0).lookup<CoreMessage>("/user/node/core") as never,
    (replyTo) => ({ type: "sync-request", threads: [needId], replyTo }),
  );
  assert.equal(reply.type, "sync-reply");
  const envelopes = (reply as { envelopes: readonly Uint8Array[] }).envelopes;
  assert.ok(envelopes.length >= 8, `the thread has its envelopes (${envelopes.length})`);
  return new Set(envelopes.map((bytes) => (decode(bytes) as { policy: string }).policy));
}

Deno.test("a trusted capsule comes into force on every node at the epoch boundary; NEEDs finish under it", async () => {
  const author = await simulationIdentity("capsule-test", "operator");
  const stranger = await simulationIdentity("capsule-test", "stranger");
  const { genesis } = await loadBasePolicy();
  const dataDir = await Deno.makeTempDir({ prefix: "can-swarm-capsules-" });
  const swarm = await LocalSwarm.start({
    nodes: NODES,
    params: swarmParams({ challengeWindowMs: 100 }),
    consensus: "kv",
    dataDir,
    capsuleAuthors: [author.did],
  });
  try {
    const nodes = Array.from({ length: NODES }, (_, index) => index);
    const [before] = await finishNeeds(swarm, "before", 5);
    assert.deepEqual([...await capsulesOf(swarm, before)], [genesis.hash]);

    swarm.announceCapsule(1, await capsuleBy(stranger, 1));
    const next = await capsuleBy(author, 1);
    swarm.announceCapsule(0, next);
    await untilTrue(async () => {
      const statuses = await Promise.all(nodes.map((index) => swarm.capsuleStatus(index)));
      return statuses.every((status) =>
        status.pending.length === 1 && status.rejected.E_CAPSULE_AUTHOR === 1
      );
    }, 10_000);
    const staged = await swarm.capsuleStatus(2);
    assert.equal(staged.activeHash, genesis.hash, "a staged capsule waits for its epoch");
    assert.notEqual(staged.pending[0], genesis.hash);

    assert.equal(await swarm.advanceEpoch(0), 1);
    await untilTrue(async () => {
      const statuses = await Promise.all(nodes.map((index) => swarm.capsuleStatus(index)));
      return statuses.every((status) =>
        status.activeHash === staged.pending[0] && status.switched === 1
      );
    }, 10_000);

    const [after] = await finishNeeds(swarm, "after", 5);
    assert.deepEqual(
      [...await capsulesOf(swarm, after)],
      [staged.pending[0]],
      "every envelope of a later NEED names the new capsule",
    );

    await swarm.restart(2);
    await untilTrue(
      async () => (await swarm.capsuleStatus(2)).activeHash === staged.pending[0],
      10_000,
    );
    await finishNeeds(swarm, "after restart", 5);
  } finally {
    await swarm.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

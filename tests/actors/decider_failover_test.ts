// Proves a failover hands a bucket's rulings over on a real in-process swarm: after the decider that decided a NEED stops, the bucket's new owner rules on a challenge of it (every node confirms the new owner's fence against the decide log first), the NEED finalizes on every node still up, and their ledgers agree.
import assert from "node:assert/strict";
import { LocalSwarm } from "../../cli/local_swarm.ts";
import type { LedgerSummary } from "../../protocols/economics/mod.ts";
import { swarmParams } from "../../protocols/params.ts";
import { cidForBytes } from "../../runtime/store/content_store.ts";
import { DECIDE_BUCKETS } from "../../runtime/store/decide_log.ts";

const ALL_BUCKETS = Array.from({ length: DECIDE_BUCKETS }, (_, bucket) => bucket);
const [WORKER, REQUESTER, HEIR, DECIDER] = [0, 1, 2, 3];
const UP = [WORKER, REQUESTER, HEIR];

/** Polls `check` every 20 ms until it answers true, failing after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("after a failover, the bucket's new owner rules on a challenge of a NEED the old owner decided, and the NEED finalizes everywhere", async () => {
  const swarm = await LocalSwarm.start({
    nodes: 4,
    // A long window: the result stays VERIFIED while the decider fails over and the challenge is ruled.
    params: swarmParams({ challengeWindowMs: 4_000 }),
    consensus: "kv",
    participants: (dids) => dids.map((did) => ({ did })),
    configure: (index, config) => ({
      ...config,
      workers: [config.verifiers[WORKER]],
      roles: {
        ...config.roles,
        worker: index === WORKER,
        challenger: false,
        // node-3 decides every bucket; node-2 runs a decider with none, to take them over.
        deciderBuckets: index === DECIDER ? ALL_BUCKETS : [],
      },
      bucketAssignment: index === HEIR ? () => [] : undefined,
    }),
  });
  try {
    const outcome = swarm.post({ op: "reverse", input: "hand me over", rounds: 1 }, {
      node: REQUESTER,
      deadlineInMs: 60_000,
    });
    let needId = "";
    await until("the NEED is VERIFIED at the requester", async () => {
      const [posted] = await swarm.needs(REQUESTER);
      needId = posted?.needId ?? "";
      const thread = needId === "" ? undefined : await swarm.thread(REQUESTER, needId);
      return [...(thread?.tasks.values() ?? [])][0]?.status === "VERIFIED";
    });
    const thread = await swarm.thread(REQUESTER, needId);
    assert.equal(thread?.decision?.decider, swarm.dids[DECIDER]);
    const task = [...(thread?.tasks.values() ?? [])][0];

    assert.equal((await swarm.failover(DECIDER, HEIR)).length, DECIDE_BUCKETS);
    const challenge = await swarm.emit(REQUESTER, "CHALLENGE", needId, {
      needId,
      taskId: task.taskId,
      commitId: task.verifiedCommit as string,
      proofType: "OUTPUT_MISMATCH",
      evidence: cidForBytes(new TextEncoder().encode("it looks wrong")).toString(),
      evidenceBytes: 14,
      bond: 100,
    });
    assert.equal(challenge.type, "emitted", JSON.stringify(challenge));

    for (const node of UP) {
      await until(`node-${node} holds the challenge ruled`, async () => {
        const seen = await swarm.thread(node, needId);
        return [...(seen?.challenges?.values() ?? [])][0]?.verdict !== undefined;
      });
    }
    assert.equal((await outcome).status, "final");
    for (const node of UP) {
      await until(`node-${node} holds the NEED final`, async () => {
        return (await swarm.thread(node, needId))?.phase === "FINAL";
      });
      const ruled = [...((await swarm.thread(node, needId))?.challenges?.values() ?? [])][0];
      assert.equal(ruled?.verdict, "REJECTED", `node-${node}: its evidence is in no content store`);
    }
    const stats = await swarm.stats();
    for (const each of stats) {
      assert.equal(each.rejected.E_NOT_DECIDER, undefined, `${each.did} refused no ruling`);
      assert.deepEqual(each.economics?.rulings, { "REJECTED:E_PROOF_MALFORMED": 1 });
    }
    await until("every node up holds the same ledger", async () => {
      const summaries = await Promise.all(
        UP.map((node) => swarm.ledger(node, { kind: "summary" })),
      ) as LedgerSummary[];
      return summaries.every((summary) =>
        summary.digest === summaries[0].digest && summary.escrowsHeld === 0
      );
    });
  } finally {
    await swarm.stop();
  }
});

// Proves a task whose worker died between its lease grant and its CLAIM's publication is not held until its NEED's deadline: the decider publishes the CLAIM the lease carries, the lease runs out and is released, and another bid finishes the task; and the relay leaves alone tasks already claimed and leases without a CLAIM.
import assert from "node:assert/strict";
import { LocalSwarm } from "../../cli/local_swarm.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import { bytesToBase64Url } from "../../protocols/identity/ed25519.ts";
import type { TaskState, ThreadState } from "../../protocols/lifecycle/state.ts";
import { swarmParams } from "../../protocols/params.ts";
import {
  checkUnclaimed,
  type ClaimRelayMessage,
  watchUnclaimed,
} from "../../actors/_claim_relay.ts";
import { shardTopic } from "../../actors/node_core.ts";
import { simNode } from "../_sim_node.ts";

/** A thread whose one task is in `status`. */
function threadWith(status: TaskState["status"]): ThreadState {
  const task = { taskId: "task-1", status, commits: new Map() } as unknown as TaskState;
  return { needId: "need-1", tasks: new Map([[task.taskId, task]]) } as unknown as ThreadState;
}

/** Runs the relay over one task for `ms` with the log holding `claim` (if any); returns what it published. */
async function relay(status: TaskState["status"], claim: Uint8Array | undefined, ms: number) {
  const node = await simNode();
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease({
    taskId: "task-1",
    leaseId: "lease-1",
    holder: "did:key:z6MkDeadWorker",
    grantedAtMs: 0,
    expiresAtMs: 60_000,
    epoch: 0,
    ...(claim === undefined ? {} : { claim: bytesToBase64Url(claim) }),
  });
  const published: Uint8Array[] = [];
  node.system.spawn<{ type: "envelope"; bytes: Uint8Array }>(() => ({
    preStart: (ctx) => ctx.subscribe(shardTopic("need-1")),
    receive: (_ctx, message) => void published.push(message.bytes),
  }), { name: "shard-listener" });
  let relayed = 0;
  const config = { decideLog, unclaimedCheckMs: 10_000, relayed: () => relayed++ };
  const threads = new Map([["need-1", threadWith(status)]]);
  node.system.spawn<ClaimRelayMessage | "start">(() => ({
    receive: (ctx, message) => {
      if (message !== "start") return checkUnclaimed(ctx, config, threads, message);
      watchUnclaimed(ctx, config, { type: "task-ready", needId: "need-1", taskId: "task-1" });
    },
  }), { name: "relay" }).tell("start");
  await node.advance(ms);
  return { published, relayed };
}

Deno.test("a task still unclaimed after the check has the CLAIM its lease carries published, again each check", async () => {
  const claim = new TextEncoder().encode("a signed CLAIM");
  assert.deepEqual(await relay("DECIDED", claim, 9_000), { published: [], relayed: 0 });
  const { published, relayed } = await relay("DRAFT", claim, 25_000);
  assert.deepEqual(published, [claim, claim]);
  assert.equal(relayed, 2);
});

Deno.test("the relay leaves a claimed task alone, and publishes nothing for a lease without a CLAIM", async () => {
  const claim = new TextEncoder().encode("a signed CLAIM");
  assert.deepEqual(await relay("CLAIMED", claim, 25_000), { published: [], relayed: 0 });
  assert.deepEqual(await relay("DECIDED", undefined, 25_000), { published: [], relayed: 0 });
});

Deno.test("a worker that dies between its lease grant and its CLAIM does not hold the task: the NEED still becomes final", async () => {
  const swarm = await LocalSwarm.start({
    nodes: 3,
    params: swarmParams({ challengeWindowMs: 300, leaseTtlMinMs: 1_500 }),
    consensus: "kv",
    configure: (index, config) => ({
      ...config,
      workers: [config.verifiers[0]], // fresh tasks go to node-0 alone
      byzantine: { loseFirstClaims: index === 0 },
    }),
  });
  try {
    const started = performance.now();
    const outcome = await swarm.post({ op: "sha256", input: "orphaned lease", rounds: 1 }, {
      node: 1,
      deadlineInMs: 30_000,
    });
    assert.equal(outcome.status, "final");
    assert.ok((swarm.deciderStats.claimsRelayed ?? 0) >= 1, "the lost CLAIM was published");
    assert.ok(
      performance.now() - started >= 1_500,
      "it waited for the orphaned lease to run out",
    );
  } finally {
    await swarm.stop();
  }
});

// Proves a decider answers which buckets it holds, as it takes (owned or borrowed) and drops them, fencing each bucket it takes in the decide log; and that it keeps the newest of its own fence tokens when two takes of a bucket answer out of order, so it still finalizes there, and finalizes only under the lease the log holds, marked final first.
import assert from "node:assert/strict";
import { decider, type DeciderMessage } from "../../actors/decider.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import type { ActorRef } from "../../runtime/actor.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import { bucketOf, type FenceToken } from "../../runtime/store/decide_log.ts";
import type { ThreadState } from "../../protocols/lifecycle/state.ts";
import { ActorSystem } from "../../runtime/system.ts";

Deno.test("a decider reports the buckets it holds as it takes and drops them", async () => {
  const env = await RealEnv.open({ nodeId: "n0" });
  const system = ActorSystem.create(env, { log: silentLogSink });
  const log = new StoreDecideLog(new MemoryStore());
  try {
    // The node core, reduced to what a decider asks of it when it takes buckets: open threads.
    const core = system.spawn<CoreMessage>(() => ({
      receive(_ctx, message) {
        if (message.type === "open-threads") message.replyTo.tell([]);
      },
    }));
    const shard = system.spawn<DeciderMessage>(() =>
      decider({ core, did: "did:d", decideLog: log, buckets: [1, 2] })
    );
    const owned = () =>
      system.ask<DeciderMessage, readonly number[]>(
        shard,
        (replyTo: ActorRef<readonly number[]>) => ({ type: "owned", replyTo }),
      );
    assert.deepEqual(await owned(), [1, 2]);
    shard.tell({ type: "take-buckets", buckets: [9], borrowed: true });
    assert.deepEqual(await owned(), [1, 2, 9]);
    shard.tell({ type: "drop-buckets", buckets: [1, 9] });
    assert.deepEqual(await owned(), [2]);
    await waitFor(async () => (await log.currentFence(9)) === 1);
    assert.equal(await log.currentFence(2), 1, "buckets taken at start are fenced too");
  } finally {
    await system.terminate();
    await env.close();
  }
});

/** A real log whose `late`-th fence answer comes 100 ms after the token is written. */
class LateFenceLog extends StoreDecideLog {
  #calls = 0;
  constructor(readonly late: number) {
    super(new MemoryStore());
  }
  override async acquireFence(bucket: number, holder: string): Promise<FenceToken> {
    const token = await super.acquireFence(bucket, holder);
    if (++this.#calls === this.late) await new Promise((resolve) => setTimeout(resolve, 100));
    return token;
  }
}

const NEED_ID = "need-fence";

/** A thread of NEED_ID whose task t1 is VERIFIED (one attester), as a result quorum leaves it. */
function verifiedThread(): ThreadState {
  const commit = {
    commitId: "commit-1",
    leaseId: "lease-1",
    tally: { approvals: ["did:v1"], rejections: [], reached: true },
  };
  const task = {
    taskId: "t1",
    status: "VERIFIED",
    verifiedCommit: "commit-1",
    kResult: 1,
    commits: new Map([["commit-1", commit]]),
  };
  return {
    needId: NEED_ID,
    phase: "DECIDED",
    need: { deadlineMs: Date.now() + 600_000 },
    tasks: new Map([["t1", task]]),
  } as unknown as ThreadState;
}

/**
 * A decider over `log` that holds no bucket at start, with a core that
 * records the kinds it is asked to emit; `finalize` tells it t1 is verified.
 */
async function fenceRig(log: StoreDecideLog, leaseInLog = "lease-1") {
  // The lease t1 was committed under: a FINALIZE goes out only once it is marked final.
  const lease = { taskId: "t1", leaseId: leaseInLog, holder: "did:w", epoch: 0 };
  await log.tryLease({ ...lease, grantedAtMs: 0, expiresAtMs: 60_000 });
  const env = await RealEnv.open({ nodeId: "n0" });
  const system = ActorSystem.create(env, { log: silentLogSink });
  const emitted: string[] = [];
  const core = system.spawn<CoreMessage>(() => ({
    receive(_ctx, message) {
      if (message.type === "open-threads") message.replyTo.tell([]);
      if (message.type === "emit") emitted.push(message.kind);
    },
  }));
  const shard = system.spawn<DeciderMessage>(() =>
    decider({ core, did: "did:d", decideLog: log, buckets: [] })
  );
  const finalize = () =>
    shard.tell({
      type: "effect",
      effect: {
        type: "result-quorum",
        needId: NEED_ID,
        taskId: "t1",
        commitId: "commit-1",
        finalizeAfterMs: 0,
      },
      thread: verifiedThread(),
    });
  const owned = () =>
    system.ask<DeciderMessage, readonly number[]>(
      shard,
      (replyTo: ActorRef<readonly number[]>) => ({ type: "owned", replyTo }),
    );
  const stop = async () => {
    await system.terminate();
    await env.close();
  };
  return { emitted, shard, finalize, owned, stop };
}

Deno.test("a decider keeps its newest fence when two takes of a bucket answer out of order, and still finalizes there", async () => {
  // Two takes of one bucket: the first (token 1) is answered after the second (token 2).
  const log = new LateFenceLog(1);
  const rig = await fenceRig(log);
  const bucket = bucketOf(NEED_ID);
  try {
    rig.shard.tell({ type: "take-buckets", buckets: [bucket] });
    rig.shard.tell({ type: "take-buckets", buckets: [bucket] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await log.currentFence(bucket), 2);
    rig.finalize();
    await waitFor(() => Promise.resolve(rig.emitted.includes("FINALIZE")));
    assert.deepEqual(await rig.owned(), [bucket], "it did not take itself for deposed");
  } finally {
    await rig.stop();
  }
});

Deno.test("a decider that finalizes while taking its own bucket again waits for its new fence, not giving the bucket up", async () => {
  // The second take writes token 2 at once but is answered 100 ms later; the finalize meanwhile
  // finds the log's fence newer than the one the decider holds.
  const log = new LateFenceLog(2);
  const rig = await fenceRig(log);
  const bucket = bucketOf(NEED_ID);
  try {
    rig.shard.tell({ type: "take-buckets", buckets: [bucket] });
    await waitFor(async () => (await log.currentFence(bucket)) === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    rig.shard.tell({ type: "take-buckets", buckets: [bucket] });
    rig.finalize();
    await waitFor(() => Promise.resolve(rig.emitted.includes("FINALIZE")), 10_000);
    assert.deepEqual(await rig.owned(), [bucket]);
  } finally {
    await rig.stop();
  }
});

Deno.test("a decider finalizes a result only once the log holds its lease, and marks it final first", async () => {
  const log = new StoreDecideLog(new MemoryStore());
  const rig = await fenceRig(log, "lease-of-the-other-side");
  const bucket = bucketOf(NEED_ID);
  try {
    rig.shard.tell({ type: "take-buckets", buckets: [bucket] });
    await waitFor(async () => (await log.currentFence(bucket)) === 1);
    rig.finalize();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(rig.emitted.length, 0, "no FINALIZE");
    assert.equal((await log.getLease("t1"))?.final, undefined, "the other lease is not marked");
    assert.deepEqual(await rig.owned(), [bucket]);
    // The log catches up (an AP replica that had not heard of the lease yet): it finalizes then.
    await log.releaseLease("t1", "lease-of-the-other-side", { force: true });
    await log.tryLease({
      taskId: "t1",
      leaseId: "lease-1",
      holder: "did:w",
      epoch: 0,
      grantedAtMs: 0,
      expiresAtMs: 60_000,
    });
    await waitFor(() => Promise.resolve(rig.emitted.includes("FINALIZE")), 10_000);
    assert.equal((await log.getLease("t1"))?.final, true);
  } finally {
    await rig.stop();
  }
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 1_000): Promise<void> {
  for (let attempt = 0; attempt < timeoutMs / 10; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition never held");
}

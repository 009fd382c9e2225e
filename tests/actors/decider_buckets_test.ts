// Proves a decider answers which buckets it holds, as it takes (owned or borrowed) and drops them, fencing each bucket it takes in the decide log.
import assert from "node:assert/strict";
import { decider, type DeciderMessage } from "../../actors/decider.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import type { ActorRef } from "../../runtime/actor.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
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

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition never held");
}

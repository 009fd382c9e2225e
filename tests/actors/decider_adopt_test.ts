// Proves a decider that starts after its core already holds open threads (a restart: the node read its own NEEDs back, or a sync came first) adopts those of its buckets, and decides a quorum it never had an effect for.
import assert from "node:assert/strict";
import { decider, type DeciderMessage } from "../../actors/decider.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import { bucketOf } from "../../runtime/store/decide_log.ts";
import { ActorSystem } from "../../runtime/system.ts";
import type { ThreadState } from "../../protocols/lifecycle/state.ts";
import { swarmParams } from "../../protocols/params.ts";

Deno.test("a decider adopts the open threads its core held before it watched, and decides their quorum", async () => {
  const env = await RealEnv.open({ nodeId: "n0" });
  const system = ActorSystem.create(env, { log: silentLogSink });
  const log = new StoreDecideLog(new MemoryStore());
  try {
    const needs = { ours: "need-ours", other: "need-other" };
    const held = (needId: string) =>
      ({
        needId,
        phase: "OPEN",
        need: { needId, deadlineMs: Date.now() + 60_000 },
        quorumProposal: `${needId}~p`,
        kPlan: 1,
        tasks: new Map(),
      }) as unknown as ThreadState;
    // The core answers what it holds; it sends no effects (they went out before anyone watched).
    const core = system.spawn<CoreMessage>(() => ({
      receive(_ctx, message) {
        if (message.type === "open-threads") {
          message.replyTo.tell([held(needs.ours), held(needs.other)]);
        }
      },
    }));
    assert.notEqual(bucketOf(needs.ours), bucketOf(needs.other));
    system.spawn<DeciderMessage>(() =>
      decider({
        core,
        did: "did:d",
        decideLog: log,
        buckets: [bucketOf(needs.ours)],
        params: swarmParams({}),
      })
    );
    for (
      let attempt = 0;
      attempt < 100 && await log.getDecide(needs.ours) === undefined;
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal((await log.getDecide(needs.ours))?.proposalId, `${needs.ours}~p`);
    assert.equal(await log.getDecide(needs.other), undefined, "another decider's bucket");
  } finally {
    await system.terminate();
    await env.close();
  }
});

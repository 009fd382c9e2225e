// Proves a decider writes a plan quorum into the decide log, kept until the NEED's deadline plus the retention margin, and never decides a NEED whose deadline has passed (the log forgets decisions after that margin, so a late one could be a second).
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

Deno.test("a decider decides an open NEED before its deadline, kept a margin past it, and never after it", async () => {
  const env = await RealEnv.open({ nodeId: "n0" });
  const system = ActorSystem.create(env, { log: silentLogSink });
  const log = new StoreDecideLog(new MemoryStore());
  const params = swarmParams({ decideRetentionMs: 90_000 });
  try {
    const core = system.spawn<CoreMessage>(() => ({ receive() {} }));
    const needs = { live: "need-live", late: "need-late" };
    const buckets = [...new Set(Object.values(needs).map(bucketOf))];
    const shard = system.spawn<DeciderMessage>(() =>
      decider({ core, did: "did:d", decideLog: log, buckets, params })
    );
    const now = Date.now();
    const quorum = (needId: string, deadlineMs: number) =>
      shard.tell({
        type: "effect",
        effect: { type: "plan-quorum", needId, proposalId: `${needId}~p`, kPlan: 1, lamport: 4 },
        thread: {
          needId,
          phase: "OPEN",
          need: { needId, deadlineMs },
          tasks: new Map(),
        } as unknown as ThreadState,
      });
    quorum(needs.late, now - 1);
    quorum(needs.live, now + 60_000);
    for (
      let attempt = 0;
      attempt < 100 && await log.getDecide(needs.live) === undefined;
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const decided = await log.getDecide(needs.live);
    assert.equal(decided?.proposalId, `${needs.live}~p`);
    assert.equal(decided?.retainUntilMs, now + 60_000 + 90_000);
    assert.equal(await log.getDecide(needs.late), undefined, "past its deadline: not decided");
  } finally {
    await system.terminate();
    await env.close();
  }
});

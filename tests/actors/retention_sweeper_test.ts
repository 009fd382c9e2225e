// Proves the retention sweeper walks a node's audit logs and content store step by step and removes what nobody wrote within the retention, keeping the rest, and counts its passes.
import assert from "node:assert/strict";
import { type RetentionStats, retentionSweeper } from "../../actors/retention_sweeper.ts";
import { auditLogName, SignedAuditLog } from "../../protocols/audit/mod.ts";
import { signEnvelope } from "../../protocols/envelope/mod.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { FileContentStore } from "../../runtime/store/file_content_store.ts";
import { FileFrameLogDirectory } from "../../runtime/store/file_frame_log.ts";
import { ActorSystem } from "../../runtime/system.ts";
import { testFields, testIdentity } from "../protocols/_fixtures.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

async function age(path: string, ageMs: number): Promise<void> {
  const when = new Date(Date.now() - ageMs);
  await Deno.utime(path, when, when);
}

Deno.test("the retention sweeper removes old thread logs and artifacts in bounded steps and keeps recent ones", async () => {
  const root = await Deno.makeTempDir({ prefix: "retention-sweeper-" });
  const env = await RealEnv.open({ nodeId: "n0" });
  const system = ActorSystem.create(env, { log: silentLogSink });
  try {
    const node = await testIdentity(41);
    const logs = await FileFrameLogDirectory.open(`${root}/audit`);
    const audit = new SignedAuditLog(logs, node, { openThreadsMax: 1 });
    const threads = ["t-old-1", "t-old-2", "t-old-3", "t-new", "t-open"];
    for (const [index, thread] of threads.entries()) {
      const fields = testFields(node.did, { thread, lamport: index + 1 });
      await audit.append(await signEnvelope(fields, node), "in");
    }
    for (const thread of ["t-old-1", "t-old-2", "t-old-3", "t-open"]) {
      await age(logs.pathOf(auditLogName(thread)), 2 * DAY_MS);
    }
    const cas = await FileContentStore.open(`${root}/cas`);
    const oldBlock = await cas.put(new TextEncoder().encode("an old artifact"));
    const newBlock = await cas.put(new TextEncoder().encode("a new artifact"));
    await age(cas.pathOf(oldBlock), 2 * DAY_MS);

    const stats: RetentionStats = { examined: 0, removed: 0, passes: 0, failures: 0 };
    system.spawn(() =>
      retentionSweeper({
        retentionMs: DAY_MS,
        targets: [{ name: "audit", store: audit }, { name: "cas", store: cas }],
        budget: 2,
        stepMs: 1,
        restMs: 60_000,
        stats,
      })
    );
    for (let wait = 0; wait < 500 && stats.passes === 0; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(stats.passes, 1);
    assert.equal(stats.failures, 0);
    assert.equal(stats.removed, 4, "three thread logs and one artifact");
    assert.ok(stats.examined >= 5 + 2, `examined ${stats.examined}`);
    assert.deepEqual(await logs.names(), ["t-new", "t-open"], "the open log stays, however old");
    assert.equal(await cas.has(oldBlock), false);
    assert.equal(await cas.has(newBlock), true);
    await audit.close();
  } finally {
    await system.terminate();
    await env.close();
    await Deno.remove(root, { recursive: true });
  }
});

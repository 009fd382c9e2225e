// Proves an etcd decide log's call deadline fails a call etcd does not answer (a frozen member), but not one etcd answered while this process was too busy to read the answer in time.
import assert from "node:assert/strict";
import { busyFor } from "../../_busy.ts";
import { EtcdDecideLog } from "../../../runtime/store/etcd_decide_log.ts";
import { startEtcd } from "../../../tools/etcd_server.ts";

Deno.test("an etcd call answered while the process was busy past its deadline succeeds; an unanswered one fails", async () => {
  const cluster = await startEtcd(1);
  const log = await EtcdDecideLog.connect({ endpoints: cluster.endpoints, callTimeoutMs: 1_000 });
  try {
    await log.getLease("warm-up");
    const outcomes = Array.from(
      { length: 20 },
      (_, index) => log.getLease(`task-${index}`).then(() => "ok", (error) => error.code),
    );
    busyFor(1_500);
    assert.deepEqual(await Promise.all(outcomes), Array(20).fill("ok"));

    const member = cluster.members[0].process.pid;
    Deno.kill(member, "SIGSTOP");
    try {
      const startedMs = performance.now();
      await assert.rejects(
        log.getLease("frozen"),
        (error: { code?: string }) => error.code === "E_ETCD",
      );
      const tookMs = performance.now() - startedMs;
      assert.ok(tookMs >= 1_000, `failed after ${tookMs} ms, before its timeout`);
    } finally {
      Deno.kill(member, "SIGCONT");
    }
  } finally {
    await log.close();
    await cluster.stop();
  }
});

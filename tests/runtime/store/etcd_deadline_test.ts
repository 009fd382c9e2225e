// Proves an etcd decide log's call deadline fails a call nobody answers (a server that never replies), but not one etcd answered while this process was too busy to read the answer in time.
import assert from "node:assert/strict";
import { busyFor } from "../../_busy.ts";
import { EtcdDecideLog } from "../../../runtime/store/etcd_decide_log.ts";
import { startEtcd } from "../../../tools/etcd_server.ts";

Deno.test("an etcd call answered while the process was busy past its deadline succeeds", async () => {
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
  } finally {
    await log.close();
    await cluster.stop();
  }
});

Deno.test("an etcd call nobody answers still fails at its deadline", async () => {
  // A server that takes the connection and never says a word: the call waits for nothing.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  const port = (silent.addr as Deno.NetAddr).port;
  const startedMs = performance.now();
  try {
    await assert.rejects(
      EtcdDecideLog.connect({ endpoints: [`http://127.0.0.1:${port}`], callTimeoutMs: 1_000 }),
      (error: { code?: string }) => error.code === "E_ETCD",
    );
    const tookMs = performance.now() - startedMs;
    assert.ok(tookMs >= 1_000, `failed after ${tookMs} ms, before its timeout`);
    assert.ok(held.length > 0, "the call reached the server");
  } finally {
    silent.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});

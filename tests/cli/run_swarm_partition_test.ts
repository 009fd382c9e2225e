// Proves a swarm of 5 node processes split into two groups that cannot reach each other, with deciders on both sides claiming the same buckets, never decides a NEED twice through etcd (CP), and finishes every NEED once healed.
import assert from "node:assert/strict";
import { ProcessSwarm } from "../../cli/_process_swarm.ts";
import { SWARM_ROLES } from "../../cli/_swarm_members.ts";
import { EtcdDecideLog } from "../../runtime/store/etcd_decide_log.ts";
import { startEtcd } from "../../tools/etcd_server.ts";
import {
  assertDecidedAndFinalisedOnce,
  describeThreads,
  distinctIds,
  postNeeds,
  readAuditLogs,
  untilEnded,
  untilHealth,
} from "./_swarm_checks.ts";

/**
 * Side A is nodes 0-2, side B nodes 3-4. Node 0 and node 3 both decide the
 * even buckets, node 1 and node 4 the odd ones: each side believes it owns
 * every bucket, and only the fence tokens in etcd say which decider may write.
 */
const LAYOUT = ["0/2", "1/2", "none", "0/2", "1/2"].map((buckets) => ({
  roles: SWARM_ROLES,
  buckets,
}));
const SIDE_A = [0, 1, 2];
const SIDE_B = [3, 4];

Deno.test({
  name:
    "CP: two partitioned groups with rival deciders never decide a NEED twice, and finish every NEED after the heal",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const etcd = await startEtcd(1);
    const dataDir = await Deno.makeTempDir({ prefix: "can-swarm-partition-" });
    let swarm: ProcessSwarm | undefined;
    try {
      swarm = await ProcessSwarm.start({
        layout: LAYOUT,
        dataDir,
        etcdEndpoints: etcd.endpoints,
        challengeWindowMs: 300,
        admin: true,
      });
      await assertAdminRefusesBadInput(swarm);
      await swarm.partition([SIDE_A, SIDE_B]);
      for (const index of [...SIDE_A, ...SIDE_B]) {
        const side = SIDE_A.includes(index) ? SIDE_A : SIDE_B;
        await untilHealth(swarm, index, (health) => health.peers === side.length - 1, {
          timeoutMs: 10_000,
          detail: (health) => health.knownNodes,
        });
      }
      const posted = await postNeeds(swarm, 30, "partition");
      const fromB = [...posted].filter(([, node]) => SIDE_B.includes(node)).map(([id]) => id);
      assert.ok(fromB.length > 0 && fromB.length < 30, "both sides take NEEDs");
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const seenByA = await fetch(`${swarm.url(0)}/needs/${fromB[0]}`);
      assert.equal(seenByA.status, 404, "side A never heard of side B's NEEDs while split");
      await seenByA.body?.cancel();

      await swarm.heal();
      const outcomes = await untilEnded(swarm, posted, 60_000);
      const notFinal = [...outcomes.values()].filter((outcome) => outcome.status !== "final");
      if (notFinal.length > 0) console.error(await describeThreads(swarm, notFinal.slice(0, 3)));
      assert.deepEqual(notFinal, [], "every NEED is FINAL after the heal");
      await new Promise((resolve) => setTimeout(resolve, 500));

      const healths = await Promise.all(swarm.nodeIds.map((_, index) => swarm!.health(index)));
      const decider = (index: number) =>
        healths[index].decider as { decided: number; conflicts: number; failures: number };
      const total = (key: "decided" | "conflicts" | "failures") =>
        healths.reduce((sum, _, index) => sum + decider(index)[key], 0);
      assert.equal(total("decided"), 30, "exactly 30 decisions were written, one per NEED");
      assert.ok(
        total("conflicts") + total("failures") > 0,
        "the rival deciders tried too, and were refused (a decision existed, or a stale fence)",
      );
      const log = await EtcdDecideLog.connect({ endpoints: etcd.endpoints });
      const records = new Map<string, { proposalId: string; decider: string }>();
      try {
        for (const needId of posted.keys()) {
          const record = await log.getDecide(needId);
          assert.ok(record, `${needId} is decided in etcd`);
          records.set(needId, record);
        }
      } finally {
        await log.close();
      }
      const statuses = await swarm.stop();
      swarm = undefined;
      assert.deepEqual(statuses.map((status) => status.code), [0, 0, 0, 0, 0], "clean exits");

      const audited = await readAuditLogs(dataDir, LAYOUT.map((_, index) => `node-${index}`));
      assertDecidedAndFinalisedOnce(audited, [...posted.keys()]);
      const decides = distinctIds(audited, "DECIDE", (entry) => entry.thread);
      for (const needId of posted.keys()) {
        assert.equal(decides.get(needId)?.size, 1, `one DECIDE envelope for ${needId}`);
      }
    } finally {
      await swarm?.stop();
      await etcd.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

/** The partition route answers bad bodies and unknown nodes with typed errors, blocking nothing. */
async function assertAdminRefusesBadInput(swarm: ProcessSwarm): Promise<void> {
  const cases: [unknown, number, string][] = [
    [{ block: "node-3" }, 400, "E_HTTP_FIELD"],
    [{ block: [3] }, 400, "E_HTTP_FIELD"],
    [{ block: ["node-9"] }, 400, "E_PARTITION_UNKNOWN_NODE"],
  ];
  for (const [body, status, code] of cases) {
    const response = await fetch(`${swarm.url(0)}/admin/partition`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    assert.equal(response.status, status, JSON.stringify(body));
    assert.equal((await response.json()).error?.code, code, JSON.stringify(body));
  }
  const state = await (await fetch(`${swarm.url(0)}/admin/partition`)).json();
  assert.deepEqual(state.blocked, [], "nothing was blocked");
}

// Proves 5 `run node` processes on libp2p with a real etcd take 100 NEEDs to FINAL exactly once, a verifier process killed with SIGKILL mid-run and restarted loses and duplicates no decision, and a swarm stopped with `keep` saves each node's output.
import assert from "node:assert/strict";
import { ProcessSwarm } from "../../cli/_process_swarm.ts";
import { SWARM_ROLES } from "../../cli/_swarm_members.ts";
import { EtcdDecideLog } from "../../runtime/store/etcd_decide_log.ts";
import { startEtcd } from "../../tools/etcd_server.ts";
import {
  assertDecidedAndFinalisedOnce,
  describeThreads,
  postNeeds,
  readAuditLogs,
  recordsPerNode,
  untilEnded,
} from "./_swarm_checks.ts";

/** Four full nodes deciding a quarter of the buckets each, and one verifier (and planner) process. */
const LAYOUT = [
  ...Array.from({ length: 4 }, (_, index) => ({ roles: SWARM_ROLES, buckets: `${index}/4` })),
  { roles: ["planner", "verifier"] as const, buckets: "none" },
];
const VERIFIER = 4;

Deno.test({
  name:
    "5 node processes take 100 NEEDs to FINAL exactly once through etcd, across a verifier's SIGKILL and restart",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const etcd = await startEtcd(1);
    const dataDir = await Deno.makeTempDir({ prefix: "can-swarm-e2e-procs-" });
    let swarm: ProcessSwarm | undefined;
    try {
      swarm = await ProcessSwarm.start({
        layout: LAYOUT,
        dataDir,
        etcdEndpoints: etcd.endpoints,
        challengeWindowMs: 300,
      });
      const posted = await postNeeds(swarm, 100, "e2e");
      // Kill the verifier once a fifth of the NEEDs are final, while the rest are in flight.
      const finalBeforeKill = await untilFinalCount(swarm, posted, 20);
      assert.ok(finalBeforeKill < 100, "the kill happens mid-run");
      const killed = await swarm.kill(VERIFIER);
      assert.equal(killed.signal, "SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 500));
      await swarm.restart(VERIFIER);
      const outcomes = await untilEnded(swarm, posted, 60_000);
      const notFinal = [...outcomes.values()].filter((outcome) => outcome.status !== "final");
      if (notFinal.length > 0) console.error(await describeThreads(swarm, notFinal.slice(0, 3)));
      assert.deepEqual(notFinal, [], "every NEED is FINAL");
      // Every surviving node reaches the same end (it saw every NEED's FINALIZE).
      const survivors = LAYOUT.map((_, index) => index).filter((index) => index !== VERIFIER);
      await untilEveryNodeFinal(swarm, survivors, 100);

      const healths = await Promise.all(swarm.nodeIds.map((_, index) => swarm!.health(index)));
      const decided = healths.reduce(
        (sum, health) => sum + (health.decider as { decided: number }).decided,
        0,
      );
      const conflicts = healths.reduce(
        (sum, health) => sum + (health.decider as { conflicts: number }).conflicts,
        0,
      );
      assert.equal(decided, 100, "the deciders wrote 100 decisions");
      assert.equal(conflicts, 0, "and met no conflicting one");
      const restarted = healths[VERIFIER];
      assert.equal((restarted.knownNodes as string[]).length, 5, "the restarted verifier is back");
      assert.equal(
        restarted.peers,
        4,
        `and connected to every node: ${JSON.stringify(restarted.peerScores)}`,
      );

      const log = await EtcdDecideLog.connect({ endpoints: etcd.endpoints });
      try {
        for (const needId of posted.keys()) {
          const record = await log.getDecide(needId);
          assert.equal(record?.needId, needId, `${needId} has its decision in etcd`);
        }
      } finally {
        await log.close();
      }
      const statuses = await swarm.stop({ keep: true });
      swarm = undefined;
      assert.deepEqual(statuses.map((status) => status.code), [0, 0, 0, 0, 0], "clean exits");
      const output = await Deno.readTextFile(`${dataDir}/node-0.log`);
      assert.match(output, /"event":"ready"/, "a kept swarm saves each node's output");

      const audited = await readAuditLogs(dataDir, LAYOUT.map((_, index) => `node-${index}`));
      assertDecidedAndFinalisedOnce(audited, [...posted.keys()]);
      const survived = audited.filter((entry) => entry.node !== `node-${VERIFIER}`);
      const decidesPerNode = recordsPerNode(survived, "DECIDE", (entry) => entry.thread);
      assert.equal(decidesPerNode.size, 4 * 100, "every surviving node logged every DECIDE");
      assert.ok([...decidesPerNode.values()].every((count) => count === 1), "each once");
      const finalizesPerNode = recordsPerNode(survived, "FINALIZE", (entry) => entry.taskId!);
      assert.ok(
        [...finalizesPerNode.values()].every((count) => count === 1),
        "no node logged a FINALIZE twice",
      );
    } finally {
      await swarm?.stop();
      await etcd.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

/** Waits until at least `count` of the posted NEEDs are final; resolves with how many are. */
async function untilFinalCount(
  swarm: ProcessSwarm,
  posted: ReadonlyMap<string, number>,
  count: number,
): Promise<number> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    let final = 0;
    for (const node of new Set(posted.values())) {
      const list = await swarm.needs(node);
      final += list.filter((status) => posted.has(status.needId) && status.status === "final")
        .length;
    }
    if (final >= count) return final;
    if (performance.now() > deadline) throw new Error(`only ${final} NEEDs final in time`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits (20 s at most) until each of the nodes `indexes` has seen `count` NEEDs become final. */
async function untilEveryNodeFinal(
  swarm: ProcessSwarm,
  indexes: readonly number[],
  count: number,
): Promise<void> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    const healths = await Promise.all(indexes.map((index) => swarm.health(index)));
    const finals = healths.map((health) => (health.stats as { finalNeeds: number }).finalNeeds);
    if (finals.every((final) => final >= count)) return;
    if (performance.now() > deadline) {
      const detail = healths.map((health, at) => ({
        node: indexes[at],
        finalNeeds: finals[at],
        rejected: (health.stats as { rejected: unknown }).rejected,
        parked: (health.stats as { parked: number }).parked,
        syncRequests: health.syncRequests,
        transport: health.transport,
      }));
      throw new Error(`not every node saw ${count} NEEDs final: ${JSON.stringify(detail)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// Proves the decider's retention sweep forgets, once a period, every bucket's decide-log records and the decider's kept records whose time is up, and nothing sooner; sweeps a bucket with more due than one call forgets until it is done; goes on past a log that fails; and, end to end, a NEED's decision leaves the decide log once its deadline plus the retention margin has passed.
import assert from "node:assert/strict";
import { LocalSwarm } from "../../cli/local_swarm.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import { bucketOf, DECIDE_BUCKETS, type DecideLog } from "../../runtime/store/decide_log.ts";
import { retainedSets } from "../../runtime/store/retention.ts";
import { swarmParams } from "../../protocols/params.ts";
import {
  type RetentionSweepMessage,
  scheduleSweep,
  sweep,
  SWEEP_STEP_LIMIT,
} from "../../actors/_retention_sweep.ts";
import { KEPT_RECORDS_INDEX } from "../../actors/_finalizer.ts";
import { decideRecord } from "../runtime/store/_decide_record.ts";
import { simNode } from "../_sim_node.ts";

const SWEEP_EVERY_MS = 10_000;

/**
 * Runs a sweeping actor over `decideLog` on virtual time; `kept` records go
 * into its node's store first, due `inMs` after the start (`startMs`).
 */
async function sweeping(decideLog: DecideLog, kept: { key: string; inMs: number }[]) {
  const node = await simNode();
  let forgotten = 0;
  let startMs = 0;
  let present: (key: string) => Promise<boolean> = () => Promise.resolve(false);
  const config = {
    decideLog,
    sweepEveryMs: SWEEP_EVERY_MS,
    forgotten: (n: number) => forgotten += n,
  };
  node.system.spawn<RetentionSweepMessage>(() => ({
    preStart: async (ctx) => {
      const store = ctx.store;
      startMs = ctx.nowMs();
      present = async (key) => (await store.get(["decider", "finalized", key])) !== undefined;
      for (const { key, inMs } of kept) {
        const at = ["decider", "finalized", key];
        await store.commit({ sets: retainedSets(KEPT_RECORDS_INDEX, at, { key }, startMs + inMs) });
      }
      scheduleSweep(ctx, config);
    },
    receive: (ctx, message) => sweep(ctx, config, message),
  }), { name: "sweeper" });
  await node.advance(0);
  return {
    node,
    startMs,
    forgotten: () => forgotten,
    present: (key: string) => present(key),
  };
}

/** Decides `count` needs of `bucket` in `log`, each kept until `untilMs`; returns their ids. */
async function decideIn(log: DecideLog, bucket: number, count: number, untilMs: number) {
  const fence = await log.acquireFence(bucket, "did:a");
  const ids: string[] = [];
  for (let index = 0; ids.length < count; index++) {
    const needId = `need-${bucket}-${untilMs}-${index}`;
    if (bucketOf(needId) !== bucket) continue;
    const record = decideRecord({ needId, lamport: 1, decider: "did:a", fence: fence.token });
    await log.tryDecide({ ...record, retainUntilMs: untilMs });
    ids.push(needId);
  }
  return ids;
}

Deno.test("a sweep forgets what is due in every bucket and in the node's store, and nothing sooner", async () => {
  const log = new StoreDecideLog(new MemoryStore());
  const run = await sweeping(log, [{ key: "early", inMs: 5_000 }, { key: "late", inMs: 25_000 }]);
  const [first] = await decideIn(log, 0, 1, run.startMs + 15_000);
  const [last] = await decideIn(log, DECIDE_BUCKETS - 1, 1, run.startMs + 15_000);
  const [later] = await decideIn(log, 7, 1, run.startMs + 25_000);
  const many = await decideIn(log, 9, SWEEP_STEP_LIMIT + 3, run.startMs + 5_000);
  await run.node.advance(SWEEP_EVERY_MS + 1_000);
  assert.equal(run.forgotten(), SWEEP_STEP_LIMIT + 3 + 1, "bucket 9 whole, and one kept record");
  assert.equal(await log.getDecide(many[SWEEP_STEP_LIMIT + 2]), undefined);
  assert.equal(await run.present("early"), false);
  assert.ok(await run.present("late"));
  assert.ok(await log.getDecide(first), "not due at the first sweep");
  await run.node.advance(SWEEP_EVERY_MS);
  assert.equal(await log.getDecide(first), undefined, "the first bucket");
  assert.equal(await log.getDecide(last), undefined, "the last bucket");
  assert.ok(await log.getDecide(later));
  await run.node.advance(2 * SWEEP_EVERY_MS);
  assert.equal(await log.getDecide(later), undefined);
  assert.equal(await run.present("late"), false);
  assert.equal(run.forgotten(), SWEEP_STEP_LIMIT + 3 + 1 + 3 + 1);
});

Deno.test("a sweep goes on past buckets the log fails, and sweeps again next period", async () => {
  const log = new StoreDecideLog(new MemoryStore());
  const [due] = await decideIn(log, 200, 1, 1_000); // long before the simulation's clock starts
  const asked: number[] = [];
  const failing: DecideLog = Object.assign(Object.create(log), {
    forget: (bucket: number, cutoffMs: number, limit?: number) => {
      asked.push(bucket);
      return bucket < 100
        ? Promise.reject(new Error("log out of reach"))
        : log.forget(bucket, cutoffMs, limit);
    },
  });
  const run = await sweeping(failing, []);
  await run.node.advance(SWEEP_EVERY_MS + 1_000);
  assert.deepEqual(asked, Array.from({ length: DECIDE_BUCKETS }, (_, bucket) => bucket));
  assert.equal(await log.getDecide(due), undefined, "buckets after the failures are swept");
  await run.node.advance(SWEEP_EVERY_MS);
  assert.equal(asked.length, 2 * DECIDE_BUCKETS);
});

Deno.test("a NEED's decision leaves the decide log once its deadline and the retention margin have passed", async () => {
  const swarm = await LocalSwarm.start({
    nodes: 1,
    params: swarmParams({ challengeWindowMs: 0, needExpiryGraceMs: 200, decideRetentionMs: 1_000 }),
    consensus: "kv",
    configure: (_index, config) => ({ ...config, retentionSweepMs: 300 }),
  });
  try {
    const deadlineInMs = 3_000;
    const posted = Date.now();
    const outcome = await swarm.post({ op: "sha256", input: "kept a while", rounds: 1 }, {
      deadlineInMs,
    });
    assert.equal(outcome.status, "final");
    const record = await swarm.decideLog.getDecide(outcome.needId);
    assert.ok(record !== undefined, "decided");
    assert.ok(
      record.retainUntilMs !== undefined && record.retainUntilMs >= posted + deadlineInMs + 1_000,
    );
    while (Date.now() < posted + deadlineInMs + 1_000 + 3_000) {
      if (await swarm.decideLog.getDecide(outcome.needId) === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await swarm.decideLog.getDecide(outcome.needId), undefined);
    assert.ok(Date.now() >= record.retainUntilMs, "not before its time");
    assert.ok((swarm.deciderStats.forgotten ?? 0) >= 2, "the decision and the kept FINALIZE");
  } finally {
    await swarm.stop();
  }
});

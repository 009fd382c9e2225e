/**
 * DECIDE latency: our decide log against the raw engine beneath it, in the
 * same run. On etcd: `EtcdDecideLog.tryDecide` (epoch, fence and
 * create-revision compares in one transaction, plus the JSON record) against
 * a bare `etcd3` create-if-absent transaction. On Deno KV: `StoreDecideLog`
 * (one read round and an atomic check-and-set) against a bare atomic
 * check-and-set. Sequential calls, fresh need per call; p50/p95/p99 in ms
 * and the ratio of ours to raw. Starts its own etcd (Debian etcd-server).
 *
 * Run: `deno task bench:decide [--calls N]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Etcd3 } from "etcd3";
import { bucketOf, type DecideLog, type DecideRecord } from "../../runtime/store/decide_log.ts";
import { EtcdDecideLog } from "../../runtime/store/etcd_decide_log.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import { DenoKvStore } from "../../runtime/store/deno_kv_store.ts";
import { startEtcd } from "../etcd_server.ts";

interface Percentiles {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/**
 * Times `calls` calls of each operation, alternating between them call by
 * call, so that load from the rest of the machine falls on both alike.
 */
async function measurePair(
  calls: number,
  raw: (index: number) => Promise<unknown>,
  ours: (index: number) => Promise<unknown>,
): Promise<[Percentiles, Percentiles]> {
  for (let index = 0; index < Math.min(100, calls); index++) {
    await raw(-1 - index); // warm up
    await ours(-1 - index);
  }
  const samples: [number[], number[]] = [[], []];
  for (let index = 0; index < calls; index++) {
    for (const [side, operation] of [[0, raw], [1, ours]] as const) {
      const started = performance.now();
      await operation(index);
      samples[side].push(performance.now() - started);
    }
  }
  return [percentiles(samples[0]), percentiles(samples[1])];
}

function percentiles(samples: number[]): Percentiles {
  samples.sort((left, right) => left - right);
  const at = (fraction: number) =>
    Number(samples[Math.min(samples.length - 1, Math.floor(samples.length * fraction))].toFixed(3));
  return { p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}

/** A tryDecide per call on a fresh need, with a fence acquired once per bucket beforehand. */
async function decideCalls(
  log: DecideLog,
  calls: number,
  prefix: string,
): Promise<(index: number) => Promise<unknown>> {
  const fences = new Map<number, number>();
  const records: DecideRecord[] = [];
  for (let index = -100; index < calls; index++) {
    const needId = `${prefix}-${index}`;
    const bucket = bucketOf(needId);
    if (!fences.has(bucket)) fences.set(bucket, (await log.acquireFence(bucket, "bench")).token);
    records.push({
      needId,
      proposalId: "p",
      epoch: 0,
      lamport: 1,
      kPlan: 1,
      decider: "bench",
      fence: fences.get(bucket) as number,
      decidedAtMs: 0,
    });
  }
  return (index) => log.tryDecide(records[index < 0 ? -1 - index : index + 100]);
}

const ratio = (ours: Percentiles, raw: Percentiles) => ({
  p50: Number((ours.p50Ms / raw.p50Ms).toFixed(2)),
  p95: Number((ours.p95Ms / raw.p95Ms).toFixed(2)),
  p99: Number((ours.p99Ms / raw.p99Ms).toFixed(2)),
});

async function etcdFigures(calls: number) {
  const cluster = await startEtcd(1);
  const raw = new Etcd3({ hosts: cluster.endpoints });
  const log = await EtcdDecideLog.connect({ endpoints: cluster.endpoints, prefix: "/bench" });
  try {
    const [rawTxn, ours] = await measurePair(
      calls,
      (index) => {
        const key = `/raw/${index}`;
        return raw.if(key, "Create", "==", 0).then(raw.put(key).value("x")).commit();
      },
      await decideCalls(log, calls, `etcd-${crypto.randomUUID()}`),
    );
    return { rawTransaction: rawTxn, tryDecide: ours, overhead: ratio(ours, rawTxn) };
  } finally {
    raw.close();
    await log.close();
    await cluster.stop();
  }
}

async function kvFigures(calls: number) {
  const directory = await Deno.makeTempDir({ prefix: "can-swarm-decide-bench-" });
  const kv = await Deno.openKv(`${directory}/raw.kv`);
  const log = new StoreDecideLog(await DenoKvStore.open(`${directory}/decide.kv`), true);
  try {
    const [rawCommit, ours] = await measurePair(
      calls,
      (index) => {
        const key = ["raw", index];
        return kv.atomic().check({ key, versionstamp: null }).set(key, { x: 1 }).commit();
      },
      await decideCalls(log, calls, `kv-${crypto.randomUUID()}`),
    );
    return { rawAtomicCommit: rawCommit, tryDecide: ours, overhead: ratio(ours, rawCommit) };
  } finally {
    kv.close();
    await log.close();
    await Deno.remove(directory, { recursive: true });
  }
}

/** Runs the DECIDE benchmarks. */
export async function runDecideBench(calls: number): Promise<Record<string, unknown>> {
  return {
    benchmark: "decide",
    calls,
    etcd: await etcdFigures(calls),
    denoKv: await kvFigures(calls),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { calls: { type: "string", default: "2000" } },
  });
  console.log(JSON.stringify(await runDecideBench(Number(values.calls)), null, 2));
}

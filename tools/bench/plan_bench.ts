/**
 * Plan-store benchmark: op append throughput against raw Automerge `change`
 * calls writing the same bytes to the same document layout in the same run
 * (the ratio is the store's overhead: validation, authoring checks, views),
 * sync of 10,000 ops between two replicas against raw Automerge sync of the
 * same document, and document size per op. Prints one JSON document.
 *
 * Run: `deno task bench:plan` (or `deno run --allow-read --allow-env tools/bench/plan_bench.ts --ops 10000`).
 *
 * @module
 */

import * as Automerge from "@automerge/automerge";
import { parseArgs } from "node:util";
import { encodePlanOp, parsePlanOp, type PlanOp, planOpId } from "../../protocols/plan/op.ts";
import { PlanStore } from "../../protocols/plan/plan_store.ts";
import { type OutgoingSync, PlanSyncPeers } from "../../protocols/plan/plan_sync.ts";
import { BUCKET_COUNT, bucketOf, type PlanDocShape } from "../../protocols/plan/thread_doc.ts";
import { BlobLogs } from "../../runtime/store/blob_log.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";

const THREAD = "bench";

/** A valid authoring sequence: per task ADD_TASK, LINK from the previous, REQUIRES, ANNOTATE, STATE. */
function workload(count: number): PlanOp[] {
  const ops: PlanOp[] = [];
  for (let task = 0; ops.length < count; task++) {
    const head = { thread: THREAD, actor: "did:key:z6MkBench", lamport: task + 1 };
    const id = `task-${task}`;
    const body: Record<string, unknown>[] = [
      { kind: "ADD_TASK", task: id, title: `Task ${task}` },
      task > 0 ? { kind: "LINK", from: `task-${task - 1}`, to: id } : undefined,
      { kind: "REQUIRES", task: id, key: `input-${task}` },
      { kind: "ANNOTATE", task: id, key: "cost", value: task % 97 },
      { kind: "STATE", task: id, state: "DECIDED" },
    ].filter((item) => item !== undefined) as Record<string, unknown>[];
    body.forEach((item, index) => ops.push(parsePlanOp({ ...head, ...item, index })));
  }
  return ops.slice(0, count);
}

function rawDoc(): Automerge.Doc<PlanDocShape> {
  return Automerge.change(
    Automerge.init<PlanDocShape>({ actor: "00000000000000000000000000000002" }),
    { time: 0 },
    (doc) => {
      doc.v = 1;
      doc.thread = new Automerge.ImmutableString(THREAD);
      doc.ops = {};
      for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
        doc.ops[bucket.toString(16).padStart(2, "0")] = {};
      }
    },
  );
}

/** Raw Automerge: one `change` per op, same key, same bytes, same layout. */
function rawAppend(ops: readonly PlanOp[]): { ms: number; doc: Automerge.Doc<PlanDocShape> } {
  const prepared = ops.map((op) => {
    const id = planOpId(op);
    return { bucket: bucketOf(id), id, text: encodePlanOp(op) };
  });
  let doc = rawDoc();
  const started = performance.now();
  for (const { bucket, id, text } of prepared) {
    doc = Automerge.change(doc, { time: 0 }, (draft) => {
      draft.ops[bucket][id] = new Automerge.ImmutableString(text);
    });
  }
  return { ms: performance.now() - started, doc };
}

async function storeAppend(
  ops: readonly PlanOp[],
  batch: number,
  persisted: boolean,
): Promise<{ ms: number; store: PlanStore }> {
  const store = await PlanStore.open({
    actorId: "0b",
    persistence: persisted ? new BlobLogs(new MemoryStore(), "plan") : undefined,
  });
  const inputs = ops.map((op) => ({ ...op }));
  const started = performance.now();
  for (let start = 0; start < inputs.length; start += batch) {
    await store.appendOps(inputs.slice(start, start + batch));
  }
  return { ms: performance.now() - started, store };
}

async function storeSync(source: PlanStore) {
  const target = await PlanStore.open({ actorId: "0c" });
  const peers: Record<string, PlanSyncPeers> = {
    source: new PlanSyncPeers(source),
    target: new PlanSyncPeers(target),
  };
  peers.source.addPeer("target");
  peers.target.addPeer("source");
  let queue: (OutgoingSync & { from: string })[] = peers.source.tick().map((message) => ({
    ...message,
    from: "source",
  }));
  let bytes = 0;
  let messages = 0;
  const started = performance.now();
  while (queue.length > 0) {
    const next: typeof queue = [];
    for (const message of queue) {
      bytes += message.data.length;
      messages++;
      const receipt = await peers[message.peer].receive(message.from, message.thread, message.data);
      next.push(...receipt.replies.map((reply) => ({ ...reply, from: message.peer })));
    }
    queue = next;
  }
  const ms = performance.now() - started;
  if (JSON.stringify(target.heads(THREAD)) !== JSON.stringify(source.heads(THREAD))) {
    throw new Error("Benchmark sync did not converge; its figures would be wrong");
  }
  return { ms, bytes, messages, opsReceived: peers.target.stats.opsReceived };
}

function rawSync(doc: Automerge.Doc<PlanDocShape>) {
  let source = Automerge.clone(doc);
  let target = Automerge.init<PlanDocShape>({ actor: "0d" });
  let sourceState = Automerge.initSyncState();
  let targetState = Automerge.initSyncState();
  let bytes = 0;
  let messages = 0;
  const started = performance.now();
  for (;;) {
    let toTarget: Uint8Array | null;
    let toSource: Uint8Array | null;
    [sourceState, toTarget] = Automerge.generateSyncMessage(source, sourceState);
    if (toTarget) {
      bytes += toTarget.length;
      messages++;
      [target, targetState] = Automerge.receiveSyncMessage(target, targetState, toTarget);
    }
    [targetState, toSource] = Automerge.generateSyncMessage(target, targetState);
    if (toSource) {
      bytes += toSource.length;
      messages++;
      [source, sourceState] = Automerge.receiveSyncMessage(source, sourceState, toSource);
    }
    if (!toTarget && !toSource) break;
  }
  return { ms: performance.now() - started, bytes, messages };
}

function best<T extends { ms: number }>(runs: T[]): T {
  return runs.reduce((left, right) => (right.ms < left.ms ? right : left));
}

/** Runs the benchmark and returns its report. */
export async function runPlanBench(options: { ops: number; repetitions: number }) {
  const ops = workload(options.ops);
  // Warm the JIT and the wasm module on both paths before anything is timed.
  const warmUp = ops.slice(0, Math.min(2_000, ops.length));
  rawAppend(warmUp);
  await storeAppend(warmUp, 1, false);
  const raw: ReturnType<typeof rawAppend>[] = [];
  const single: Awaited<ReturnType<typeof storeAppend>>[] = [];
  const patched: Awaited<ReturnType<typeof storeAppend>>[] = [];
  const persisted: Awaited<ReturnType<typeof storeAppend>>[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    raw.push(rawAppend(ops));
    single.push(await storeAppend(ops, 1, false));
    patched.push(await storeAppend(ops, 5, false));
    persisted.push(await storeAppend(ops, 1, true));
  }
  const rawBest = best(raw);
  const singleBest = best(single);
  const perSecond = (ms: number) => Math.round(ops.length / (ms / 1000));
  const syncRuns = [];
  const rawSyncRuns = [];
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    syncRuns.push(await storeSync(singleBest.store));
    rawSyncRuns.push(rawSync(rawBest.doc));
  }
  const sync = best(syncRuns);
  const syncRaw = best(rawSyncRuns);
  const saved = singleBest.store.save(THREAD).length;
  return {
    benchmark: "plan",
    ops: ops.length,
    repetitions: options.repetitions,
    append: {
      rawAutomergeChangeOpsPerSec: perSecond(rawBest.ms),
      appendOpOpsPerSec: perSecond(singleBest.ms),
      overheadRatio: Number((singleBest.ms / rawBest.ms).toFixed(2)),
      appendOpsPatchOf5OpsPerSec: perSecond(best(patched).ms),
      appendOpPersistedOpsPerSec: perSecond(best(persisted).ms),
    },
    sync: {
      ops: sync.opsReceived,
      bytesSent: sync.bytes,
      messages: sync.messages,
      wallMs: Math.round(sync.ms),
      rawAutomergeBytes: syncRaw.bytes,
      rawAutomergeWallMs: Math.round(syncRaw.ms),
      overheadRatio: Number((sync.ms / syncRaw.ms).toFixed(2)),
    },
    document: {
      savedBytes: saved,
      bytesPerOp: Number((saved / ops.length).toFixed(2)),
      rawAutomergeBytesPerOp: Number((Automerge.save(rawBest.doc).length / ops.length).toFixed(2)),
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { ops: { type: "string" }, repetitions: { type: "string" } },
    strict: true,
  });
  const count = Number(values.ops ?? 10_000);
  const repetitions = Number(values.repetitions ?? 2);
  if (!Number.isInteger(count) || count < 10 || !Number.isInteger(repetitions) || repetitions < 1) {
    console.error("error: --ops must be an integer >= 10 and --repetitions >= 1");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await runPlanBench({ ops: count, repetitions }), null, 2));
}

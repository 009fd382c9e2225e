// Proves the decider's lease monitor reopens a task left CLAIMED under an expired lease, whether the decide log still holds that lease or no longer does, asks its peers for the thread first and keeps a lease whose COMMIT that brings, keeps a lease that carries a COMMIT while it asks for it again and releases it by force only after its waits, leaves a lease its holder still renews alone, and drops the check of a task that became final.
import assert from "node:assert/strict";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import type { Effect, TaskState, ThreadState } from "../../protocols/lifecycle/state.ts";
import {
  checkLease,
  forgetFinal,
  leaseCheckAfter,
  type LeaseMonitorMessage,
} from "../../actors/_lease_monitor.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import { simNode } from "../_sim_node.ts";

const HOLDER = "did:key:z6MkLeaseHolder";
const LEASE = "lease-1";

/** A thread whose one task is CLAIMED under LEASE until `expiresAtMs`. */
function claimedThread(expiresAtMs: number): ThreadState {
  const task = {
    taskId: "task-1",
    status: "CLAIMED",
    lease: { leaseId: LEASE, holder: HOLDER, expiresAtMs },
    commits: new Map(),
  } as unknown as TaskState;
  return { needId: "need-1", tasks: new Map([[task.taskId, task]]) } as unknown as ThreadState;
}

/**
 * Runs a lease monitor over `decideLog` for a lease expiring at 10 s; returns
 * the RELEASEs it announced. With `finalAtMs`, the task becomes FINAL (its
 * result committed under the lease) then, and the monitor hears so. With
 * `committedAtSync`, that sync of the thread (1 for the first) brings the
 * holder's COMMIT.
 */
async function monitor(
  decideLog: StoreDecideLog,
  watchMs: number,
  finalAtMs?: number,
  committedAtSync?: number,
) {
  const node = await simNode();
  const releases: string[] = [];
  const synced: string[] = [];
  const threads = new Map<string, ThreadState>([["need-1", claimedThread(10_000)]]);
  const core = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => {
      if (message.type === "sync-thread") {
        synced.push(message.thread);
        // A peer had the COMMIT this node missed: the sync brings it.
        if (synced.length === committedAtSync) threads.set("need-1", committedThread());
      }
      if (message.type !== "emit") return;
      releases.push((message.payload as { leaseId: string }).leaseId);
      message.replyTo?.tell({ type: "emitted", id: "x", kind: message.kind, thread: "need-1" });
    },
  }), { name: "core" });
  const config = { core, decideLog, leaseGraceMs: 1_000 };
  let checks = 0;
  node.system.spawn<LeaseMonitorMessage | FinalNotice | "start">(() => ({
    receive: (ctx, message) => {
      if (message !== "start" && message.type === "task-final") {
        return forgetFinal(ctx, threads, message);
      }
      if (message !== "start") {
        if (message.type === "check-lease") checks++;
        return checkLease(ctx, config, threads, message);
      }
      leaseCheckAfter(ctx, config, {
        type: "lease-granted",
        needId: "need-1",
        taskId: "task-1",
        holder: HOLDER,
        leaseId: LEASE,
        expiresAtMs: 10_000,
      });
    },
    preStart: (ctx) => void ctx.self.tell("start"),
  }), { name: "monitor" });
  if (finalAtMs !== undefined) {
    await node.advance(finalAtMs);
    const task = threads.get("need-1")?.tasks.get("task-1") as TaskState;
    const commits = new Map([["commit-1", { leaseId: LEASE }]]);
    const final = { ...task, status: "FINAL", lease: undefined, commits } as unknown as TaskState;
    const thread = { needId: "need-1", tasks: new Map([["task-1", final]]) };
    threads.set("need-1", thread as unknown as ThreadState);
    const monitorRef = node.system.lookup<FinalNotice>("/user/monitor");
    monitorRef?.tell({
      type: "task-final",
      needId: "need-1",
      taskId: "task-1",
      commitId: "commit-1",
    });
  }
  await node.advance(watchMs - (finalAtMs ?? 0));
  return { releases, checks, synced };
}

/** The thread once the holder's COMMIT under LEASE is in. */
function committedThread(): ThreadState {
  const task = {
    taskId: "task-1",
    status: "COMMITTED",
    commits: new Map([["commit-1", { leaseId: LEASE }]]),
  } as unknown as TaskState;
  return { needId: "need-1", tasks: new Map([[task.taskId, task]]) } as unknown as ThreadState;
}

/** What the test tells the monitor when the task became final. */
type FinalNotice = Extract<Effect, { type: "task-final" }>;

const lease = (leaseId: string) => ({
  taskId: "task-1",
  leaseId,
  holder: HOLDER,
  epoch: 0,
  grantedAtMs: 0,
  expiresAtMs: 10_000,
});

Deno.test("an expired lease the log holds is released in the log and announced", async () => {
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease(lease(LEASE));
  assert.deepEqual((await monitor(decideLog, 15_000)).releases, [LEASE]);
  assert.equal(await decideLog.getLease("task-1"), undefined);
});

Deno.test("an expired lease the log no longer holds still reopens its CLAIMED task", async () => {
  const decideLog = new StoreDecideLog(new MemoryStore());
  assert.deepEqual(
    (await monitor(decideLog, 15_000)).releases,
    [LEASE],
    "RELEASE without a log entry",
  );
});

Deno.test("a task the log leases to another worker is reopened from the thread's dead lease", async () => {
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease(lease("lease-2"));
  assert.deepEqual((await monitor(decideLog, 15_000)).releases, [LEASE]);
  assert.equal((await decideLog.getLease("task-1"))?.leaseId, "lease-2", "the other lease stays");
});

Deno.test("a task that became final drops its lease check: no timer waits out the lease", async () => {
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease(lease(LEASE));
  const watched = await monitor(decideLog, 15_000);
  assert.equal(watched.checks, 2, "at expiry plus grace, and again after asking the peers");
  // The lease ran out long ago on the simulated clock: its check is due after the 1 s grace.
  const finished = await monitor(new StoreDecideLog(new MemoryStore()), 15_000, 500);
  assert.deepEqual(
    finished,
    { releases: [], checks: 0, synced: [] },
    "final before that: the check never comes",
  );
});

Deno.test("before releasing, the monitor asks its peers for the thread: a COMMIT that brings keeps the lease", async () => {
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease(lease(LEASE));
  const released = await monitor(decideLog, 15_000);
  assert.deepEqual(released.synced, ["need-1"], "the peers were asked first");
  assert.deepEqual(released.releases, [LEASE]);
  const decideLog2 = new StoreDecideLog(new MemoryStore());
  await decideLog2.tryLease(lease(LEASE));
  const kept = await monitor(decideLog2, 15_000, undefined, 1);
  assert.deepEqual(kept, { releases: [], checks: 2, synced: ["need-1"] });
  assert.equal((await decideLog2.getLease("task-1"))?.leaseId, LEASE, "kept in the log");
});

Deno.test("a lease that carries a COMMIT is kept while the monitor asks for the COMMIT, and released by force only after its waits", async () => {
  const committed = { ...lease(LEASE), commit: "c2lnbmVkIENPTU1JVA" };
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease(committed);
  const arrived = await monitor(decideLog, 60_000, undefined, 3);
  assert.deepEqual(
    arrived,
    { releases: [], checks: 4, synced: ["need-1", "need-1", "need-1"] },
    "asked at the check (1 s: the lease ran out long ago), then at 3 and 5 s when the log refused to release it; the COMMIT came",
  );
  assert.deepEqual(await decideLog.getLease("task-1"), committed, "kept in the log");

  const neverLog = new StoreDecideLog(new MemoryStore());
  await neverLog.tryLease(committed);
  const early = await monitor(neverLog, 32_000);
  assert.deepEqual(early.releases, [], "still waiting at 32 s (2 + 4 + 8 + 16 s after 3 s)");
  assert.equal(early.synced.length, 5);
  const never = await monitor(neverLog, 34_000);
  assert.deepEqual(never.releases, [LEASE], "no COMMIT came: released by force, and announced");
  assert.equal(await neverLog.getLease("task-1"), undefined);
});

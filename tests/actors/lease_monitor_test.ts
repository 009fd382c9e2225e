// Proves the decider's lease monitor reopens a task left CLAIMED under an expired lease, whether the decide log still holds that lease or no longer does, and leaves a lease its holder still renews alone.
import assert from "node:assert/strict";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import type { TaskState, ThreadState } from "../../protocols/lifecycle/state.ts";
import {
  checkLease,
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

/** Runs a lease monitor over `decideLog` for a lease expiring at 10 s; returns the RELEASEs it announced. */
async function monitor(decideLog: StoreDecideLog, watchMs: number) {
  const node = await simNode();
  const releases: string[] = [];
  const core = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => {
      if (message.type !== "emit") return;
      releases.push((message.payload as { leaseId: string }).leaseId);
      message.replyTo?.tell({ type: "emitted", id: "x", kind: message.kind, thread: "need-1" });
    },
  }), { name: "core" });
  const threads = new Map([["need-1", claimedThread(10_000)]]);
  const config = { core, decideLog, leaseGraceMs: 1_000 };
  node.system.spawn<LeaseMonitorMessage | "start">(() => ({
    receive: (ctx, message) => {
      if (message !== "start") return checkLease(ctx, config, threads, message);
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
  await node.advance(watchMs);
  return releases;
}

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
  assert.deepEqual(await monitor(decideLog, 15_000), [LEASE]);
  assert.equal(await decideLog.getLease("task-1"), undefined);
});

Deno.test("an expired lease the log no longer holds still reopens its CLAIMED task", async () => {
  const decideLog = new StoreDecideLog(new MemoryStore());
  assert.deepEqual(await monitor(decideLog, 15_000), [LEASE], "RELEASE without a log entry");
});

Deno.test("a task the log leases to another worker is reopened from the thread's dead lease", async () => {
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease(lease("lease-2"));
  assert.deepEqual(await monitor(decideLog, 15_000), [LEASE]);
  assert.equal((await decideLog.getLease("task-1"))?.leaseId, "lease-2", "the other lease stays");
});

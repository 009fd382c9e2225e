// Proves the plan actor converges 3 replicas under loss, duplicates, reordering, a partition and a crash, and survives malformed messages.

import assert from "node:assert/strict";
import { planSync, type PlanSyncMessage } from "../../actors/plan_sync.ts";
import type { PlanStore } from "../../protocols/plan/plan_store.ts";
import type { PlanSyncPeers } from "../../protocols/plan/plan_sync.ts";
import { runPlanSyncSimulation } from "../../sim/scenarios/run_plan_sync.ts";
import { Simulation } from "../../sim/simulation.ts";
import type { ActorRef } from "../../runtime/actor.ts";

const SEED = Number(Deno.env.get("PLAN_SIM_SEED") ?? 20_260_101);

Deno.test(`three replicas with concurrent edits, drops, duplicates, a partition and a crash converge (seed ${SEED})`, async () => {
  console.log(`plan sync simulation seed ${SEED} (reproduce: PLAN_SIM_SEED=${SEED})`);
  const result = await runPlanSyncSimulation({ seed: SEED });
  const counts = Object.values(result.opsPerNode);
  assert.ok(counts[0] > 200, `the writers wrote enough to matter, got ${counts[0]} ops`);
  assert.ok(result.network.droppedByLoss > 0 && result.network.duplicated > 0);
  assert.ok(result.network.reordered > 0 && result.network.droppedByPartition > 0);
  assert.equal(result.lostAfterRestart, 0, "the restarted node recovered every acknowledged op");
  assert.ok(result.converged, `replicas diverged (seed ${SEED}): ${JSON.stringify(result.heads)}`);
  assert.deepEqual(new Set(counts).size, 1);
  const again = await runPlanSyncSimulation({ seed: SEED });
  assert.equal(again.traceHash, result.traceHash, "the same seed replays the same run");
});

Deno.test("the plan actor counts and survives malformed messages, and answers appends with typed errors", async () => {
  const simulation = new Simulation({ seed: 5 });
  let replica: { store: PlanStore; sync: PlanSyncPeers } | undefined;
  const replies: unknown[] = [];
  simulation.addNode("node-0", (system) => {
    const plan = system.spawn<PlanSyncMessage>(
      () => planSync({ peers: [], observe: (value) => (replica = value) }),
      { name: "plan" },
    );
    const inbox = system.spawn<unknown>(
      () => ({ receive: (_ctx, message) => void replies.push(message) }),
      {
        name: "inbox",
      },
    );
    const replyTo = inbox as unknown as ActorRef<never>;
    const raw = plan as unknown as ActorRef<unknown>;
    raw.tell({ type: "plan-sync", thread: "t", data: new Uint8Array([1, 2, 3]) }, replyTo);
    raw.tell({ type: "plan-sync", thread: "t", data: "not bytes" }, replyTo);
    raw.tell({ type: "who-knows" });
    raw.tell(null);
    raw.tell({ type: "plan-append", ops: [{ kind: "BOGUS" }], replyTo });
    raw.tell({
      type: "plan-append",
      ops: [{ kind: "ADD_TASK", thread: "t", actor: "a", lamport: 1, task: "x" }],
      replyTo,
    });
  });
  await simulation.run(100);
  assert.ok(replica !== undefined);
  assert.equal(replica.sync.stats.rejected.E_PLAN_SYNC_INVALID, 1);
  assert.equal(replica.sync.stats.rejected.E_PLAN_SYNC_MALFORMED, 3);
  assert.deepEqual(replies.map((reply) => (reply as { ok: boolean; code?: string }).code ?? "ok"), [
    "E_PLAN_OP_INVALID",
    "ok",
  ]);
  assert.equal(replica.store.getTask("x")?.title, "", "the actor kept working");
});

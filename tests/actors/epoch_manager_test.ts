// Proves the epoch manager advances the epoch in the decide log, tells its core, and announces it with RECONCILEs that name every orphaned NEED and dropped lease within the payload bound; a stale advance is answered with its error and announces nothing.
import assert from "node:assert/strict";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import type { Settled } from "../../runtime/env.ts";
import {
  type LeaseDrop,
  parsePayload,
  PAYLOAD_LIST_MAX,
  type PayloadOf,
} from "../../protocols/lifecycle/payloads.ts";
import { epochManager, type EpochManagerMessage } from "../../actors/epoch_manager.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import { simNode } from "../_sim_node.ts";

/** An epoch manager over `log` whose core records what it is told. */
async function rig(log: StoreDecideLog) {
  const node = await simNode();
  const told: CoreMessage[] = [];
  const core = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => void told.push(message),
  }), { name: "core" });
  const manager = node.system.spawn<EpochManagerMessage>(
    () => epochManager({ core, decideLog: log }),
    { name: "epochs" },
  );
  return { node, told, manager };
}

Deno.test("a reconcile advances the epoch and names every orphan and dropped lease, in bounded RECONCILEs", async () => {
  const log = new StoreDecideLog(new MemoryStore());
  const { node, told, manager } = await rig(log);
  const orphaned = Array.from({ length: PAYLOAD_LIST_MAX + 44 }, (_, index) => `need-${index}`);
  const leases: LeaseDrop[] = Array.from({ length: 3 }, (_, index) => ({
    needId: `need-${index}`,
    taskId: `task-${index}`,
    kept: `kept-${index}`,
    dropped: `dropped-${index}`,
  }));
  manager.tell({ type: "reconcile", orphaned, leases });
  await node.advance(10);
  assert.equal(await log.currentEpoch(), 1);
  assert.deepEqual(told[0], { type: "set-epoch", epoch: 1 });
  const payloads = told.slice(1).map((message) => {
    assert.equal(message.type === "emit" && message.kind, "RECONCILE");
    const payload = (message as { payload: PayloadOf["RECONCILE"] }).payload;
    return parsePayload("RECONCILE", payload); // each one passes a peer's validation
  });
  assert.equal(payloads.length, 2);
  for (const payload of payloads) assert.deepEqual([payload.fromEpoch, payload.toEpoch], [0, 1]);
  assert.deepEqual(payloads.flatMap((payload) => payload.orphaned), orphaned);
  assert.deepEqual(payloads[0].leases, leases);
  assert.equal(payloads[1].leases, undefined, "no empty list is sent");
});

Deno.test("a reconcile with nothing to name still announces the epoch; a failed advance announces nothing", async () => {
  const log = new StoreDecideLog(new MemoryStore());
  const { node, told, manager } = await rig(log);
  manager.tell({ type: "reconcile" });
  await node.advance(10);
  assert.deepEqual(
    told.map((message) => message.type === "emit" ? message.payload : message),
    [{ type: "set-epoch", epoch: 1 }, { fromEpoch: 0, toEpoch: 1, orphaned: [] }],
  );
  // Another node advanced first: the log refuses this advance from a stale epoch.
  const replies: Settled<number>[] = [];
  const replyTo = node.system.spawn<Settled<number>>(() => ({
    receive: (_ctx, message) => void replies.push(message),
  }), { name: "asker" });
  const advance = log.advanceEpoch.bind(log);
  log.advanceEpoch = (from) => advance(from).then(() => advance(from));
  manager.tell({ type: "reconcile", orphaned: ["need-x"], replyTo });
  await node.advance(10);
  assert.equal(replies.length, 1);
  assert.equal(replies[0].ok, false);
  assert.equal(told.length, 2, "nothing more was told to the core");
});

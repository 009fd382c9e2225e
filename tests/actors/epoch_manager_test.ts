// Proves the epoch manager advances the epoch in the decide log, tells its core, and announces it with RECONCILEs that name every orphaned NEED and dropped lease within the payload bound; an advance the log refuses as stale is answered with its error and announces nothing.
import assert from "node:assert/strict";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { DenoKvStore } from "../../runtime/store/deno_kv_store.ts";
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
  // A log that cannot advance (its Deno KV is closed) answers the error; nothing is announced.
  const store = await DenoKvStore.open(":memory:");
  const closed = await rig(new StoreDecideLog(store));
  await store.close();
  const replies: Settled<number>[] = [];
  const replyTo = closed.node.system.spawn<Settled<number>>(() => ({
    receive: (_ctx, message) => void replies.push(message),
  }), { name: "asker" });
  closed.manager.tell({ type: "reconcile", orphaned: ["need-x"], replyTo });
  for (let turn = 0; turn < 50 && replies.length === 0; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await closed.node.advance(10);
  }
  assert.deepEqual(replies.map((reply) => reply.ok), [false]);
  assert.deepEqual(closed.told, [], "nothing was told to the core");
});

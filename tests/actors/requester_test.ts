// Proves a requester whose NEED the core answers too late (a busy core) keeps it in flight while the core knows the thread and reports it final, and refuses it with E_NO_ANSWER only when the core never learns of it.
import assert from "node:assert/strict";
import type { ActorRef } from "../../runtime/actor.ts";
import { type NeedOutcome, requester, type RequesterMessage } from "../../actors/requester.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import type { ThreadState } from "../../protocols/lifecycle/state.ts";
import { simNode } from "../_sim_node.ts";

/** A requester over a core that never answers a NEED and, when `lands`, knows its thread. */
async function unansweredNeed(lands: boolean) {
  const node = await simNode();
  const outcomes: NeedOutcome[] = [];
  const ids: string[] = [];
  const core = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => {
      if (message.type !== "thread") return;
      const known = lands && ids.includes(message.needId);
      message.replyTo.tell(known ? {} as ThreadState : undefined);
    },
  }), { name: "core" });
  const probe = node.system.spawn<NeedOutcome>(() => ({
    receive: (_ctx, outcome) => void outcomes.push(outcome),
  }), { name: "probe" });
  const posted = node.system.spawn<string>(() => ({
    receive: (_ctx, needId) => void ids.push(needId),
  }), { name: "posted" });
  const role = node.system.spawn<RequesterMessage>(
    () => requester({ core, prefix: "node-0" }),
    { name: "requester" },
  );
  await node.advance(1);
  role.tell({
    type: "post",
    task: { op: "reverse", input: "hello", rounds: 1 },
    bounty: 1,
    budget: 1,
    deadlineInMs: 120_000,
    postedTo: posted,
    replyTo: probe,
  });
  const after = async (ms: number) => {
    await node.advance(ms);
    return outcomes.map((outcome) => `${outcome.status}${outcome.code ? ` ${outcome.code}` : ""}`);
  };
  return { after, role: role as ActorRef<unknown>, ids };
}

Deno.test("a NEED the core answers too late stays in flight while the core knows it", async () => {
  const { after, role, ids } = await unansweredNeed(true);
  assert.deepEqual(await after(60_000), [], "not refused: the NEED is on its way");
  role.tell({ type: "effect", effect: { type: "need-final", needId: ids[0] }, thread: {} });
  assert.deepEqual(await after(10), ["final"]);
});

Deno.test("a NEED the core never answers nor knows is refused with E_NO_ANSWER", async () => {
  const { after } = await unansweredNeed(false);
  assert.deepEqual(await after(10_000), [], "still looking for it");
  assert.deepEqual(await after(60_000), ["refused E_NO_ANSWER"]);
});

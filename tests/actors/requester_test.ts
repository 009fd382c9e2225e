// Proves a requester whose NEED the core answers too late (a busy core) keeps it in flight while the core knows the thread and reports it final, refuses it with E_NO_ANSWER only when the core never learns of it, lets at most openMax NEEDs out at once, the rest in order as earlier ones end, and lists every recent end however many are in flight.
import assert from "node:assert/strict";
import type { ActorRef } from "../../runtime/actor.ts";
import {
  type NeedOutcome,
  type NeedStatus,
  requester,
  type RequesterMessage,
} from "../../actors/requester.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import type { ThreadState } from "../../protocols/lifecycle/state.ts";
import { simNode, type SimNodeFixture } from "../_sim_node.ts";

/** An actor that keeps every message it gets. */
function collector<T>(node: SimNodeFixture, name: string): { ref: ActorRef<T>; items: T[] } {
  const items: T[] = [];
  const ref = node.system.spawn<T>(() => ({ receive: (_ctx, item) => void items.push(item) }), {
    name,
  });
  return { ref, items };
}

/** A requester over a core that never answers a NEED and, when `lands`, knows its thread. */
async function unansweredNeed(lands: boolean) {
  const node = await simNode();
  const { ref: posted, items: ids } = collector<string>(node, "posted");
  const core = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => {
      if (message.type !== "thread") return;
      const known = lands && ids.includes(message.needId);
      message.replyTo.tell(known ? {} as ThreadState : undefined);
    },
  }), { name: "core" });
  const { ref: probe, items: outcomes } = collector<NeedOutcome>(node, "probe");
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

/** A requester with `openMax` over a core that accepts every NEED; returns what went out and what ended. */
async function admission(openMax: number) {
  const node = await simNode();
  const emitted: string[] = [];
  const core = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => {
      if (message.type !== "emit") return;
      emitted.push(message.thread);
      message.replyTo?.tell({ type: "emitted", id: "x", kind: "NEED", thread: message.thread });
    },
  }), { name: "core" });
  const { ref: probe, items: outcomes } = collector<NeedOutcome>(node, "probe");
  const role = node.system.spawn<RequesterMessage>(
    () => requester({ core, prefix: "node-0", openMax }),
    { name: "requester" },
  );
  await node.advance(1);
  const post = (deadlineInMs: number) =>
    role.tell({
      type: "post",
      task: { op: "reverse", input: "hello", rounds: 1 },
      bounty: 1,
      budget: 1,
      deadlineInMs,
      replyTo: probe,
    });
  const end = (needId: string) =>
    (role as ActorRef<unknown>).tell({
      type: "effect",
      effect: { type: "need-final", needId },
      thread: {},
    });
  return { node, emitted, outcomes, post, end, role };
}

Deno.test("beyond openMax NEEDs wait in line and go out, in order, as earlier ones end", async () => {
  const { node, emitted, outcomes, post, end } = await admission(2);
  for (let index = 0; index < 5; index++) post(120_000);
  await node.advance(10);
  assert.equal(emitted.length, 2, "two open at once");
  end(emitted[1]);
  await node.advance(10);
  assert.equal(emitted.length, 3, "one ended, the next went out");
  end(emitted[0]);
  end(emitted[2]);
  await node.advance(10);
  assert.equal(emitted.length, 5);
  assert.deepEqual(emitted, emitted.toSorted((left, right) => order(left) - order(right)));
  assert.deepEqual(outcomes.map((outcome) => outcome.status), ["final", "final", "final"]);
});

Deno.test("a NEED whose deadline passes while it waits ends expired without going out", async () => {
  const { node, emitted, outcomes, post, end } = await admission(1);
  post(120_000);
  post(5_000);
  await node.advance(10_000);
  assert.equal(emitted.length, 1);
  end(emitted[0]);
  await node.advance(10);
  assert.equal(emitted.length, 1, "the second never went out");
  assert.deepEqual(outcomes.map((outcome) => [outcome.status, outcome.reason]), [
    ["final", undefined],
    ["expired", "its deadline passed while it waited to go out"],
  ]);
});

/** The post order of a NEED id (`node-0-<sequence in base 36>-<random>`). */
function order(needId: string): number {
  return parseInt(needId.split("-")[2], 36);
}

Deno.test("the list of a requester with more NEEDs in flight than it lists still shows every recent end", async () => {
  const { node, emitted, post, end, role } = await admission(2_000);
  for (let index = 0; index < 1_500; index++) post(120_000);
  await node.advance(10);
  assert.equal(emitted.length, 1_500);
  end(emitted[1_499]);
  end(emitted[0]);
  await node.advance(10);
  const { ref: lister, items: lists } = collector<NeedStatus[]>(node, "lister");
  role.tell({ type: "list", replyTo: lister });
  await node.advance(1);
  const [listed] = lists;
  const ended = listed.filter((status) => status.status !== "in-flight");
  assert.deepEqual(
    ended.map((status) => status.needId).sort(),
    [emitted[0], emitted[1_499]].sort(),
  );
  assert.equal(listed.length - ended.length, 1_000, "the oldest 1,000 of 1,498 in flight");
});

// Proves supervision strategies restart the right children, enforce intensity with growing backoff, escalate, and that death watch fires.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ActorRef, Behavior, SpawnOptions } from "../../runtime/actor.ts";
import {
  backoffDelayMs,
  childrenToRestart,
  RestartWindow,
  SupervisionConfigError,
  type SupervisorStrategy,
  supervisorStrategy,
} from "../../runtime/supervisor.ts";
import { simNode } from "../_sim_node.ts";

type Counter =
  | { type: "inc" }
  | { type: "boom" }
  | { type: "get"; replyTo: ActorRef<number> };

/** A counter whose state is lost on restart. */
function counter(hooks: string[] = [], name = "counter"): Behavior<Counter> {
  let count = 0;
  return {
    receive(_ctx, message) {
      if (message.type === "inc") count++;
      else if (message.type === "boom") throw new Error(`${name} exploded`);
      else message.replyTo.tell(count);
    },
    preRestart: () => void hooks.push(`preRestart ${name}`),
    postStop: () => void hooks.push(`postStop ${name}`),
  };
}

type ParentMessage = { type: "to"; child: string; message: Counter };

/** A parent that spawns named counters with a strategy and forwards messages to them. */
function parent(children: string[], hooks: string[] = []): Behavior<ParentMessage> {
  return {
    preStart(ctx) {
      for (const name of children) ctx.spawn(() => counter(hooks, name), { name });
    },
    receive(ctx, message) {
      ctx.child<Counter>(message.child)?.tell(message.message);
    },
  };
}

async function counts(
  fixture: Awaited<ReturnType<typeof simNode>>,
  paths: string[],
): Promise<number[]> {
  const results: number[] = [];
  for (const path of paths) {
    const ref = fixture.system.lookup<Counter>(path);
    assert.ok(ref, `${path} is alive`);
    const reply = fixture.system.ask<Counter, number>(ref, (replyTo) => ({ type: "get", replyTo }));
    await fixture.advance(1);
    results.push(await reply);
  }
  return results;
}

async function strategyRun(kind: SupervisorStrategy["kind"]) {
  const fixture = await simNode();
  const supervision: SpawnOptions["supervision"] = {
    kind,
    backoff: { minMs: 10, maxMs: 1000, jitter: 0 },
  };
  const ref = fixture.system.spawn(() => parent(["a", "b", "c"]), { name: "parent", supervision });
  await fixture.advance(1);
  for (const child of ["a", "b", "c"]) {
    ref.tell({ type: "to", child, message: { type: "inc" } });
    ref.tell({ type: "to", child, message: { type: "inc" } });
  }
  ref.tell({ type: "to", child: "b", message: { type: "boom" } });
  await fixture.advance(100);
  const restarted = fixture.eventsOf("actor-restarted").map((event) => event.path).sort();
  const after = await counts(fixture, ["/user/parent/a", "/user/parent/b", "/user/parent/c"]);
  return { restarted, after, fixture };
}

Deno.test("one-for-one restarts only the failed child", async () => {
  const { restarted, after } = await strategyRun("one-for-one");
  assert.deepEqual(restarted, ["/user/parent/b"]);
  assert.deepEqual(after, [2, 0, 2]);
});

Deno.test("one-for-all restarts every child", async () => {
  const { restarted, after } = await strategyRun("one-for-all");
  assert.deepEqual(restarted, ["/user/parent/a", "/user/parent/b", "/user/parent/c"]);
  assert.deepEqual(after, [0, 0, 0]);
});

Deno.test("rest-for-one restarts the failed child and those started after it", async () => {
  const { restarted, after } = await strategyRun("rest-for-one");
  assert.deepEqual(restarted, ["/user/parent/b", "/user/parent/c"]);
  assert.deepEqual(after, [2, 0, 0]);
});

Deno.test("a restart runs preRestart on the old instance and keeps the mailbox", async () => {
  const fixture = await simNode();
  const hooks: string[] = [];
  const ref = fixture.system.spawn(() => counter(hooks, "solo"), { name: "solo" });
  ref.tell({ type: "boom" });
  ref.tell({ type: "inc" });
  await fixture.advance(100);
  assert.deepEqual(hooks, ["preRestart solo"]);
  assert.deepEqual(
    await counts(fixture, ["/user/solo"]),
    [1],
    "the message queued behind the failure survives",
  );
});

Deno.test("restart backoff grows exponentially and is honoured on virtual time", async () => {
  const fixture = await simNode();
  const ref = fixture.system.spawn(() => parent(["x"]), {
    name: "p",
    supervision: {
      maxRestarts: 10,
      withinMs: 60_000,
      backoff: { minMs: 100, maxMs: 10_000, jitter: 0 },
    },
  });
  await fixture.advance(1);
  const failedAt: bigint[] = [];
  const restartedAt: bigint[] = [];
  fixture.system.events.subscribe((event) => {
    if (event.type === "actor-failed") failedAt.push(fixture.simulation.scheduler.nowNs);
    if (event.type === "actor-restarted") restartedAt.push(fixture.simulation.scheduler.nowNs);
  });
  for (let round = 0; round < 4; round++) {
    ref.tell({ type: "to", child: "x", message: { type: "boom" } });
    await fixture.advance(2_000);
  }
  assert.deepEqual(fixture.eventsOf("actor-restarted").map((event) => event.backoffMs), [
    100,
    200,
    400,
    800,
  ]);
  const waitedMs = restartedAt.map((time, index) => Number(time - failedAt[index]) / 1e6);
  assert.deepEqual(waitedMs, [100, 200, 400, 800]);
});

Deno.test("jittered backoff is reproducible for the same seed", async () => {
  const run = async (seed: number) => {
    const fixture = await simNode({ seed });
    const ref = fixture.system.spawn(() => parent(["x"]), {
      name: "p",
      supervision: { maxRestarts: 10, backoff: { minMs: 100, maxMs: 10_000, jitter: 0.5 } },
    });
    await fixture.advance(1);
    for (let round = 0; round < 3; round++) {
      ref.tell({ type: "to", child: "x", message: { type: "boom" } });
      await fixture.advance(2_000);
    }
    return fixture.eventsOf("actor-restarted").map((event) => event.backoffMs);
  };
  const first = await run(11);
  assert.deepEqual(await run(11), first);
  assert.notDeepEqual(await run(12), first);
  assert.ok(first.every((delay, index) => delay >= 50 * 2 ** index && delay <= 150 * 2 ** index));
});

Deno.test("exceeding restart intensity gives up with an event and escalates to the grandparent", async () => {
  const fixture = await simNode();
  const ref = fixture.system.spawn(() => parent(["x"]), {
    name: "p",
    supervision: { maxRestarts: 2, withinMs: 10_000, backoff: { minMs: 1, maxMs: 1, jitter: 0 } },
  });
  await fixture.advance(1);
  for (let round = 0; round < 3; round++) {
    ref.tell({ type: "to", child: "x", message: { type: "boom" } });
    await fixture.advance(50);
  }
  const gaveUp = fixture.eventsOf("supervisor-gave-up");
  assert.equal(gaveUp.length, 1);
  assert.equal(gaveUp[0].path, "/user/p");
  assert.equal(gaveUp[0].child, "/user/p/x");
  assert.equal(gaveUp[0].restarts, 2);
  const parentFailure = fixture.eventsOf("actor-failed").find((event) => event.path === "/user/p");
  assert.equal(parentFailure?.code, "E_RESTART_INTENSITY");
  assert.ok(
    fixture.eventsOf("actor-restarted").some((event) =>
      event.path === "/user/p" && event.supervisor === "/user"
    ),
    "the guardian restarted the supervisor that gave up",
  );
  assert.deepEqual(await counts(fixture, ["/user/p/x"]), [0], "the subtree came back fresh");
});

Deno.test("the escalate directive fails the parent, whose own supervisor decides", async () => {
  const fixture = await simNode();
  const ref = fixture.system.spawn(() => parent(["x", "y"]), {
    name: "p",
    supervision: { decide: () => "escalate", backoff: { minMs: 1, maxMs: 1, jitter: 0 } },
  });
  await fixture.advance(1);
  ref.tell({ type: "to", child: "y", message: { type: "inc" } });
  ref.tell({ type: "to", child: "x", message: { type: "boom" } });
  await fixture.advance(100);
  assert.equal(fixture.eventsOf("failure-escalated").length, 1);
  assert.ok(fixture.eventsOf("actor-restarted").some((event) => event.path === "/user/p"));
  assert.deepEqual(await counts(fixture, ["/user/p/x", "/user/p/y"]), [0, 0]);
});

Deno.test("the resume directive keeps the child's state; stop stops it", async () => {
  const fixture = await simNode();
  const resumed = fixture.system.spawn(() => parent(["x"]), {
    name: "r",
    supervision: { decide: () => "resume" },
  });
  const stopped = fixture.system.spawn(() => parent(["x"]), {
    name: "s",
    supervision: { decide: () => "stop" },
  });
  await fixture.advance(1);
  for (const ref of [resumed, stopped]) {
    ref.tell({ type: "to", child: "x", message: { type: "inc" } });
    ref.tell({ type: "to", child: "x", message: { type: "boom" } });
    ref.tell({ type: "to", child: "x", message: { type: "inc" } });
  }
  await fixture.advance(100);
  assert.deepEqual(await counts(fixture, ["/user/r/x"]), [2]);
  assert.equal(fixture.system.lookup("/user/s/x"), undefined);
  assert.ok(fixture.eventsOf("actor-stopped").some((event) => event.path === "/user/s/x"));
});

type Watcher = { type: "watch"; target: ActorRef<never>; custom: boolean } | {
  type: "gone";
  path: string;
};

Deno.test("death watch delivers a terminated signal or the chosen message, also for an already-dead actor", async () => {
  const fixture = await simNode();
  const notices: string[] = [];
  const watcher = fixture.system.spawn<Watcher>(() => ({
    receive(ctx, message) {
      if (message.type === "gone") notices.push(`message ${message.path}`);
      else if (message.custom) {
        ctx.watch(message.target, { type: "gone", path: message.target.address.path });
      } else ctx.watch(message.target);
    },
    onSignal: (_ctx, signal) => void notices.push(`signal ${signal.ref.address.path}`),
  }), { name: "watcher" });
  const first = fixture.system.spawn(() => counter(), { name: "first" }) as ActorRef<never>;
  const second = fixture.system.spawn(() => counter(), { name: "second" }) as ActorRef<never>;
  const third = fixture.system.spawn(() => counter(), { name: "third" }) as ActorRef<never>;
  watcher.tell({ type: "watch", target: first, custom: false });
  watcher.tell({ type: "watch", target: second, custom: true });
  await fixture.advance(1);
  fixture.system.stop(first);
  fixture.system.stop(second);
  fixture.system.stop(third);
  await fixture.advance(1);
  watcher.tell({ type: "watch", target: third, custom: false });
  await fixture.advance(1);
  assert.deepEqual(notices, ["signal /user/first", "message /user/second", "signal /user/third"]);
});

Deno.test("stopping a parent stops its children first and runs postStop once each", async () => {
  const fixture = await simNode();
  const hooks: string[] = [];
  const ref = fixture.system.spawn(() => parent(["a", "b"], hooks), { name: "p" });
  await fixture.advance(1);
  fixture.system.stop(ref as ActorRef<never>);
  await fixture.advance(1);
  assert.deepEqual(hooks.sort(), ["postStop a", "postStop b"]);
  const stopped = fixture.eventsOf("actor-stopped").map((event) => event.path);
  assert.deepEqual(stopped.slice(-1), ["/user/p"]);
  assert.equal(fixture.system.actorCount, 1, "only the guardian is left");
});

Deno.test("supervisorStrategy() rejects bad settings with typed errors", () => {
  assert.throws(
    () => supervisorStrategy({ kind: "all-for-none" as never }),
    SupervisionConfigError,
  );
  assert.throws(() => supervisorStrategy({ maxRestarts: -1 }), /maxRestarts/);
  assert.throws(() => supervisorStrategy({ withinMs: 0 }), /withinMs/);
  assert.throws(
    () => supervisorStrategy({ backoff: { minMs: 5, maxMs: 1, jitter: 0 } }),
    /minMs <= maxMs/,
  );
  assert.throws(() => supervisorStrategy({ backoff: { minMs: 1, maxMs: 5, jitter: 2 } }), /jitter/);
});

Deno.test("backoffDelayMs() grows by doubling, stays within jitter bounds and under the cap (property)", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1_000 }),
    fc.integer({ min: 1_000, max: 100_000 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.integer({ min: 1, max: 30 }),
    fc.double({ min: 0, max: 0.999, noNaN: true }),
    (minMs, maxMs, jitter, attempt, random01) => {
      const backoff = { minMs, maxMs, jitter };
      const plain = backoffDelayMs({ ...backoff, jitter: 0 }, attempt, random01);
      assert.equal(plain, Math.min(maxMs, minMs * 2 ** (attempt - 1)));
      assert.ok(backoffDelayMs({ ...backoff, jitter: 0 }, attempt + 1, random01) >= plain);
      const jittered = backoffDelayMs(backoff, attempt, random01);
      assert.ok(jittered <= maxMs && jittered >= plain * (1 - jitter) - 1e-9);
    },
  ));
});

Deno.test("RestartWindow allows maxRestarts within the window and forgets old restarts", () => {
  const strategy = supervisorStrategy({ maxRestarts: 2, withinMs: 1_000 });
  const window = new RestartWindow();
  assert.equal(window.tryRecord(0n, strategy), 1);
  assert.equal(window.tryRecord(500_000_000n, strategy), 2);
  assert.equal(window.tryRecord(900_000_000n, strategy), 0);
  assert.equal(window.tryRecord(1_000_000_001n, strategy), 2, "the restart at 0 left the window");
});

Deno.test("childrenToRestart() picks the failed child, all children, or the failed and later ones", () => {
  assert.deepEqual(childrenToRestart("one-for-one", 1, 4), [1]);
  assert.deepEqual(childrenToRestart("one-for-all", 1, 4), [0, 1, 2, 3]);
  assert.deepEqual(childrenToRestart("rest-for-one", 1, 4), [1, 2, 3]);
});

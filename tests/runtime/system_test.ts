// Proves the actor system spawns, names, finds, asks and routes across nodes (publishing with or without echo to the publisher), and survives bad frames and bad arguments.
import assert from "node:assert/strict";
import type { ActorRef, Behavior } from "../../runtime/actor.ts";
import { ActorContextError } from "../../runtime/_context.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import {
  ActorSystem,
  AskTimeoutError,
  AskUndeliveredError,
  SpawnError,
} from "../../runtime/system.ts";
import { InProcHub } from "../../runtime/transport/inproc.ts";
import { WireError, WireRef } from "../../runtime/wire.ts";
import type { SystemEvent } from "../../runtime/events.ts";
import { simNode } from "../_sim_node.ts";

type Echo = { readonly replyTo: ActorRef<unknown>; readonly value: unknown };

const echo = (): Behavior<Echo> => ({
  receive: (_ctx, message) => void message.replyTo.tell(message.value),
});

async function realNode(nodeId: string, hub?: InProcHub) {
  const env = await RealEnv.open({ nodeId, transport: hub?.connect(nodeId) });
  const system = ActorSystem.create(env, { log: silentLogSink });
  const events: SystemEvent[] = [];
  system.events.subscribe((event) => events.push(event));
  return {
    env,
    system,
    events,
    close: async () => {
      await system.terminate();
      await env.close();
    },
  };
}

Deno.test("spawn() names actors under /user, lookup() finds them and refuses taken or bad names", async () => {
  const node = await realNode("n1");
  const ref = node.system.spawn(echo, { name: "echo" });
  assert.deepEqual(ref.address, { node: "n1", path: "/user/echo" });
  assert.equal(node.system.lookup("/user/echo"), ref);
  assert.equal(node.system.lookup("/user/nobody"), undefined);
  assert.throws(
    () => node.system.spawn(echo, { name: "echo" }),
    (error: SpawnError) => error.code === "E_NAME_TAKEN",
  );
  assert.throws(
    () => node.system.spawn(echo, { name: "a/b" }),
    (error: SpawnError) => error.code === "E_ACTOR_NAME",
  );
  assert.throws(() => node.system.spawn(echo, { name: "" }), /Actor name must match/);
  const anonymous = node.system.spawn(echo);
  assert.match(anonymous.address.path, /^\/user\/\$/);
  await node.close();
});

Deno.test("ask() resolves with the reply and rejects with E_ASK_TIMEOUT when nobody answers", async () => {
  const node = await realNode("n1");
  const ref = node.system.spawn(echo, { name: "echo" });
  assert.equal(
    await node.system.ask<Echo, unknown>(ref, (replyTo) => ({ replyTo, value: 42 })),
    42,
  );
  const silent = node.system.spawn<Echo>(() => ({ receive: () => {} }), { name: "silent" });
  await assert.rejects(
    node.system.ask(silent, (replyTo) => ({ replyTo, value: 1 }), { timeoutMs: 20 }),
    (error: AskTimeoutError) =>
      error.code === "E_ASK_TIMEOUT" && /within 20 ms/.test(error.message),
  );
  await node.close();
});

Deno.test("ask() rejects at once with E_ASK_UNDELIVERED when the request is dropped", async () => {
  const node = await realNode("n1");
  const ref = node.system.spawn(echo, { name: "echo" });
  node.system.stop(ref as ActorRef<never>);
  await new Promise((resolve) => setTimeout(resolve, 1));
  await assert.rejects(
    node.system.ask<Echo, unknown>(ref, (replyTo) => ({ replyTo, value: 1 }), {
      timeoutMs: 10_000,
    }),
    (error: AskUndeliveredError) => error.code === "E_ASK_UNDELIVERED",
  );
  await node.close();
});

Deno.test("ask timeouts fire on virtual time in simulation", async () => {
  const fixture = await simNode();
  const silent = fixture.system.spawn<Echo>(() => ({ receive: () => {} }), { name: "silent" });
  let outcome = "pending";
  fixture.system.ask(silent, (replyTo) => ({ replyTo, value: 1 }), { timeoutMs: 500 }).catch((
    error,
  ) => outcome = error.code);
  await fixture.advance(499);
  await Promise.resolve();
  assert.equal(outcome, "pending");
  await fixture.advance(2);
  await Promise.resolve();
  assert.equal(outcome, "E_ASK_TIMEOUT");
});

type Relay = { readonly type: "relay"; readonly to: ActorRef<Echo> } | {
  readonly type: "answer";
  value: unknown;
};

Deno.test("ctx.ask() turns replies and timeouts into messages without blocking the actor", async () => {
  const fixture = await simNode();
  const target = fixture.system.spawn(echo, { name: "echo" });
  const silent = fixture.system.spawn<Echo>(() => ({ receive: () => {} }), { name: "silent" });
  const answers: unknown[] = [];
  const asker = fixture.system.spawn<Relay>(() => ({
    receive(ctx, message) {
      if (message.type === "answer") return void answers.push(message.value);
      ctx.ask<Echo, unknown>(
        message.to,
        (replyTo) => ({ replyTo, value: "pong" }),
        (result) => ({
          type: "answer",
          value: result.ok ? result.value : (result.error as AskTimeoutError).code,
        }),
        { timeoutMs: 100 },
      );
    },
  }));
  asker.tell({ type: "relay", to: target });
  asker.tell({ type: "relay", to: silent });
  await fixture.advance(200);
  assert.deepEqual(answers, ["pong", "E_ASK_TIMEOUT"]);
});

Deno.test("messages and replies cross in-process nodes, with actor refs in them", async () => {
  const hub = new InProcHub();
  const left = await realNode("left", hub);
  const right = await realNode("right", hub);
  right.system.spawn(echo, { name: "echo" });
  const remote = left.system.refFor<Echo>({ node: "right", path: "/user/echo" });
  assert.deepEqual(
    await left.system.ask<Echo, unknown>(remote, (replyTo) => ({ replyTo, value: { n: 7n } })),
    {
      n: 7n,
    },
  );
  await left.close();
  await right.close();
});

Deno.test("a message to an unknown remote path becomes a no-such-actor dead letter on the receiving node", async () => {
  const hub = new InProcHub();
  const left = await realNode("left", hub);
  const right = await realNode("right", hub);
  left.system.refFor<string>({ node: "right", path: "/user/ghost" }).tell("boo");
  const deadLetter = right.events.find((event) => event.type === "dead-letter");
  assert.equal(deadLetter?.type === "dead-letter" && deadLetter.reason, "no-such-actor");
  await left.close();
  await right.close();
});

Deno.test("sending a function or class instance across nodes fails at the sender with E_WIRE_VALUE", async () => {
  const hub = new InProcHub();
  const left = await realNode("left", hub);
  const right = await realNode("right", hub);
  const remote = left.system.refFor<unknown>({ node: "right", path: "/user/x" });
  assert.throws(() => remote.tell({ callback: () => 1 }), WireError);
  assert.throws(() => remote.tell(new Map()), (error: WireError) => error.code === "E_WIRE_VALUE");
  await left.close();
  await right.close();
});

type Topic = { readonly type: "join" } | { readonly type: "say"; text: string } | {
  readonly type: "heard";
  text: string;
};

Deno.test("publish() reaches subscribers on this node and on others, and stops after unsubscribe", async () => {
  const hub = new InProcHub();
  const nodes = [await realNode("a", hub), await realNode("b", hub), await realNode("c", hub)];
  const heard: string[] = [];
  for (const [index, node] of nodes.entries()) {
    node.system.spawn<Topic>(() => ({
      preStart: (ctx) => ctx.subscribe("news"),
      receive(ctx, message) {
        if (message.type === "say") ctx.publish("news", { type: "heard", text: message.text });
        else if (message.type === "heard") heard.push(`${ctx.nodeId}:${message.text}`);
        if (message.type === "heard" && message.text === "bye" && index === 2) {
          ctx.unsubscribe("news");
        }
      },
    }), { name: "listener" });
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
  nodes[0].system.lookup<Topic>("/user/listener")?.tell({ type: "say", text: "hi" });
  await new Promise((resolve) => setTimeout(resolve, 1));
  nodes[0].system.lookup<Topic>("/user/listener")?.tell({ type: "say", text: "bye" });
  await new Promise((resolve) => setTimeout(resolve, 1));
  nodes[0].system.lookup<Topic>("/user/listener")?.tell({ type: "say", text: "after" });
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.deepEqual(heard.sort(), [
    "a:after",
    "a:bye",
    "a:hi",
    "b:after",
    "b:bye",
    "b:hi",
    "c:bye",
    "c:hi",
  ]);
  for (const node of nodes) await node.close();
});

Deno.test("publish() with echo off skips only the publisher: its neighbours and other nodes still hear it", async () => {
  const hub = new InProcHub();
  const nodes = [await realNode("a", hub), await realNode("b", hub)];
  const heard: string[] = [];
  const listener = (name: string, node: (typeof nodes)[number]) =>
    node.system.spawn<Topic>(() => ({
      preStart: (ctx) => ctx.subscribe("news"),
      receive(ctx, message) {
        if (message.type === "say") {
          ctx.publish("news", { type: "heard", text: message.text }, { echo: false });
        } else if (message.type === "heard") heard.push(`${ctx.nodeId}/${name}:${message.text}`);
      },
    }), { name });
  const speaker = listener("speaker", nodes[0]);
  listener("neighbour", nodes[0]);
  listener("remote", nodes[1]);
  await new Promise((resolve) => setTimeout(resolve, 1));
  speaker.tell({ type: "say", text: "hi" });
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.deepEqual(heard.sort(), ["a/neighbour:hi", "b/remote:hi"]);
  for (const node of nodes) await node.close();
});

Deno.test("onFrame() survives frames for missing actors and odd payloads without throwing", async () => {
  const node = await realNode("n1");
  const received: unknown[] = [];
  node.system.spawn<unknown>(() => ({ receive: (_ctx, message) => void received.push(message) }), {
    name: "sink",
  });
  const frames = [
    {
      kind: "direct" as const,
      to: { node: "n1", path: "/user/none" },
      from: undefined,
      payload: 1,
    },
    {
      kind: "direct" as const,
      to: { node: "n1", path: "/user/sink" },
      from: undefined,
      payload: { deep: [[[]]] },
    },
    {
      kind: "direct" as const,
      to: { node: "n1", path: "/user/sink" },
      from: { node: "zz", path: "/x" },
      payload: null,
    },
    { kind: "topic" as const, topic: "nobody-listens", from: undefined, payload: "x" },
    {
      kind: "direct" as const,
      to: { node: "n1", path: "/user/sink" },
      from: undefined,
      payload: { ref: new WireRef("elsewhere", "/user/a") },
    },
  ];
  for (const frame of frames) node.system.onFrame(frame);
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(received.length, 3);
  assert.equal((received[2] as { ref: ActorRef<never> }).ref.address.node, "elsewhere");
  assert.equal(node.events.filter((event) => event.type === "dead-letter").length, 1);
  await node.close();
});

Deno.test("ctx.stop() refuses to stop an actor that is not a child, with E_NOT_A_CHILD", async () => {
  const fixture = await simNode();
  const stranger = fixture.system.spawn(echo, { name: "stranger" });
  const attempts: string[] = [];
  const ref = fixture.system.spawn<string>(() => ({
    receive(ctx) {
      try {
        ctx.stop(stranger as ActorRef<never>);
      } catch (error) {
        attempts.push((error as ActorContextError).code);
      }
    },
  }));
  ref.tell("go");
  await fixture.advance(1);
  assert.deepEqual(attempts, ["E_NOT_A_CHILD"]);
  assert.ok(fixture.system.lookup("/user/stranger"));
});

Deno.test("ctx.schedule() rejects negative and non-finite delays with E_TIMER_DELAY", async () => {
  const fixture = await simNode();
  const codes: string[] = [];
  const ref = fixture.system.spawn<string>(() => ({
    receive(ctx) {
      for (const delay of [-1, Number.NaN, Infinity]) {
        try {
          ctx.schedule(delay, "x");
        } catch (error) {
          codes.push((error as ActorContextError).code);
        }
      }
    },
  }));
  ref.tell("go");
  await fixture.advance(1);
  assert.deepEqual(codes, ["E_TIMER_DELAY", "E_TIMER_DELAY", "E_TIMER_DELAY"]);
});

Deno.test("keyed timers replace each other and die with a restart", async () => {
  const fixture = await simNode();
  const fired: string[] = [];
  let instance = 0;
  const ref = fixture.system.spawn<string>(() => {
    const me = ++instance;
    return {
      preStart(ctx) {
        ctx.schedule(100, `first-${me}`, { key: "t" });
        ctx.schedule(200, `second-${me}`, { key: "t" });
      },
      receive(_ctx, message) {
        if (message === "boom") throw new Error("boom");
        fired.push(message);
      },
    };
  }, { supervision: {} });
  await fixture.advance(50);
  ref.tell("boom");
  await fixture.advance(1_000);
  assert.deepEqual(fired, ["second-2"], "instance 1's timers were cancelled by the restart");
});

Deno.test("pipeToSelf() delivers outside results as messages, and a throwing mapper fails the actor", async () => {
  const fixture = await simNode();
  const got: string[] = [];
  const ref = fixture.system.spawn<{ type: "go" } | { type: "digest"; hex: string }>(() => ({
    receive(ctx, message) {
      if (message.type === "digest") return void got.push(message.hex);
      ctx.pipeToSelf(crypto.subtle.digest("SHA-256", new Uint8Array([1])), (result) => {
        if (!result.ok) throw result.error;
        return { type: "digest", hex: new Uint8Array(result.value).slice(0, 2).join(",") };
      });
      ctx.pipeToSelf(Promise.reject(new Error("nope")), () => {
        throw new Error("mapper failed");
      });
    },
  }));
  ref.tell({ type: "go" });
  await fixture.advance(10);
  assert.deepEqual(got, ["75,245"]);
  assert.ok(fixture.eventsOf("actor-failed").some((event) => /mapper failed/.test(event.error)));
});

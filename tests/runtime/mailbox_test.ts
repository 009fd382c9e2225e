// Proves mailboxes are bounded, overflow as configured, keep the system lane alive and keep per-sender FIFO.
import assert from "node:assert/strict";
import fc from "fast-check";
import { Mailbox, MailboxConfigError, mailboxSettings } from "../../runtime/mailbox.ts";
import { ActorSystem } from "../../runtime/system.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { silentLogSink } from "../../runtime/log.ts";
import type { ActorRef } from "../../runtime/actor.ts";
import type { SystemEvent } from "../../runtime/events.ts";

Deno.test("mailboxSettings() rejects a zero capacity, an unknown policy and a bad fraction with typed errors", () => {
  assert.throws(() => mailboxSettings({ capacity: 0 }), MailboxConfigError);
  assert.throws(() => mailboxSettings({ capacity: 1.5 }), /positive integer, got 1.5/);
  assert.throws(() => mailboxSettings({ overflow: "drop-oldest" as never }), /overflow must be/);
  assert.throws(() => mailboxSettings({ highWaterFraction: 0 }), /highWaterFraction/);
});

Deno.test("offerUser() refuses messages beyond the capacity and keeps the first ones", () => {
  const mailbox = new Mailbox<number, string>(mailboxSettings({ capacity: 3 }));
  const accepted = [1, 2, 3, 4, 5].map((value) => mailbox.offerUser(value, undefined));
  assert.deepEqual(accepted, [true, true, true, false, false]);
  assert.equal(mailbox.userCount, 3);
  assert.deepEqual(
    [mailbox.pollUser(), mailbox.pollUser(), mailbox.pollUser(), mailbox.pollUser()],
    [
      1,
      2,
      3,
      undefined,
    ],
  );
});

Deno.test("the system lane accepts messages while the user lane is full", () => {
  const mailbox = new Mailbox<number, string>(mailboxSettings({ capacity: 1 }));
  mailbox.offerUser(1, undefined);
  assert.equal(mailbox.offerUser(2, undefined), false);
  for (let index = 0; index < 100; index++) mailbox.pushSystem(`stop-${index}`);
  assert.equal(mailbox.systemCount, 100);
  assert.equal(mailbox.pollSystem(), "stop-0");
});

Deno.test("sendUser() parks senders under backpressure and admits them in order as room frees", async () => {
  const mailbox = new Mailbox<number, string>(
    mailboxSettings({ capacity: 2, overflow: "backpressure" }),
  );
  const results = [1, 2, 3, 4].map((value) => mailbox.sendUser(value, undefined));
  assert.equal(mailbox.waitingSenders, 2);
  assert.equal(mailbox.offerUser(99, undefined), false, "a tell may not overtake parked senders");
  assert.equal(mailbox.pollUser(), 1);
  assert.equal(mailbox.pollUser(), 2);
  assert.deepEqual(await Promise.all(results), [true, true, true, true]);
  assert.deepEqual([mailbox.pollUser(), mailbox.pollUser(), mailbox.pollUser()], [3, 4, undefined]);
});

Deno.test("sendUser() resolves false under drop-newest instead of waiting", async () => {
  const mailbox = new Mailbox<number, string>(mailboxSettings({ capacity: 1 }));
  assert.equal(await mailbox.sendUser(1, undefined), true);
  assert.equal(await mailbox.sendUser(2, undefined), false);
});

Deno.test("drainUser() refuses parked senders rather than admitting them", async () => {
  const mailbox = new Mailbox<number, string>(
    mailboxSettings({ capacity: 1, overflow: "backpressure" }),
  );
  mailbox.offerUser(1, undefined);
  const parked = mailbox.sendUser(2, undefined);
  const drained = mailbox.drainUser().map((entry) => entry.message);
  assert.deepEqual(drained, [1, 2]);
  assert.equal(await parked, false);
});

Deno.test("the high-water callback fires once per excursion above the mark", () => {
  const mailbox = new Mailbox<number, string>(
    mailboxSettings({ capacity: 10, highWaterFraction: 0.5 }),
  );
  const sizes: number[] = [];
  mailbox.onHighWater = (size) => sizes.push(size);
  for (let value = 0; value < 8; value++) mailbox.offerUser(value, undefined);
  for (let value = 0; value < 6; value++) mailbox.pollUser();
  for (let value = 0; value < 4; value++) mailbox.offerUser(value, undefined);
  assert.deepEqual(sizes, [5, 5]);
  assert.equal(mailbox.highWater, 8);
});

Deno.test("per-sender FIFO holds for any interleaving of senders (property)", () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 200 }), (senders) => {
    const mailbox = new Mailbox<{ sender: number; sequence: number }, string>(
      mailboxSettings({ capacity: 1000 }),
    );
    const next = new Map<number, number>();
    for (const sender of senders) {
      const sequence = next.get(sender) ?? 0;
      next.set(sender, sequence + 1);
      mailbox.offerUser({ sender, sequence }, sender);
    }
    const seen = new Map<number, number>();
    for (let message = mailbox.pollUser(); message !== undefined; message = mailbox.pollUser()) {
      assert.equal(mailbox.lastSender, message.sender);
      assert.equal(message.sequence, seen.get(message.sender) ?? 0);
      seen.set(message.sender, message.sequence + 1);
    }
  }));
});

type Gate = { type: "block"; until: Promise<void> } | { type: "item"; value: number };

/** An actor that blocks on its first message so its mailbox fills up. */
async function blockedActor(options: Parameters<ActorSystem["spawn"]>[1]) {
  const env = await RealEnv.open({ nodeId: "mailbox-test" });
  const system = ActorSystem.create(env, { log: silentLogSink });
  const events: SystemEvent[] = [];
  system.events.subscribe((event) => events.push(event));
  const received: number[] = [];
  let release: () => void = () => {};
  const until = new Promise<void>((resolve) => (release = resolve));
  const ref = system.spawn<Gate>(() => ({
    async receive(_ctx, message) {
      if (message.type === "block") await message.until;
      else received.push(message.value);
    },
  }), options);
  ref.tell({ type: "block", until });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const close = async () => {
    await system.terminate();
    await env.close();
  };
  return { system, ref, events, received, release, close };
}

Deno.test("a full drop-newest mailbox turns the overflow into dead letters and keeps the rest", async () => {
  const { ref, events, received, release, close } = await blockedActor({
    mailbox: { capacity: 4 },
  });
  const accepted = Array.from({ length: 10 }, (_, value) => ref.tell({ type: "item", value }));
  assert.deepEqual(accepted, [true, true, true, true, false, false, false, false, false, false]);
  release();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(received, [0, 1, 2, 3]);
  const deadLetters = events.filter((event) => event.type === "dead-letter");
  assert.equal(deadLetters.length, 6);
  assert.ok(
    deadLetters.every((event) => event.type === "dead-letter" && event.reason === "mailbox-full"),
  );
  assert.ok(events.some((event) => event.type === "mailbox-high-water"));
  await close();
});

Deno.test("a backpressure mailbox parks up to capacity senders and refuses the rest", async () => {
  const { ref, events, received, release, close } = await blockedActor({
    mailbox: { capacity: 2, overflow: "backpressure" },
  });
  const sends = Array.from({ length: 6 }, (_, value) => ref.send({ type: "item", value }));
  release();
  assert.deepEqual(await Promise.all(sends), [true, true, true, true, false, false]);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(received, [0, 1, 2, 3]);
  assert.equal(events.filter((event) => event.type === "dead-letter").length, 2);
  await close();
});

Deno.test("stop reaches an actor whose user lane is full", async () => {
  const { system, ref, events, release, close } = await blockedActor({ mailbox: { capacity: 1 } });
  ref.tell({ type: "item", value: 1 });
  assert.equal(ref.tell({ type: "item", value: 2 }), false);
  system.stop(ref as ActorRef<never>);
  release();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(
    events.some((event) => event.type === "actor-stopped" && event.path === ref.address.path),
  );
  assert.equal(system.lookup(ref.address.path), undefined);
  await close();
});

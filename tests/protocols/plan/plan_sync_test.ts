// Proves plan sync sends only what the peer lacks and rejects bad, forged or oversized messages with typed errors, leaving the document intact.

import assert from "node:assert/strict";
import * as Automerge from "@automerge/automerge";
import { PlanError } from "../../../protocols/plan/errors.ts";
import { type OutgoingSync, PlanSyncPeers } from "../../../protocols/plan/plan_sync.ts";
import type { PlanStore } from "../../../protocols/plan/plan_store.ts";
import { bucketOf } from "../../../protocols/plan/thread_doc.ts";
import { addTask, openStore, T } from "./_plan_fixtures.ts";

/** Delivers messages between two peers until both are quiet; returns bytes moved. */
async function exchange(peers: Record<string, PlanSyncPeers>, first: OutgoingSync[]) {
  let queue = first.map((message) => ({ ...message, from: message.peer === "b" ? "a" : "b" }));
  let bytes = 0;
  let messages = 0;
  while (queue.length > 0) {
    const next: typeof queue = [];
    for (const message of queue) {
      bytes += message.data.length;
      messages++;
      const receipt = await peers[message.peer].receive(message.from, message.thread, message.data);
      next.push(...receipt.replies.map((reply) => ({ ...reply, from: message.peer })));
    }
    queue = next;
  }
  return { bytes, messages };
}

async function pair(): Promise<
  { a: PlanStore; b: PlanStore; peers: Record<string, PlanSyncPeers> }
> {
  const a = await openStore();
  const b = await openStore();
  const peers = { a: new PlanSyncPeers(a), b: new PlanSyncPeers(b) };
  peers.a.addPeer("b");
  peers.b.addPeer("a");
  return { a, b, peers };
}

Deno.test("after a first sync, one new op costs a small exchange, not the whole history", async () => {
  const { a, b, peers } = await pair();
  await a.appendOps(Array.from({ length: 200 }, (_, index) => addTask(`t${index}`, index + 1)));
  const first = await exchange(peers, peers.a.tick());
  assert.deepEqual(b.snapshot(), a.snapshot());
  await a.appendOp(addTask("late", 500));
  const second = await exchange(peers, peers.a.announce([T]));
  assert.deepEqual(b.heads(T), a.heads(T));
  assert.equal(b.getTask("late")?.title, "late");
  assert.ok(
    second.bytes * 5 < first.bytes,
    `incremental ${second.bytes} B vs first ${first.bytes} B`,
  );
  assert.deepEqual(peers.a.tick(), [], "a peer known to hold everything gets no repair message");
});

Deno.test("sync creates a thread the receiver did not have", async () => {
  const { a, b, peers } = await pair();
  await a.appendOp(addTask("x", 1, { thread: "fresh" }));
  assert.equal(b.hasThread("fresh"), false);
  await exchange(peers, peers.a.tick());
  assert.equal(b.getTask("x")?.thread, "fresh");
});

function rejects(expected: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${error}`);
    assert.equal(error.code, expected);
    return true;
  };
}

Deno.test("garbage, truncated and corrupted sync messages are E_PLAN_SYNC_INVALID and change nothing", async () => {
  const { a, b, peers } = await pair();
  await a.appendOp(addTask("x", 1));
  await b.appendOp(addTask("y", 1, { actor: "bob" }));
  const [, message] = a.generateSyncMessage(T, Automerge.initSyncState());
  const before = { heads: b.heads(T), snapshot: b.snapshot() };
  const corrupted = message!.slice();
  corrupted[corrupted.length - 3] ^= 0xff;
  for (
    const bad of [
      new Uint8Array([0x42, 1, 2, 3]),
      message!.slice(0, message!.length - 7),
      corrupted,
    ]
  ) {
    await assert.rejects(peers.b.receive("a", T, bad), rejects("E_PLAN_SYNC_INVALID"));
    assert.deepEqual(b.heads(T), before.heads);
    assert.deepEqual(b.snapshot(), before.snapshot);
  }
  assert.equal(peers.b.stats.rejected.E_PLAN_SYNC_INVALID, 3);
  await exchange(peers, peers.a.tick());
  assert.deepEqual(b.snapshot(), a.snapshot(), "sync still works after rejected messages");
});

Deno.test("an oversized sync message is E_PLAN_SYNC_TOO_LARGE before it is decoded", async () => {
  const b = await openStore();
  const peers = new PlanSyncPeers(b, { messageBytesMax: 1024 });
  await assert.rejects(
    peers.receive("a", T, new Uint8Array(2048)),
    rejects("E_PLAN_SYNC_TOO_LARGE"),
  );
  assert.equal(b.hasThread(T), false);
  assert.equal(peers.stats.rejected.E_PLAN_SYNC_TOO_LARGE, 1);
});

Deno.test("a bad thread id in a sync message is E_PLAN_THREAD", async () => {
  const b = await openStore();
  const peers = new PlanSyncPeers(b);
  await assert.rejects(peers.receive("a", "", new Uint8Array(4)), rejects("E_PLAN_THREAD"));
});

/**
 * A peer that writes straight into the Automerge document, bypassing the
 * store's rules, and runs the sync handshake with `victim` up to the
 * message that carries its changes (which it returns).
 */
async function forgedMessage(
  victim: PlanSyncPeers,
  edit: (doc: Record<string, unknown>) => void,
): Promise<Uint8Array> {
  const honest = await openStore();
  await honest.appendOp(addTask("x", 1));
  let doc = Automerge.load<Record<string, unknown>>(honest.save(T), { actor: "ee".repeat(16) });
  doc = Automerge.change(doc, { time: 0 }, edit);
  let state = Automerge.initSyncState();
  let message: Uint8Array | null;
  [state, message] = Automerge.generateSyncMessage(doc, state);
  const receipt = await victim.receive("mallory", T, message!);
  for (const reply of receipt.replies) {
    [doc, state] = Automerge.receiveSyncMessage(doc, state, reply.data);
  }
  [state, message] = Automerge.generateSyncMessage(doc, state);
  return message!;
}

Deno.test("forged changes (root writes, deletions, bad ops, misfiled ops) are refused and change nothing", async () => {
  const id = "9/0/mallory";
  const bucket = bucketOf(id);
  const goodOp = JSON.stringify({
    kind: "ADD_TASK",
    thread: T,
    actor: "mallory",
    lamport: 9,
    index: 0,
    task: "m",
    title: "",
  });
  const forgeries: [string, (doc: Record<string, unknown>) => void][] = [
    ["root overwrite", (doc) => (doc.ops = {})],
    ["extra root key", (doc) => (doc.evil = 1)],
    ["op deletion", (doc) => {
      const ops = doc.ops as Record<string, Record<string, unknown>>;
      const key = Object.keys(ops).find((name) => Object.keys(ops[name]).length > 0)!;
      delete ops[key][Object.keys(ops[key])[0]];
    }],
    [
      "invalid op",
      (
        doc,
      ) => ((doc.ops as Record<string, Record<string, unknown>>)[bucket][id] = new Automerge
        .ImmutableString('{"kind":"NOPE"}')),
    ],
    [
      "misfiled op",
      (
        doc,
      ) => ((doc.ops as Record<string, Record<string, unknown>>)[bucket]["1/0/other"] =
        new Automerge.ImmutableString(goodOp)),
    ],
    [
      "op as text",
      (doc) => ((doc.ops as Record<string, Record<string, unknown>>)[bucket][id] = goodOp),
    ],
  ];
  for (const [name, edit] of forgeries) {
    const victim = await openStore();
    const peers = new PlanSyncPeers(victim);
    const message = await forgedMessage(peers, edit);
    await assert.rejects(
      peers.receive("mallory", T, message),
      rejects("E_PLAN_SYNC_INVALID"),
      name,
    );
    assert.equal(victim.stats().ops, 0, `${name}: no op became visible`);
  }
  const victim = await openStore();
  const peers = new PlanSyncPeers(victim);
  const put = (doc: Record<string, unknown>) => {
    (doc.ops as Record<string, Record<string, unknown>>)[bucket][id] = new Automerge
      .ImmutableString(goodOp);
  };
  await peers.receive("mallory", T, await forgedMessage(peers, put));
  assert.equal(
    victim.getTask("m")?.title,
    "",
    "a well-formed op written directly is accepted as a fact",
  );
});

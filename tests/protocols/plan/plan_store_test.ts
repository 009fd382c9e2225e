// Proves the plan store appends, reads, saves, loads and merges ops, and refuses illegal authoring with typed errors.

import assert from "node:assert/strict";
import { PlanError } from "../../../protocols/plan/errors.ts";
import { addTask, annotate, forward, link, openStore, state, T } from "./_plan_fixtures.ts";

function code(expected: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${error}`);
    assert.equal(error.code, expected);
    return true;
  };
}

Deno.test("appendOp() adds a task that getTask() and getOpsForThread() return", async () => {
  const store = await openStore();
  const result = await store.appendOp(addTask("write", 1, { title: "Write the report" }));
  assert.deepEqual(result, { id: "1/0/alice", duplicate: false });
  const task = store.getTask("write");
  assert.equal(task?.title, "Write the report");
  assert.equal(task?.state, "DRAFT");
  assert.equal(task?.thread, T);
  assert.deepEqual(store.getOpsForThread(T).map((op) => op.kind), ["ADD_TASK"]);
  assert.equal(store.getTask("nope"), undefined);
  assert.deepEqual(store.getOpsForThread("other"), []);
});

Deno.test("getOpsForThread() lists ops in replay order whatever the append order", async () => {
  const store = await openStore();
  await store.appendOp(addTask("b", 5, { actor: "bob" }));
  await store.appendOp(addTask("a", 2, { actor: "zed" }));
  await store.appendOp(addTask("c", 5, { actor: "amy" }));
  assert.deepEqual(store.getOpsForThread(T).map((op) => `${op.lamport}/${op.actor}`), [
    "2/zed",
    "5/amy",
    "5/bob",
  ]);
});

Deno.test("appending the same op twice is idempotent; a different op under its id is E_PLAN_OP_CONFLICT", async () => {
  const store = await openStore();
  await store.appendOp(addTask("x", 1));
  const heads = store.heads(T);
  assert.deepEqual(await store.appendOp(addTask("x", 1)), { id: "1/0/alice", duplicate: true });
  assert.deepEqual(store.heads(T), heads, "a duplicate writes nothing");
  await assert.rejects(store.appendOp(addTask("y", 1)), code("E_PLAN_OP_CONFLICT"));
});

Deno.test("appendOp() refuses unknown tasks, existing tasks and bad ops with typed errors", async () => {
  const store = await openStore();
  await store.appendOp(addTask("x", 1));
  await assert.rejects(store.appendOp(state("ghost", "DECIDED", 2)), code("E_PLAN_UNKNOWN_TASK"));
  await assert.rejects(store.appendOp(link("x", "ghost", 2)), code("E_PLAN_UNKNOWN_TASK"));
  await assert.rejects(store.appendOp(addTask("x", 3)), code("E_PLAN_TASK_EXISTS"));
  await assert.rejects(store.appendOp({ kind: "ADD_TASK" }), code("E_PLAN_OP_INVALID"));
  await assert.rejects(store.appendOp(addTask("y", 4, { thread: "" })), code("E_PLAN_OP_INVALID"));
});

Deno.test("STATE only moves forward; YIELD, RELEASE and INVALIDATE reopen only from their states", async () => {
  const store = await openStore();
  await store.appendOps([addTask("x", 1), ...forward("x", "CLAIMED", 2)]);
  assert.equal(store.getTask("x")?.state, "CLAIMED");
  await assert.rejects(store.appendOp(state("x", "DECIDED", 10)), code("E_PLAN_TRANSITION"));
  await assert.rejects(
    store.appendOp(state("x", "DRAFT", 10, { transition: "INVALIDATE" })),
    code("E_PLAN_TRANSITION"),
  );
  await store.appendOp(state("x", "DRAFT", 10, { transition: "YIELD" }));
  assert.equal(store.getTask("x")?.state, "DRAFT");
  await assert.rejects(
    store.appendOp(state("x", "DRAFT", 11, { transition: "RELEASE" })),
    code("E_PLAN_TRANSITION"),
  );
  await store.appendOps(forward("x", "COMMITTED", 11));
  await store.appendOp(state("x", "DRAFT", 20, { transition: "INVALIDATE" }));
  assert.equal(store.getTask("x")?.state, "DRAFT");
});

Deno.test("a STATE op that orders before the task's latest state op is refused", async () => {
  const store = await openStore();
  await store.appendOps([addTask("x", 1), state("x", "DECIDED", 5, { epoch: 2 })]);
  await assert.rejects(
    store.appendOp(state("x", "CLAIMED", 9, { epoch: 1 })),
    (error: unknown) => code("E_PLAN_TRANSITION")(error) && /orders before/.test(String(error)),
  );
  await store.appendOp(state("x", "CLAIMED", 6, { epoch: 2 }));
  assert.equal(store.getTask("x")?.state, "CLAIMED");
});

Deno.test("a LINK that would close a cycle is refused with E_PLAN_CYCLE naming the cycle", async () => {
  const store = await openStore();
  await store.appendOps([addTask("a", 1), addTask("b", 2), addTask("c", 3)]);
  await store.appendOps([link("a", "b", 4), link("b", "c", 5)]);
  await assert.rejects(store.appendOp(link("c", "a", 6)), (error: unknown) => {
    assert.ok(code("E_PLAN_CYCLE")(error));
    assert.deepEqual((error as { cycle: string[] }).cycle, ["c", "a", "b", "c"]);
    return true;
  });
  await assert.rejects(store.appendOp(link("a", "a", 6)), code("E_PLAN_CYCLE"));
  assert.equal(store.graph.edgeCount, 2);
});

Deno.test("appendOps() is all or nothing and checks later ops against earlier ones of the batch", async () => {
  const store = await openStore();
  await store.appendOps([
    addTask("a", 1),
    addTask("b", 1, { index: 1 }),
    link("a", "b", 1, { index: 2 }),
  ]);
  assert.deepEqual(store.graph.children("a"), ["b"]);
  await assert.rejects(
    store.appendOps([
      addTask("c", 2),
      link("b", "c", 2, { index: 1 }),
      link("c", "a", 2, { index: 2 }),
    ]),
    code("E_PLAN_CYCLE"),
  );
  assert.equal(store.getTask("c"), undefined, "nothing of the failed batch was written");
  assert.equal(store.getOpsForThread(T).length, 3);
});

Deno.test("annotations are last-writer-wins by (lamport, actor)", async () => {
  const store = await openStore();
  await store.appendOp(addTask("x", 1));
  await store.appendOp(annotate("x", "owner", "zoe", 5, "zoe"));
  await store.appendOp(annotate("x", "owner", "amy", 5, "amy"));
  await store.appendOp(annotate("x", "owner", "old", 3, "zzz"));
  assert.deepEqual(store.getTask("x")?.annotations, { owner: "zoe" });
  await store.appendOp(annotate("x", "owner", null, 6, "amy"));
  assert.deepEqual(store.getTask("x")?.annotations, { owner: null });
});

Deno.test("save() and load() carry a thread to a fresh store; saveIncremental() carries only new changes", async () => {
  const source = await openStore();
  await source.appendOps([addTask("a", 1), addTask("b", 2), link("a", "b", 3)]);
  const copy = await openStore();
  const loaded = await copy.load(T, source.save(T));
  assert.equal(loaded.length, 3);
  assert.deepEqual(copy.snapshot(), source.snapshot());
  const heads = source.heads(T);
  await source.appendOp(state("a", "DECIDED", 4));
  const increment = source.saveIncremental(T, heads);
  assert.ok(increment.length < source.save(T).length);
  const added = await copy.load(T, increment);
  assert.deepEqual(added.map((op) => op.kind), ["STATE"]);
  assert.deepEqual(copy.heads(T), source.heads(T));
});

Deno.test("load() of garbage is E_PLAN_SYNC_INVALID and leaves the store as it was", async () => {
  const store = await openStore();
  await store.appendOp(addTask("a", 1));
  const before = store.snapshot();
  await assert.rejects(store.load(T, new Uint8Array([1, 2, 3, 4])), code("E_PLAN_SYNC_INVALID"));
  assert.deepEqual(store.snapshot(), before);
});

Deno.test("mergeWithPeer() merges concurrent edits both ways into identical replicas", async () => {
  const left = await openStore();
  const right = await openStore();
  await left.appendOps([addTask("a", 1), addTask("b", 2, { actor: "alice" })]);
  await right.mergeWithPeer(left);
  await left.appendOp(link("a", "b", 3));
  await right.appendOp({ ...state("a", "DECIDED", 3), actor: "bob" });
  await right.appendOp(annotate("b", "k", "right", 4, "bob"));
  await left.appendOp(annotate("b", "k", "left", 4, "alice"));
  const toRight = await right.mergeWithPeer(left);
  await left.mergeWithPeer(right);
  assert.deepEqual(toRight.map((op) => op.kind).sort(), ["ANNOTATE", "LINK"]);
  assert.deepEqual(left.heads(T), right.heads(T));
  assert.deepEqual(left.snapshot(), right.snapshot());
  assert.equal(left.getTask("b")?.annotations.k, "right", "bob > alice at equal lamport");
});

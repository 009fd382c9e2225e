// Proves TaskView and GraphView answer by state, thread, readiness and graph shape, and resolve concurrent cycles alike everywhere.

import assert from "node:assert/strict";
import { addTask, forward, link, openStore, state, T } from "./_plan_fixtures.ts";

async function diamond() {
  const store = await openStore();
  await store.appendOps([
    addTask("root", 1),
    addTask("left", 2),
    addTask("right", 3),
    addTask("join", 4, { thread: "thread-2" }),
    link("root", "left", 5),
    link("root", "right", 6),
    link("left", "join", 7),
    link("right", "join", 8),
  ]);
  return store;
}

Deno.test("GraphView answers children, parents, ancestors, descendants and a topological order", async () => {
  const store = await diamond();
  const graph = store.graph;
  assert.deepEqual(graph.children("root"), ["left", "right"]);
  assert.deepEqual(graph.parents("join"), ["left", "right"]);
  assert.deepEqual(graph.ancestors("join"), ["left", "right", "root"]);
  assert.deepEqual(graph.descendants("root"), ["join", "left", "right"]);
  assert.deepEqual(graph.descendants("join"), []);
  assert.deepEqual(graph.topologicalOrder(), ["root", "left", "right", "join"]);
  assert.deepEqual(graph.topologicalOrder(["alone"]), ["alone", "root", "left", "right", "join"]);
  assert.equal(graph.findCycle(), undefined);
  const cycle = graph.cycleThrough("join", "root")!;
  assert.equal(cycle.length, 4);
  assert.deepEqual([cycle[0], cycle[1], cycle[3]], ["join", "root", "join"]);
  assert.ok(graph.hasEdge(cycle[1], cycle[2]) && graph.hasEdge(cycle[2], cycle[3]));
  assert.equal(graph.cycleThrough("root", "join"), undefined);
});

Deno.test("TaskView lists tasks by state and thread, and ready tasks as DRAFT with every parent FINAL", async () => {
  const store = await diamond();
  const tasks = store.tasks;
  assert.deepEqual(tasks.byThread(T), ["left", "right", "root"]);
  assert.deepEqual(tasks.byThread("thread-2"), ["join"]);
  assert.deepEqual(tasks.ready(), ["root"]);
  await store.appendOps(forward("root", "VERIFIED", 10));
  assert.deepEqual(tasks.byState("VERIFIED"), ["root"]);
  assert.deepEqual(tasks.ready(), [], "VERIFIED is not finished");
  await store.appendOp(state("root", "FINAL", 20));
  assert.deepEqual(tasks.ready(), ["left", "right"]);
  await store.appendOps(forward("left", "FINAL", 21));
  assert.deepEqual(tasks.ready(), ["right"], "join still waits for right");
  await store.appendOps(forward("right", "CLAIMED", 30));
  await store.appendOp(state("right", "DRAFT", 40, { transition: "RELEASE" }));
  assert.deepEqual(tasks.ready(), ["right"], "a released task is ready again");
  await store.appendOps(forward("right", "FINAL", 41).slice(1));
  assert.deepEqual(tasks.ready(), ["join"]);
  assert.deepEqual(tasks.byState("FINAL"), ["left", "right", "root"]);
  assert.deepEqual(tasks.byState("DRAFT"), ["join"]);
});

Deno.test("a new edge to a FINAL-blocked task takes it out of the ready set", async () => {
  const store = await openStore();
  await store.appendOps([addTask("a", 1), addTask("b", 2)]);
  assert.deepEqual(store.tasks.ready(), ["a", "b"]);
  await store.appendOp(link("a", "b", 3));
  assert.deepEqual(store.tasks.ready(), ["a"]);
});

Deno.test("concurrent links that close a cycle together keep the earlier one on every replica", async () => {
  const left = await openStore();
  const right = await openStore();
  await left.appendOps([addTask("a", 1), addTask("b", 2)]);
  await right.mergeWithPeer(left);
  await left.appendOp({ ...link("a", "b", 10), actor: "bob" });
  await right.appendOp({ ...link("b", "a", 10), actor: "amy" });
  await left.mergeWithPeer(right);
  await right.mergeWithPeer(left);
  for (const replica of [left, right]) {
    assert.deepEqual(replica.graph.edges(), [["b", "a"]], "amy orders before bob at lamport 10");
    assert.deepEqual(replica.graph.rejectedLinks(), ["10/0/bob"]);
  }
  assert.equal(left.graph.rebuilds, 1, "left accepted bob's link first, so it had to rebuild");
  assert.equal(right.graph.rebuilds, 0, "right rejected the later link directly");
  assert.deepEqual(left.snapshot(), right.snapshot());
});

Deno.test("a child linked before its parent's ADD_TASK arrives becomes ready when the FINAL parent does", async () => {
  // The parent is added in another thread, which a replica may receive last.
  const store = await openStore();
  await store.importOps([
    state("parent", "FINAL", 1),
    addTask("child", 2),
    link("parent", "child", 3),
  ]);
  assert.deepEqual(store.tasks.ready(), [], "the child waits for a parent it does not know yet");
  await store.importOps([addTask("parent", 4, { thread: "thread-2" })]);
  assert.deepEqual(store.tasks.ready(), ["child"]);
});

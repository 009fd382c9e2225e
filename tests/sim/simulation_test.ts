// Proves simulated nodes crash (losing memory, keeping their store), restart, pause and skew their clocks deterministically.
import assert from "node:assert/strict";
import { type NodeStatus, nodeStatus, type NodeStatusMessage } from "../../actors/node_status.ts";
import type { ActorRef } from "../../runtime/actor.ts";
import { Simulation, SimulationError } from "../../sim/simulation.ts";
import { SIM_EPOCH_NS } from "../../sim/sim_env.ts";

async function statusOf(simulation: Simulation, nodeId: string): Promise<NodeStatus> {
  const system = simulation.node(nodeId).system;
  assert.ok(system, `${nodeId} is up`);
  const ref = system.lookup<NodeStatusMessage>("/user/status") as ActorRef<NodeStatusMessage>;
  const reply = system.ask<NodeStatusMessage, NodeStatus>(
    ref,
    (replyTo) => ({ type: "status", replyTo }),
  );
  await simulation.run(1);
  return await reply;
}

function statusSwarm(seed = 1) {
  const simulation = new Simulation({ seed });
  const heartbeats: string[] = [];
  for (const id of ["a", "b"]) {
    simulation.addNode(id, (system) => {
      system.spawn(
        () =>
          nodeStatus({
            heartbeatMs: 100,
            onHeartbeat: (s) => heartbeats.push(`${s.nodeId}#${s.boots}`),
          }),
        {
          name: "status",
        },
      );
    });
  }
  return { simulation, heartbeats };
}

Deno.test("a crash loses the node's actors and timers; a restart boots from the kept store", async () => {
  const { simulation, heartbeats } = statusSwarm();
  await simulation.run(250);
  assert.equal((await statusOf(simulation, "a")).boots, 1);
  simulation.crash("a");
  assert.equal(simulation.node("a").up, false);
  const before = heartbeats.length;
  await simulation.run(500);
  assert.ok(
    heartbeats.slice(before).every((beat) => beat.startsWith("b")),
    "a's timers died with it",
  );
  simulation.restart("a");
  await simulation.run(250);
  const status = await statusOf(simulation, "a");
  assert.equal(status.boots, 2, "the boot counter survived in the store");
  assert.equal(status.heartbeats, 2, "memory started from zero");
});

Deno.test("crash and restart refuse nodes in the wrong state with typed errors", () => {
  const { simulation } = statusSwarm();
  assert.throws(
    () => simulation.restart("a"),
    (error: SimulationError) => error.code === "E_SIM_NODE_UP",
  );
  assert.throws(
    () => simulation.node("zz"),
    (error: SimulationError) => error.code === "E_SIM_NODE",
  );
  assert.throws(() => simulation.addNode("a", () => {}), /already exists/);
  assert.throws(
    () => new Simulation({ seed: 1.5 }),
    (error: SimulationError) => error.code === "E_SIM_SEED",
  );
});

Deno.test("a paused node does nothing until resumed, then catches up", async () => {
  const { simulation, heartbeats } = statusSwarm();
  await simulation.run(50);
  simulation.pause("b");
  await simulation.run(1_000);
  assert.equal(heartbeats.filter((beat) => beat.startsWith("b")).length, 0);
  assert.ok(heartbeats.filter((beat) => beat.startsWith("a")).length >= 9);
  simulation.resume("b");
  await simulation.run(1_000);
  assert.ok(heartbeats.filter((beat) => beat.startsWith("b")).length >= 9);
});

Deno.test("node clocks start at the simulation epoch and follow skew and drift", async () => {
  const simulation = new Simulation({ seed: 1 });
  simulation.addNode("n", () => {});
  const clock = simulation.node("n").clock;
  assert.equal(clock.nowNs(), SIM_EPOCH_NS);
  clock.offsetNs = 5_000_000n;
  clock.driftPpm = 100;
  await simulation.run(10_000);
  assert.equal(clock.nowNs(), SIM_EPOCH_NS + 10_000_000_000n + 5_000_000n + 1_000_000n);
});

Deno.test("buggify is off unless the run enables it", () => {
  const off = new Simulation({ seed: 1 });
  const on = new Simulation({ seed: 7, buggify: true });
  on.faults.activationRate = 1;
  on.faults.fireRate = 1;
  assert.equal(off.faults.buggify("x"), false);
  assert.equal(on.faults.buggify("x"), true);
  assert.deepEqual(Object.fromEntries(on.faults.fired), { x: 1 });
});

Deno.test("a fault point that fires tells which node reached it and the NEED it named", () => {
  const simulation = new Simulation({ seed: 7, buggify: true });
  simulation.faults.activationRate = 1;
  simulation.faults.fireRate = 1;
  const fires: unknown[] = [];
  simulation.faults.onFire = (fire) => fires.push(fire);
  assert.equal(simulation.faults.forNode("n1").buggify("worker.stall", "need-1"), true);
  assert.equal(simulation.faults.buggify("core.crash"), true);
  assert.deepEqual(fires, [
    { name: "worker.stall", node: "n1", subject: "need-1" },
    { name: "core.crash", node: undefined, subject: undefined },
  ]);
});

Deno.test("the same seed replays node crashes and restarts to the same trace hash", async () => {
  const run = async () => {
    const { simulation } = statusSwarm(5);
    simulation.at(120, "nemesis", () => simulation.crash("b"));
    simulation.at(480, "nemesis", () => simulation.restart("b"));
    await simulation.run(1_000);
    return simulation.traceHash;
  };
  assert.equal(await run(), await run());
});

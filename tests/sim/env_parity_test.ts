// Proves the same actor code runs unchanged on the real host and in the simulator, with the same observable outcome.
import assert from "node:assert/strict";
import type { ChatterMessage, ChatterReport } from "../../actors/chatter.ts";

type ChatterStats = Pick<ChatterReport, "sent" | "received" | "acknowledged">;
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { ActorSystem } from "../../runtime/system.ts";
import { InProcHub } from "../../runtime/transport/inproc.ts";
import {
  bootChatterNode,
  chatterAddresses,
  chatterNodeIds,
  type ChatterScenario,
} from "../../sim/scenarios/chatter.ts";
import { Simulation } from "../../sim/simulation.ts";

const SCENARIO: ChatterScenario = {
  nodes: 3,
  actorsPerNode: 4,
  messageBudget: 50,
  pauseMaxMs: 2,
  forwardRate: 0,
  hopsMax: 0,
};
const CHATTERS = SCENARIO.nodes * SCENARIO.actorsPerNode;

/** Sums every chatter's counters, asking each through the given node's system. */
async function sumStats(
  systems: Map<string, ActorSystem>,
  settle: () => Promise<void>,
): Promise<ChatterStats> {
  const totals = { sent: 0, received: 0, acknowledged: 0 };
  for (const address of chatterAddresses(SCENARIO)) {
    const system = systems.get(address.node) as ActorSystem;
    const ref = system.lookup<ChatterMessage>(address.path);
    assert.ok(ref, `${address.node}${address.path} is alive`);
    const reply = system.ask<ChatterMessage, ChatterReport>(
      ref,
      (replyTo) => ({ type: "status", replyTo }),
    );
    await settle();
    const stats = await reply;
    totals.sent += stats.sent;
    totals.received += stats.received;
    totals.acknowledged += stats.acknowledged;
  }
  return totals;
}

async function onRealHost(): Promise<ChatterStats> {
  const hub = new InProcHub();
  let reported = 0;
  const nodes = [];
  for (const nodeId of chatterNodeIds(SCENARIO)) {
    const env = await RealEnv.open({ nodeId, transport: hub.connect(nodeId) });
    nodes.push({ nodeId, env, system: ActorSystem.create(env, { log: silentLogSink }) });
  }
  for (const { system } of nodes) bootChatterNode(system, SCENARIO, () => reported++);
  while (reported < CHATTERS) await new Promise((resolve) => setTimeout(resolve, 5));
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
  await pause();
  const stats = await sumStats(new Map(nodes.map((node) => [node.nodeId, node.system])), pause);
  for (const { env, system } of nodes) {
    await system.terminate();
    await env.close();
  }
  return stats;
}

async function inSimulation(): Promise<ChatterStats> {
  const simulation = new Simulation({ seed: 3 });
  for (const nodeId of chatterNodeIds(SCENARIO)) {
    simulation.addNode(nodeId, (system) => bootChatterNode(system, SCENARIO, () => {}));
  }
  await simulation.run(60_000);
  const systems = new Map(
    simulation.nodeIds.map((id) => [id, simulation.node(id).system as ActorSystem]),
  );
  return await sumStats(systems, async () => void await simulation.run(10));
}

Deno.test("chatter sends its budget and every chat is received and acknowledged, on the real host and in simulation", async () => {
  const expected = {
    sent: CHATTERS * SCENARIO.messageBudget,
    received: CHATTERS * SCENARIO.messageBudget,
  };
  for (const stats of [await onRealHost(), await inSimulation()]) {
    assert.deepEqual(stats, { ...expected, acknowledged: expected.sent });
  }
});

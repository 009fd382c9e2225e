// Proves, on the deterministic simulator with jittery, duplicating links, that every node folds the same ledger from the same messages (bounties, a frivolous challenge's bond, payouts) and that a seed replays to the same trace.
import assert from "node:assert/strict";
import type { ActorRef } from "../../runtime/actor.ts";
import { MemoryContentStore } from "../../runtime/store/memory_content_store.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import type { ActorSystem } from "../../runtime/system.ts";
import { simulationIdentity } from "../../protocols/identity/mod.ts";
import type { LedgerSummary } from "../../protocols/economics/mod.ts";
import { swarmParams } from "../../protocols/params.ts";
import { Simulation } from "../../sim/simulation.ts";
import type { NeedOutcome, RequesterMessage } from "../../actors/requester.ts";
import type { CoreMessage, CoreStats } from "../../actors/swarm_messages.ts";
import {
  SWARM_NODE_SUPERVISION,
  swarmNode,
  type SwarmNodeMessage,
  type SwarmNodeRefs,
} from "../../actors/swarm_node.ts";
import { bucketsOf } from "../../cli/local_swarm.ts";

const NODES = ["node-0", "node-1", "node-2", "node-3"];
const NEEDS = 6;

interface RunResult {
  readonly traceHash: string;
  readonly outcomes: NeedOutcome[];
  readonly summaries: LedgerSummary[];
  readonly stats: CoreStats[];
}

/** Resolves `promise` while the simulation runs (asks need virtual time to pass). */
async function settle<T>(
  simulation: Simulation,
  promise: Promise<T>,
  budgetMs = 60_000,
): Promise<T> {
  let done = false;
  let value: T | undefined;
  promise.then((result) => {
    done = true;
    value = result;
  });
  for (let waited = 0; !done && waited < budgetMs; waited += 50) await simulation.run(50);
  assert.ok(done, "the simulation answered in time");
  return value as T;
}

async function run(seed: number): Promise<RunResult> {
  const simulation = new Simulation({
    seed,
    link: { latencyMinMs: 1, latencyMaxMs: 20, duplicateRate: 0.05 },
  });
  const decideLog = new StoreDecideLog(new MemoryStore());
  const cas = new MemoryContentStore();
  const identities = await Promise.all(NODES.map((id) => simulationIdentity(seed, id)));
  const dids = identities.map((identity) => identity.did);
  const params = swarmParams({ challengeWindowMs: 200 });
  const systems = new Map<string, { system: ActorSystem; parent: ActorRef<SwarmNodeMessage> }>();
  NODES.forEach((id, index) => {
    simulation.addNode(id, (system) => {
      const parent = system.spawn<SwarmNodeMessage>(() =>
        swarmNode({
          nodeId: id,
          identity: identities[index],
          roles: {
            planner: index < 3,
            verifier: index < 3,
            // One worker: two would race for a task's lease (see the report).
            worker: index === 0,
            requester: true,
            challenger: index === 3,
            deciderBuckets: bucketsOf(index, NODES.length),
          },
          verifiers: dids.slice(0, 3),
          workers: dids.slice(0, 1),
          participants: dids.map((did) => ({ did })),
          decideLog,
          cas,
          params,
          policyHash: "none",
          auditShare: 1,
          byzantine: { challengeEverything: index === 3 },
        }), { name: "node", supervision: SWARM_NODE_SUPERVISION });
      systems.set(id, { system, parent });
    });
  });
  await simulation.run(10);
  const refs = new Map<string, SwarmNodeRefs>();
  for (const [id, { system, parent }] of systems) {
    refs.set(
      id,
      await settle(simulation, system.ask(parent, (replyTo) => ({ type: "refs", replyTo }))),
    );
  }
  const posts = Array.from({ length: NEEDS }, (_, index) => {
    const id = NODES[index % NODES.length];
    const { system } = systems.get(id)!;
    return system.ask<RequesterMessage, NeedOutcome>(
      refs.get(id)!.requester as ActorRef<RequesterMessage>,
      (replyTo) => ({
        type: "post",
        task: { op: "reverse", input: `sim ${index}`, rounds: 1 },
        bounty: 5,
        budget: 10,
        deadlineInMs: 30_000,
        replyTo,
      }),
      { timeoutMs: 60_000 },
    );
  });
  const outcomes = await settle(simulation, Promise.all(posts));
  await simulation.run(2_000); // let the last rulings and FINALIZEs reach everyone
  const ask = <R>(id: string, build: (replyTo: ActorRef<R>) => CoreMessage) =>
    settle(simulation, systems.get(id)!.system.ask<CoreMessage, R>(refs.get(id)!.core, build));
  const summaries: LedgerSummary[] = [];
  const stats: CoreStats[] = [];
  for (const id of NODES) {
    summaries.push(
      await ask<LedgerSummary>(id, (replyTo) => ({
        type: "ledger",
        query: { kind: "summary" },
        replyTo: replyTo as never,
      })),
    );
    stats.push(await ask<CoreStats>(id, (replyTo) => ({ type: "stats", replyTo })));
  }
  return { traceHash: simulation.traceHash, outcomes, summaries, stats };
}

Deno.test("simulated swarm (seed 5): every node ends with the same ledger, and the seed replays exactly", async () => {
  const first = await run(5);
  assert.deepEqual(first.outcomes.map((outcome) => outcome.status), new Array(NEEDS).fill("final"));
  for (const summary of first.summaries) {
    assert.equal(summary.invariant, "ok");
    assert.equal(summary.escrowsHeld, 0, "no escrow is stuck");
    assert.equal(summary.digest, first.summaries[0].digest, "the same ledger on every node");
  }
  // The frivolous challenger may open 5 challenges a minute: the 6th is refused at home.
  const rulings = first.stats[0].economics?.rulings ?? {};
  assert.deepEqual(rulings, { "REJECTED:E_PROOF_NOT_SHOWN": 5 }, "each frivolous challenge lost");
  assert.equal(first.stats[3].declined.E_CHALLENGE_RATE, 1);
  assert.equal(first.summaries[0].burned, 5 * 10, "10 % of each 100-credit bond burned");
  for (const each of first.stats) assert.deepEqual(each.economics?.ledgerErrors, {});
  const second = await run(5);
  assert.equal(second.traceHash, first.traceHash, "same seed, same trace");
  assert.equal(second.summaries[0].digest, first.summaries[0].digest);
});

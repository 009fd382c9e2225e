// Proves 4 `run node --consensus ap` processes split into two groups keep deciding and finalising on both sides, lend the absent owner's buckets, and after the heal converge: every NEED FINAL once, the same decision for every NEED on every node, the same ledger everywhere.
import assert from "node:assert/strict";
import { ProcessSwarm } from "../../cli/_process_swarm.ts";
import { SWARM_ROLES } from "../../cli/_swarm_members.ts";
import type { NeedStatus } from "../../actors/requester.ts";
import {
  describeThreads,
  distinctIds,
  postNeeds,
  readAuditLogs,
  untilEnded,
  untilHealth,
} from "./_swarm_checks.ts";

/**
 * Side A is nodes 0-1, side B nodes 2-3; node 0 decides the even buckets, node 2 the odd. While
 * split, a side finalises a NEED only when its own decider owns the bucket (a borrower decides but
 * leaves the payout to the owner), its plan committee and a preferred worker are on the side, and
 * its result committee holds the side's node that did not do the work (a worker leaves its own
 * result to the others): about 1 NEED in 6. 32 NEEDs a side make "nothing finalised on a side"
 * a 1-in-400 event.
 */
const LAYOUT = ["0/2", "none", "1/2", "none"].map((buckets) => ({ roles: SWARM_ROLES, buckets }));
const SIDE_A = [0, 1];
const SIDE_B = [2, 3];

interface Decisions {
  readonly epoch: number;
  readonly decisions: Record<string, { proposalId: string; decider: string }>;
  readonly stats: Record<string, number>;
}

Deno.test({
  name:
    "AP: two partitioned groups of processes both keep deciding and finalising, then converge on one decision per NEED",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "can-swarm-ap-partition-" });
    let swarm: ProcessSwarm | undefined;
    try {
      swarm = await ProcessSwarm.start({
        layout: LAYOUT,
        dataDir,
        consensus: "ap",
        challengeWindowMs: 300,
        admin: true,
      });
      // Connected: decisions go to each bucket's owner and are replicated to every node.
      const warm = await postNeeds(swarm, 4, "warm");
      const warmed = await untilEnded(swarm, warm, 30_000).catch(async (error) => {
        console.error(await describeStuck(swarm!, warm));
        throw error;
      });
      assert.deepEqual([...warmed.values()].map((need) => need.status), Array(4).fill("final"));

      await swarm.partition([SIDE_A, SIDE_B]);
      for (const index of [0, 2]) {
        await untilHealth(swarm, index, (health) => apStat(health, "borrowedNow") > 0, {
          timeoutMs: 15_000,
          detail: (health) => health.ap,
        });
      }
      const posted = await postNeeds(swarm, 64, "ap-split", 120_000);
      const onA = [...posted].filter(([, node]) => SIDE_A.includes(node)).map(([id]) => id);
      const onB = [...posted].filter(([, node]) => SIDE_B.includes(node)).map(([id]) => id);
      // AP: each side finalises NEEDs on its own while split (those its own decider owns).
      await untilFinalOnBothSides(swarm, onA, onB, 40_000);
      const seenByA = await fetch(`${swarm.url(0)}/needs/${onB[0]}`);
      assert.equal(seenByA.status, 404, "side A never heard of side B's NEEDs while split");
      await seenByA.body?.cancel();

      await swarm.heal();
      const outcomes = await untilEnded(swarm, posted, 45_000).catch(async (error) => {
        console.error(await describeStuck(swarm!, posted));
        throw error;
      });
      const notFinal = [...outcomes.values()].filter((outcome) => outcome.status !== "final");
      if (notFinal.length > 0) console.error(await describeThreads(swarm, notFinal.slice(0, 3)));
      assert.deepEqual(notFinal, [], "every NEED is FINAL after the heal");

      const all = [...warm.keys(), ...posted.keys()];
      const views = await untilSameDecisions(swarm, all, 15_000);
      const stats = (index: number) => views[index].stats;
      assert.ok(stats(0).lent > 0 && stats(2).lent > 0, "each side's decider borrowed buckets");
      assert.ok(stats(0).returned > 0 && stats(2).returned > 0, "and gave them back on heal");
      assert.ok(views.some((view) => view.stats.adopted > 0), "replicas merged the other side's");
      const conflicts = views.reduce((sum, view) => sum + view.stats.conflicts, 0);
      const reconciled = views.reduce((sum, view) => sum + view.stats.reconciledNeeds, 0);
      assert.ok(conflicts === 0 || reconciled > 0, "conflicting decisions are reconciled");
      await untilSameLedger(swarm, 15_000);

      const stopping = swarm;
      const statuses = await stopping.stop();
      swarm = undefined;
      statuses.forEach((status, index) => {
        if (status.code === 0) return;
        const process = stopping.process(index);
        const last = [...(process?.lines.slice(-3) ?? []).map((line) => JSON.stringify(line))];
        console.error(
          `node-${index} exited ${status.code}:`,
          [...last, ...(process?.stderr.slice(-10) ?? [])].join("\n").slice(0, 4_000),
        );
      });
      assert.deepEqual(
        statuses.map((status) => status.code),
        Array(LAYOUT.length).fill(0),
        "clean exits",
      );
      const audited = await readAuditLogs(dataDir, LAYOUT.map((_, index) => `node-${index}`));
      const finalizes = distinctIds(audited, "FINALIZE", (entry) => entry.taskId ?? "?");
      for (const [taskId, ids] of finalizes) {
        assert.equal(ids.size, 1, `one FINALIZE for task ${taskId}: nothing is paid twice`);
      }
      const finalised = new Set(
        audited.filter((entry) => entry.kind === "FINALIZE").map((e) => e.thread),
      );
      for (const needId of all) assert.ok(finalised.has(needId), `${needId} has a FINALIZE`);
    } finally {
      await swarm?.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

/** For a failing run: the NEEDs still in flight, as every node's thread and replica see them. */
async function describeStuck(
  swarm: ProcessSwarm,
  posted: ReadonlyMap<string, number>,
): Promise<string> {
  const open: string[] = [];
  for (const [needId, node] of posted) {
    const list = await swarm.needs(node);
    if (list.find((need) => need.needId === needId)?.status === "in-flight") open.push(needId);
  }
  const lines = [await describeThreads(swarm, open.slice(0, 2).map((needId) => ({ needId })))];
  for (let index = 0; index < swarm.nodeIds.length; index++) {
    const view = await (await fetch(`${swarm.url(index)}/decisions`)).json() as Decisions;
    const decided = open.map((needId) => view.decisions[needId] ?? null);
    lines.push(`node-${index} replica (epoch ${view.epoch}): ${JSON.stringify(decided)}`);
  }
  return lines.join("\n");
}

function apStat(health: Record<string, unknown>, key: string): number {
  return (health.ap as Record<string, number> | undefined)?.[key] ?? 0;
}

/** Waits until at least one NEED of each side is FINAL while the sides are split. */
async function untilFinalOnBothSides(
  swarm: ProcessSwarm,
  onA: readonly string[],
  onB: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const final = async (indexes: readonly number[], needIds: readonly string[]) => {
    const lists = await Promise.all(indexes.map((index) => swarm.needs(index)));
    return lists.flat().some((need: NeedStatus) =>
      need.status === "final" && needIds.includes(need.needId)
    );
  };
  while (!(await final(SIDE_A, onA) && await final(SIDE_B, onB))) {
    if (performance.now() > deadline) {
      const sample = [...onA.slice(0, 2), ...onB.slice(0, 2)].map((needId) => ({ needId }));
      console.error(await describeThreads(swarm, sample));
      for (const [index, needIds] of [[0, onA], [2, onB]] as const) {
        const phases = await Promise.all(needIds.map(async (needId) => {
          const view = await (await fetch(`${swarm.url(index)}/needs/${needId}`)).json();
          return `${view.phase}/${view.tasks?.map((task: { status: string }) => task.status)}`;
        }));
        console.error(`side of node-${index}:`, phases.join(" "));
      }
      for (let index = 0; index < swarm.nodeIds.length; index++) {
        const warnings = swarm.process(index)?.stderr.slice(-15).join("\n");
        console.error(`node-${index} stderr:`, warnings?.slice(0, 3_000));
      }
      throw new Error("a side finalised nothing while split");
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Polls every node's /decisions until all hold the same decision for every NEED. */
async function untilSameDecisions(
  swarm: ProcessSwarm,
  needIds: readonly string[],
  timeoutMs: number,
): Promise<Decisions[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(
      swarm.nodeIds.map(async (_, index) =>
        (await (await fetch(`${swarm.url(index)}/decisions`)).json()) as Decisions
      ),
    );
    const key = (view: Decisions) =>
      JSON.stringify(needIds.map((needId) => view.decisions[needId] ?? null));
    const same = views.every((view) => key(view) === key(views[0]));
    const complete = needIds.every((needId) => views[0].decisions[needId] !== undefined);
    if (same && complete) return views;
    if (performance.now() > deadline) {
      assert.fail(`nodes disagree on decisions: ${views.map(key).join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Polls every node's /ledger until all report the same digest, with the invariant holding. */
async function untilSameLedger(swarm: ProcessSwarm, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ledgers = await Promise.all(
      swarm.nodeIds.map(async (_, index) =>
        (await (await fetch(`${swarm.url(index)}/ledger`)).json()) as {
          digest: string;
          invariant: string;
        }
      ),
    );
    assert.deepEqual(ledgers.map((ledger) => ledger.invariant), Array(LAYOUT.length).fill("ok"));
    if (ledgers.every((ledger) => ledger.digest === ledgers[0].digest)) return;
    if (performance.now() > deadline) {
      assert.fail(`ledgers differ: ${ledgers.map((ledger) => ledger.digest).join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

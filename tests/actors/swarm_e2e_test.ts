// Proves NEEDs become FINAL exactly once through the whole protocol on a real in-process swarm, with Deno KV or a real etcd deciding, across a node restart.
import assert from "node:assert/strict";
import { LocalSwarm, type LocalSwarmOptions } from "../../cli/local_swarm.ts";
import type { LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import { swarmParams } from "../../protocols/params.ts";
import { startEtcd } from "../../tools/etcd_server.ts";

/** Every message each node accepted, by node DID. */
class History {
  readonly accepted: { node: string; message: LifecycleMessage }[] = [];
  readonly hook = (message: LifecycleMessage, node: string) =>
    void this.accepted.push({ node, message });

  /** How many times each node accepted `kind` for each thread/task key. */
  counts(kind: string, key: (message: LifecycleMessage) => string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { node, message } of this.accepted) {
      if (message.kind !== kind) continue;
      const id = `${node} ${key(message)}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }
}

const PARAMS = swarmParams({ challengeWindowMs: 100 });

async function runNeeds(swarm: LocalSwarm, count: number, offset = 0) {
  return await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        swarm.post({ op: "sha256", input: `need ${offset + index}`, rounds: 2 }, {
          deadlineInMs: 60_000,
        }),
    ),
  );
}

/** Asserts every need is final, decided once in the log, and accepted once per node. */
async function assertExactlyOnce(
  swarm: LocalSwarm,
  history: History,
  needIds: string[],
  nodes: number,
) {
  for (const needId of needIds) {
    const decision = await swarm.decideLog.getDecide(needId);
    assert.ok(decision, `${needId} is in the decide log`);
  }
  const decides = history.counts("DECIDE", (message) => message.thread);
  const finalizes = history.counts(
    "FINALIZE",
    (message) => (message.payload as { taskId: string }).taskId,
  );
  assert.equal(decides.size, needIds.length * nodes, "every node accepted one DECIDE per need");
  assert.ok([...decides.values()].every((count) => count === 1), "no DECIDE was accepted twice");
  assert.equal(finalizes.size, needIds.length * nodes, "every node accepted one FINALIZE per task");
  assert.ok(
    [...finalizes.values()].every((count) => count === 1),
    "no FINALIZE was accepted twice",
  );
  const decidedProposal = new Map<string, string>();
  for (const { message } of history.accepted.filter((entry) => entry.message.kind === "DECIDE")) {
    const proposalId = (message.payload as { proposalId: string }).proposalId;
    const known = decidedProposal.get(message.thread);
    assert.ok(
      known === undefined || known === proposalId,
      `all nodes agree on the plan of ${message.thread}`,
    );
    decidedProposal.set(message.thread, proposalId);
  }
}

async function endToEnd(options: Partial<LocalSwarmOptions>) {
  const history = new History();
  const swarm = await LocalSwarm.start({
    nodes: 3,
    params: PARAMS,
    consensus: "kv",
    onAccepted: history.hook,
    ...options,
  });
  try {
    const outcomes = await runNeeds(swarm, 100);
    assert.deepEqual(outcomes.filter((outcome) => outcome.status !== "final"), []);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the last FINALIZEs reach every node
    await assertExactlyOnce(swarm, history, outcomes.map((outcome) => outcome.needId), 3);
    assert.equal(swarm.deciderStats.conflicts, 0);
    assert.equal(swarm.deciderStats.decided, 100);
  } finally {
    await swarm.stop();
  }
}

Deno.test("100 needs reach FINAL exactly once each with Deno KV deciding", async () => {
  await endToEnd({ consensus: "kv" });
});

Deno.test("100 needs reach FINAL exactly once each with a real etcd deciding", async () => {
  const etcd = await startEtcd(1);
  try {
    await endToEnd({ consensus: "etcd", etcdEndpoints: etcd.endpoints });
  } finally {
    await etcd.stop();
  }
});

Deno.test("a verifier node killed and restarted mid-run loses and duplicates no decision", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "can-swarm-e2e-" });
  const history = new History();
  const swarm = await LocalSwarm.start({
    nodes: 3,
    params: PARAMS,
    consensus: "kv",
    dataDir,
    onAccepted: history.hook,
  });
  try {
    const first = runNeeds(swarm, 40);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await swarm.restart(1);
    const second = await runNeeds(swarm, 40, 40);
    const [survivorA, survivorB] = [swarm.dids[0], swarm.dids[2]];
    const published = history.accepted
      .filter(({ node, message }) =>
        message.kind === "NEED" && (node === survivorA || node === survivorB)
      )
      .map(({ message }) => message.thread);
    assert.ok(published.length >= 66, `the other nodes heard ${published.length} needs`);
    for (const needId of published) {
      assert.ok(await swarm.decideLog.getDecide(needId), `${needId} was decided`);
    }
    assert.ok(
      second.every((outcome) => outcome.status === "final"),
      "needs after the restart all finish",
    );
    const abandoned = (await first).filter((outcome) => outcome.status === "abandoned");
    assert.ok(
      abandoned.length <= 14,
      "only needs posted at the restarted node lose their requester",
    );
    assert.ok(abandoned.every((outcome) => outcome.needId.startsWith("node-1-")));
    assert.ok(
      (await first).every((outcome) =>
        outcome.status === "final" || outcome.status === "abandoned"
      ),
      "needs in flight during the restart still finish",
    );
    for (const count of history.counts("DECIDE", (message) => message.thread).values()) {
      assert.equal(count, 1);
    }
    const replayed = history.accepted.filter(({ message }) => message.kind === "DECIDE");
    const proposals = new Map<string, string>();
    for (const { message } of replayed) {
      const proposalId = (message.payload as { proposalId: string }).proposalId;
      assert.equal(
        proposals.get(message.thread) ?? proposalId,
        proposalId,
        "one decision per need, everywhere",
      );
      proposals.set(message.thread, proposalId);
    }
  } finally {
    await swarm.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the commit gate catches a worker that understates its telemetry; honest workers finish the needs", async () => {
  const history = new History();
  const swarm = await LocalSwarm.start({
    nodes: 3,
    params: PARAMS,
    consensus: "kv",
    onAccepted: history.hook,
    byzantine: { 0: { understateTelemetry: true } },
  });
  try {
    const outcomes = await runNeeds(swarm, 30);
    assert.deepEqual(outcomes.filter((outcome) => outcome.status !== "final"), []);
    const cheater = swarm.dids[0];
    const commitsBy = new Map<string, string>();
    for (const { message } of history.accepted) {
      if (message.kind === "COMMIT") commitsBy.set(message.id, message.sender);
    }
    const verdicts = history.accepted.filter(({ message }) => message.kind === "ATTEST")
      .map(({ message }) =>
        message.payload as { commitId: string; verdict: string; evalDigest: string }
      );
    const onCheater = verdicts.filter((verdict) => commitsBy.get(verdict.commitId) === cheater);
    assert.ok(onCheater.length > 0, "the cheating worker committed some tasks");
    assert.ok(
      onCheater.every((verdict) => verdict.verdict === "fail"),
      "every one of them was failed",
    );
    assert.ok(
      verdicts.every((verdict) => /^[0-9a-f]{64}$/.test(verdict.evalDigest)),
      "ATTESTs carry the gate's digest",
    );
    const finalized = history.accepted.filter(({ message }) => message.kind === "FINALIZE")
      .map(({ message }) => commitsBy.get((message.payload as { commitId: string }).commitId));
    assert.ok(
      finalized.length > 0 && finalized.every((worker) => worker !== cheater),
      "only honest results became final",
    );
  } finally {
    await swarm.stop();
  }
});

// Property test of the thread book's convergence: gossip delivers a swarm's messages in any order and some
// twice, so a node that receives an honest run's messages shuffled and duplicated must end where a node that
// received them in order ends (same phases, decisions, task states, results, leases, rulings, and the same
// ledger to the micro-credit), with nothing left parked and only the refusals a late or repeated message earns.
// The runs are random: one or two NEEDs, one- or two-task plans, rival proposals, rejecting votes, yielded
// leases, rejected results, and challenges upheld or rejected.
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Outcome, ThreadBook } from "../../actors/_thread_book.ts";
import type {
  LifecycleMessage,
  LifecycleVerb,
  PayloadOf,
} from "../../protocols/lifecycle/payloads.ts";
import { resultCommitteeOf, type ThreadState } from "../../protocols/lifecycle/state.ts";
import { challengeBond } from "../../protocols/economics/bonds.ts";
import { swarmParams } from "../../protocols/params.ts";
import type { Economy } from "../../protocols/economics/economy.ts";
import {
  EVIDENCE,
  genesisEconomy,
  message,
  needPayload,
  VERIFIERS,
} from "../protocols/lifecycle/_fixture.ts";

const NOW_MS = 1_000;
const PARAMS = swarmParams({ bidWindowMs: 10_000, challengeWindowMs: 0 });
const BYTES = new Uint8Array([0]);
const WORKERS = ["did:worker-a", "did:worker-b", "did:worker-c"];
/** What a message may earn the first time it comes, late (a vote after its quorum was decided). */
const LATE = new Set(["E_OUT_OF_WINDOW"]);

const PEOPLE = [
  ...VERIFIERS,
  ...WORKERS,
  "did:requester",
  "did:planner-p1",
  "did:planner-p2",
  "did:decider",
  "did:challenger",
];

/** A node's thread book with its economy (every participant funded and staked at genesis). */
async function node(): Promise<{ readonly book: ThreadBook; readonly economy: Economy }> {
  const economy = await genesisEconomy(PARAMS, PEOPLE, VERIFIERS);
  const book = new ThreadBook({
    params: PARAMS,
    verifiers: VERIFIERS,
    bootstrap: false,
    parkingCapacity: 4_096,
    parkedTtlMs: 60_000,
    finishedRetentionMs: 60_000,
    economy,
  });
  return { book, economy };
}

/** Draws choices from the run's random numbers, in order. */
class Choices {
  #next = 0;
  constructor(readonly numbers: readonly number[]) {}
  of<T>(candidates: readonly T[]): T {
    return candidates[(this.numbers[this.#next++ % this.numbers.length] ?? 0) % candidates.length];
  }
  chance(oneIn: number): boolean {
    return this.of(Array.from({ length: oneIn }, (_, index) => index === 0));
  }
}

/** An honest swarm's messages, applied in order to `node`; every one must be accepted. */
class HonestRun {
  readonly messages: LifecycleMessage[] = [];
  #leases = 0;
  constructor(readonly node: ThreadBook, readonly choose: Choices) {}

  send<V extends LifecycleVerb>(kind: V, payload: PayloadOf[V], sender: string): LifecycleMessage {
    // The economy fills in what it decides: committees, a ruling's consequences.
    const needId = (payload as { needId: string }).needId;
    const stamped = this.node.stamp(kind, needId, payload, NOW_MS) as PayloadOf[V];
    const sent = message(kind, stamped, sender);
    const outcomes = this.node.apply(sent, BYTES, NOW_MS, kind === "DECIDE");
    assert.equal(outcomes[0].status, "accepted", `${kind}: ${JSON.stringify(outcomes[0])}`);
    this.messages.push(sent);
    return sent;
  }

  thread(needId: string): ThreadState {
    return this.node.thread(needId) as ThreadState;
  }

  /** Posts a NEED and takes it to a decision (when its votes reach a quorum). */
  decide(needId: string): void {
    this.send("NEED", needPayload({ needId, deadlineMs: 1_000_000 }), "did:requester");
    const proposals = this.choose.chance(3) ? ["p1", "p2"] : [this.choose.of(["p1", "p2"])];
    for (const proposal of proposals) {
      const tasks = proposal === "p1" ? ["t1"] : ["t1", "t2"];
      this.send("PROPOSE", {
        needId,
        proposalId: `${needId}~${proposal}`,
        ballot: 1,
        patch: [
          ...tasks.map((task) => ({
            op: "ADD_TASK" as const,
            taskId: `${needId}:${task}`,
            spec: { op: "sha256", input: `${proposal} ${task}`, rounds: 1 },
          })),
          ...(tasks.length === 2
            ? [{ op: "REQUIRES" as const, taskId: `${needId}:t2`, dependsOn: `${needId}:t1` }]
            : []),
        ],
        cost: 5,
        etaMs: 100,
        shardDependencies: [],
      }, `did:planner-${proposal}`);
    }
    const pinned = this.thread(needId).need.committee;
    const members = VERIFIERS.filter((did) =>
      pinned?.includes(did) ?? this.node.onCommittee("plan", needId, did)
    );
    for (const voter of members) {
      const thread = this.thread(needId);
      if (thread.quorumProposal !== undefined) break;
      const proposalId = `${needId}~${this.choose.of(proposals)}`;
      const verdict = this.choose.chance(4) ? "reject" : "approve";
      this.send("ATTEST_PLAN", { needId, proposalId, verdict }, voter);
    }
    const thread = this.thread(needId);
    const chosen = thread.quorumProposal;
    if (chosen === undefined) return; // no quorum: the NEED stays open
    this.send("DECIDE", {
      needId,
      proposalId: chosen,
      epoch: 0,
      lamport: 10,
      kPlan: thread.kPlan,
      decider: "did:decider",
      fence: 1,
      decidedAtMs: NOW_MS,
      approvers: [...(thread.proposals.get(chosen)?.tally.approvals ?? [])],
    }, "did:decider");
  }

  /** The decider rules on an open challenge of a verified task. */
  rule(needId: string, challengeId: string): boolean {
    const thread = this.thread(needId);
    const challenge = thread.challenges!.get(challengeId)!;
    const upheld = this.choose.chance(2);
    // The decider's node stamps the rest: the votes it saw, slashes, reward, the new committee.
    this.send(
      "INVALIDATE",
      {
        target: "CHALLENGE",
        needId,
        taskId: challenge.taskId,
        commitId: challenge.commitId,
        challengeId,
        verdict: upheld ? "UPHELD" : "REJECTED",
        code: upheld ? "OK" : "E_PROOF_NOT_SHOWN",
        severity: 0,
      } as PayloadOf["INVALIDATE"],
      "did:decider",
    );
    return true;
  }

  /** Takes one ready task of a decided NEED one step further; false when none can move. */
  advance(needId: string): boolean {
    const thread = this.thread(needId);
    if (thread.phase !== "DECIDED") return false;
    const task = [...thread.tasks.values()].find((each) =>
      each.status !== "FINAL" &&
      each.requires.every((required) => thread.tasks.get(required)?.status === "FINAL")
    );
    if (task === undefined) return false;
    const { taskId } = task;
    const rejected = new Set([...task.commits.values()].map((commit) => commit.worker));
    switch (task.status) {
      case "DECIDED":
      case "DRAFT": {
        const eligible = WORKERS.filter((each) => !rejected.has(each));
        if (eligible.length === 0) return false; // every worker's result was turned down
        const worker = this.choose.of(eligible);
        this.send("CLAIM", {
          needId,
          taskId,
          leaseId: `lease-${++this.#leases}`,
          leaseTtlMs: 60_000,
          grantedAtMs: NOW_MS,
          cost: 5,
          etaMs: 100,
          heartbeatIntervalMs: 20_000,
          ...(task.leaseIds === undefined ? {} : { after: task.leaseIds.at(-1) }),
        }, worker);
        return true;
      }
      case "CLAIMED": {
        const lease = task.lease!;
        const ends = { needId, taskId, leaseId: lease.leaseId };
        if (this.choose.chance(4)) {
          const expiresAtMs = lease.expiresAtMs + 1_000;
          this.send("HEARTBEAT", { ...ends, expiresAtMs }, lease.holder);
        } else if (this.choose.chance(5)) {
          this.send("YIELD", { ...ends, reason: "busy" }, lease.holder);
        } else {
          this.send("COMMIT", {
            ...ends,
            artifacts: ["bafy-artifact"],
            outputDigest: "abc",
            verifyBounty: 2,
            telemetry: { costUnits: 1, timeMs: 2, memoryBytes: 3 },
          }, lease.holder);
        }
        return true;
      }
      case "COMMITTED": {
        const commitId = [...task.commits.keys()].at(-1)!;
        const commit = task.commits.get(commitId)!;
        // Some votes fail the result; enough of them reject it and reopen the task.
        const fails = WORKERS.indexOf(commit.worker) === this.choose.of([0, 1, 2, 3, 4, 5]);
        const pinned = resultCommitteeOf(thread, task);
        const voter = VERIFIERS.find((did) =>
          (pinned?.includes(did) ?? this.node.onCommittee("result", taskId, did)) &&
          did !== commit.worker &&
          !commit.tally.approvals.includes(did) && !commit.tally.rejections.includes(did)
        )!;
        this.send("ATTEST", {
          needId,
          taskId,
          commitId,
          verdict: fails ? "fail" : "pass",
          evalDigest: fails ? "wrong" : "digest",
        }, voter);
        return true;
      }
      case "VERIFIED": {
        const commitId = task.verifiedCommit!;
        const open = [...thread.challenges?.values() ?? []].find((each) =>
          each.commitId === commitId && each.verdict === undefined
        );
        if (open !== undefined) return this.rule(needId, open.challengeId);
        if (this.choose.chance(4)) {
          this.send("CHALLENGE", {
            needId,
            taskId,
            commitId,
            proofType: "OUTPUT_MISMATCH",
            evidence: EVIDENCE,
            evidenceBytes: 5,
            bond: challengeBond("OUTPUT_MISMATCH", "SIMPLE", PARAMS.economics),
          }, "did:challenger");
          return true;
        }
        this.send("FINALIZE", {
          needId,
          taskId,
          commitId,
          attesters: [...task.commits.get(commitId)!.tally.approvals],
          kResult: task.kResult,
        }, "did:decider");
        return true;
      }
      default:
        return false;
    }
  }
}

/** What must agree between two nodes: per NEED, its phase, decision, and every task's state. */
function summary(node: ThreadBook, needIds: readonly string[]) {
  return needIds.map((needId) => {
    const thread = node.thread(needId);
    return {
      needId,
      phase: thread?.phase,
      decided: thread?.decision?.proposalId,
      tasks: [...thread?.tasks.values() ?? []].map((task) => ({
        taskId: task.taskId,
        status: task.status,
        verified: task.verifiedCommit,
        lease: task.lease?.leaseId,
        commits: [...task.commits.keys()].sort(),
        kResult: task.kResult,
      })).sort((a, b) => a.taskId.localeCompare(b.taskId)),
      rulings: [...thread?.challenges?.values() ?? []].map((each) =>
        `${each.challengeId} ${each.verdict}`
      )
        .sort(),
    };
  });
}

/** Every participant's account, to the micro-credit. */
function accounts(economy: Economy) {
  return PEOPLE.map((did) => ({ did, ...economy.ledger.account(did) }));
}

Deno.test("a node fed an honest run's messages shuffled and repeated ends where the in-order node ends", async () => {
  let finals = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat(1_000), { minLength: 40, maxLength: 40 }),
      fc.integer({ min: 1, max: 2 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 12 }),
      fc.infiniteStream(fc.nat()),
      async (numbers, needCount, repeats, order) => {
        const inOrder = await node();
        const run = new HonestRun(inOrder.book, new Choices(numbers));
        const needIds = Array.from({ length: needCount }, (_, index) => `need-${index}`);
        for (const needId of needIds) run.decide(needId);
        // The NEEDs' tasks move in an interleaving the choices pick.
        for (let steps = 0; steps < 200; steps++) {
          const moving = needIds.filter((needId) => run.thread(needId).phase === "DECIDED");
          if (moving.length === 0 || !run.advance(run.choose.of(moving))) break;
        }
        // Shuffled (a Fisher–Yates pass driven by the stream), then some repeated anywhere.
        const delivery = [...run.messages];
        const draws = order[Symbol.iterator]();
        for (let index = delivery.length - 1; index > 0; index--) {
          const swap = (draws.next().value as number) % (index + 1);
          [delivery[index], delivery[swap]] = [delivery[swap], delivery[index]];
        }
        for (const [which, where] of repeats) {
          delivery.splice(
            where % (delivery.length + 1),
            0,
            run.messages[which % run.messages.length],
          );
        }
        const shuffled = await node();
        const outcomes: Outcome[] = [];
        for (const each of delivery) {
          outcomes.push(...shuffled.book.apply(each, BYTES, NOW_MS, each.kind === "DECIDE"));
        }
        // Each message is taken once (a repeat may then be refused for anything), or refused as late.
        const taken = new Set<string>();
        const late = new Set<string>();
        for (const outcome of outcomes) {
          if (outcome.status === "accepted") taken.add(outcome.message.id);
          else if (outcome.status === "rejected" && !taken.has(outcome.message.id)) {
            assert.ok(
              LATE.has(outcome.code),
              `${outcome.message.kind} refused as ${outcome.code}: a message was lost to its order`,
            );
            late.add(outcome.message.id);
          }
        }
        for (const sent of run.messages) {
          assert.ok(taken.has(sent.id) || late.has(sent.id), `${sent.kind} ${sent.id} was lost`);
        }
        assert.equal(shuffled.book.parked, 0, "nothing is left waiting");
        assert.deepEqual(summary(shuffled.book, needIds), summary(inOrder.book, needIds));
        shuffled.economy.ledger.audit();
        assert.deepEqual(accounts(shuffled.economy), accounts(inOrder.economy), "the same ledger");
        finals += needIds.filter((needId) => inOrder.book.thread(needId)?.phase === "FINAL").length;
      },
    ),
    { numRuns: 1000 },
  );
  assert.ok(finals > 100, `the runs must mostly reach FINAL, ${finals} NEEDs did`);
});

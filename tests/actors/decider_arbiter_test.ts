// Proves a decider rules on a challenge its core already held unruled (it restarted, or took the bucket over), under its own fence of the bucket (held back until that fence is back), asks again for a ruling its core refused for a passing reason, and stops at a refusal no retry changes.
import assert from "node:assert/strict";
import { decider, type DeciderMessage, type DeciderStats } from "../../actors/decider.ts";
import type { ActorRef } from "../../runtime/actor.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import { bucketOf } from "../../runtime/store/decide_log.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import type { ThreadState } from "../../protocols/lifecycle/state.ts";
import { swarmParams } from "../../protocols/params.ts";
import { Simulation } from "../../sim/simulation.ts";

const NEED = "need-challenged";

/**
 * A decided NEED whose verified commit holds a challenge opened after its
 * window closed: the arbiter refuses it at once (no proof to fetch).
 */
function challengedThread(nowMs: number, decidedBy?: string): ThreadState {
  const commit = { commitId: "c1", worker: "did:w", artifacts: [], invalidated: false };
  const task = {
    taskId: "t1",
    status: "VERIFIED",
    verifiedCommit: "c1",
    finalizeAfterMs: nowMs - 2_000,
    commits: new Map([["c1", commit]]),
  };
  const challenge = {
    challengeId: "ch1",
    taskId: "t1",
    commitId: "c1",
    challenger: "did:c",
    openedAtMs: nowMs - 1_000,
  };
  return {
    needId: NEED,
    phase: "DECIDED",
    need: { needId: NEED, deadlineMs: nowMs + 86_400_000 },
    tasks: new Map([["t1", task]]),
    challenges: new Map([["ch1", challenge]]),
    ...(decidedBy === undefined ? {} : { decision: { decider: decidedBy, fence: 1 } }),
  } as unknown as ThreadState;
}

/**
 * Runs a decider for NEED's bucket over a core that holds the challenged
 * thread and answers the INVALIDATEs asked of it with `answers` in turn (the
 * last one repeated); returns the rulings asked for and the decider's stats.
 * With `decidedBy`, the NEED was decided by that decider, and this one
 * took the bucket over from it (its fence is the log's second).
 */
async function rulings(answers: readonly string[], runMs: number, decidedBy?: string) {
  const simulation = new Simulation({ seed: 7 });
  const asked: { challengeId: string; verdict: string; code: string; fence?: number }[] = [];
  const decideLog = new StoreDecideLog(new MemoryStore());
  if (decidedBy !== undefined) await decideLog.acquireFence(bucketOf(NEED), decidedBy);
  const stats: DeciderStats = { decided: 0, conflicts: 0, failures: 0 };
  simulation.addNode("n0", (system) => {
    const core = system.spawn<CoreMessage>(() => ({
      receive(ctx, message) {
        if (message.type === "open-threads") {
          message.replyTo.tell([challengedThread(ctx.nowMs(), decidedBy)]);
        }
        if (message.type !== "emit" || message.kind !== "INVALIDATE") return;
        const payload = message.payload as { challengeId: string; verdict: string; code: string };
        asked.push({
          challengeId: payload.challengeId,
          verdict: payload.verdict,
          code: payload.code,
          ...(message.fence === undefined ? {} : { fence: message.fence }),
        });
        const answer = answers[Math.min(asked.length, answers.length) - 1];
        message.replyTo?.tell(
          answer === "OK"
            ? { type: "emitted", id: `inv-${asked.length}`, kind: "INVALIDATE", thread: NEED }
            : { type: "refused", code: answer, message: "scripted", kind: "INVALIDATE" },
        );
      },
    }));
    system.spawn<DeciderMessage>(() =>
      decider({
        core,
        did: "did:d",
        decideLog,
        buckets: [bucketOf(NEED)],
        params: swarmParams({}),
      }, stats)
    );
  });
  await simulation.run(runMs);
  return { asked, stats };
}

Deno.test("a decider rules on a challenge its core held unruled before it started", async () => {
  const { asked, stats } = await rulings(["OK"], 60_000);
  assert.deepEqual(asked, [{
    challengeId: "ch1",
    verdict: "REFUSED",
    code: "E_CHALLENGE_WINDOW",
    fence: 1,
  }]);
  assert.equal(stats.rulingsRefused, undefined);
});

Deno.test("a ruling refused for a passing reason is asked for again until the core takes it", async () => {
  const { asked, stats } = await rulings(
    ["E_COMMITTEE_INVALID", "E_AWAITING_VOTES", "OK"],
    120_000,
  );
  assert.equal(asked.length, 3);
  assert.ok(asked.every((ruling) => ruling.challengeId === "ch1" && ruling.verdict === "REFUSED"));
  assert.deepEqual(stats.rulingsRefused, { E_COMMITTEE_INVALID: 1, E_AWAITING_VOTES: 1 });
});

Deno.test("a ruling refused for good is not asked for again, and one always refused gives up", async () => {
  const settled = await rulings(["E_CHALLENGE_RESOLVED"], 600_000);
  assert.equal(settled.asked.length, 1);
  assert.deepEqual(settled.stats.rulingsRefused, { E_CHALLENGE_RESOLVED: 1 });
  const hopeless = await rulings(["E_COMMITTEE_INVALID"], 3_600_000);
  assert.equal(hopeless.asked.length, 10, "bounded attempts");
});

Deno.test("a decider rules under its own fence, on a NEED it decided and on one its bucket's previous owner did", async () => {
  const { asked } = await rulings(["OK"], 60_000, "did:previous-owner");
  assert.deepEqual(asked, [{
    challengeId: "ch1",
    verdict: "REFUSED",
    code: "E_CHALLENGE_WINDOW",
    fence: 2,
  }]);
  const own = await rulings(["OK"], 60_000, "did:d");
  assert.equal(own.asked[0].fence, 2, "its own NEED's ruling carries its newest fence too");
});

/** A real log whose first fence take fails (out of reach), so a retry brings the fence back later. */
class FirstFenceLostLog extends StoreDecideLog {
  #lost = false;
  constructor() {
    super(new MemoryStore());
  }
  override acquireFence(bucket: number, holder: string) {
    if (this.#lost) return super.acquireFence(bucket, holder);
    this.#lost = true;
    return Promise.reject(new Error("decide log unreachable"));
  }
}

Deno.test("a decider taking a bucket holds a ruling on it back until the bucket's fence is back, then rules under it", async () => {
  const simulation = new Simulation({ seed: 7 });
  const asked: { atMs: number; fence?: number }[] = [];
  const stats: DeciderStats = { decided: 0, conflicts: 0, failures: 0 };
  const decideLog = new FirstFenceLostLog();
  simulation.addNode("n0", (system) => {
    const core = system.spawn<CoreMessage>(() => ({
      receive(ctx, message) {
        if (message.type === "open-threads") message.replyTo.tell([]);
        if (message.type === "watch") {
          // A bucket taken over (its fence in flight) whose challenge is opened meanwhile.
          const decider = message.role as unknown as ActorRef<DeciderMessage>;
          decider.tell({ type: "take-buckets", buckets: [bucketOf(NEED)] });
          const thread = challengedThread(ctx.nowMs(), "did:previous-owner");
          const effect = {
            type: "challenge-opened",
            needId: NEED,
            taskId: "t1",
            challengeId: "ch1",
          };
          decider.tell({ type: "effect", effect, thread } as DeciderMessage);
        }
        if (message.type !== "emit" || message.kind !== "INVALIDATE") return;
        asked.push({
          atMs: ctx.nowMs(),
          ...(message.fence === undefined ? {} : { fence: message.fence }),
        });
        message.replyTo?.tell({ type: "emitted", id: "inv", kind: "INVALIDATE", thread: NEED });
      },
    }));
    system.spawn<DeciderMessage>(() =>
      decider({ core, did: "did:d", decideLog, buckets: [], params: swarmParams({}) }, stats)
    );
  });
  await simulation.run(60_000);
  assert.equal(asked.length, 1, JSON.stringify(asked));
  assert.equal(asked[0].fence, 1, "under the fence the retried take brought back");
  assert.ok((stats.rulingsRefused?.E_UNFENCED ?? 0) >= 1, "held back while unfenced");
});

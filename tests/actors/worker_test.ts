// Proves a worker whose CLAIM the core answers too late (a busy core) keeps its lease and works once the thread shows the CLAIM, releases and bids again when the CLAIM never lands, asks again when the decide log does not answer its lease confirmation, renews before committing only a lease that has run a while (and announces the renewal), never announces an expiry earlier than one it announced (a periodic renewal finishing late, on the real clock), bids anew when its lease was freed before its COMMIT, frees its own lease whose grant went unanswered, bids again for a task reopened while its bid found the task held, and writes its signed COMMIT into its lease before publishing it (dropping it when the lease is gone, asking again when the log does not answer).
import assert from "node:assert/strict";
import type { ActorRef } from "../../runtime/actor.ts";
import { MemoryContentStore } from "../../runtime/store/memory_content_store.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import type { TaskState, ThreadState } from "../../protocols/lifecycle/state.ts";
import { worker } from "../../actors/worker.ts";
import type { CoreMessage, EmitRequest } from "../../actors/swarm_messages.ts";
import { base64UrlToBytes } from "../../protocols/identity/ed25519.ts";
import { SWARM_PARAMS_DEFAULT } from "../../protocols/params.ts";
import { simNode } from "../_sim_node.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { ActorSystem } from "../../runtime/system.ts";
import { silentLogSink } from "../../runtime/log.ts";

const DID = "did:key:z6MkWorkerUnderTest";
const SPEC = { op: "reverse", input: "hello swarm", rounds: 1 } as const;
const NEED_DEADLINE_MS = 5_000_000;

/** A thread with one task in `status`, leased under `leaseId` when CLAIMED. */
function threadWith(status: "DECIDED" | "DRAFT" | "CLAIMED", leaseId?: string): ThreadState {
  const task = {
    taskId: "task-1",
    spec: SPEC,
    requires: [],
    status,
    lease: leaseId === undefined ? undefined : { leaseId, holder: DID, expiresAtMs: 1e12 },
    commits: new Map(),
    verifiedCommit: undefined,
    rejectedWorkers: new Set(),
  } as unknown as TaskState;
  return {
    needId: "need-1",
    need: { needId: "need-1", deadlineMs: NEED_DEADLINE_MS },
    tasks: new Map([[task.taskId, task]]),
  } as unknown as ThreadState;
}

/** How a rig's stand-in core treats a worker's emits. */
interface RigOptions {
  /** A CLAIM is answered (`"answered"`), or never answered and applied (true) or lost (false). */
  readonly lands: boolean | "answered";
  readonly decideLog: StoreDecideLog;
  readonly cas?: MemoryContentStore;
  readonly heartbeatIntervalMs?: number;
  /** Delays the core's answer to a COMMIT by this many ms (a busy core signing it). */
  readonly commitAnswerMs?: number;
}

/**
 * Spawns a worker on `system` beside a stand-in core, and hands it one
 * ready task. The core holds and publishes the worker's CLAIM, records every
 * emit, and applies the CLAIM to the thread it serves as `lands` says.
 */
function workerRig(system: ActorSystem, options: RigOptions) {
  const { lands } = options;
  const emitted: { kind: string; payload: { leaseId: string } }[] = [];
  const held = new Map<string, EmitRequest>();
  const dropped: string[] = [];
  let thread = threadWith("DECIDED");
  const core = system.spawn<CoreMessage>(() => ({
    receive: (_ctx, received) => {
      if (received.type === "thread") return void received.replyTo.tell(thread);
      if (received.type === "drop-held") return void dropped.push(received.key);
      if (received.type === "emit" && received.hold !== undefined) {
        // Signed and held: the bytes stand for the envelope, the lease carries them.
        const id = `held-${held.size}`;
        held.set(received.hold, received);
        const bytes = new TextEncoder().encode(JSON.stringify(received.payload));
        return void received.replyTo?.tell({
          type: "held",
          id,
          kind: received.kind,
          thread: received.thread,
          bytes,
        });
      }
      const message = received.type === "publish-held"
        ? { ...held.get(received.key) as EmitRequest, replyTo: received.replyTo }
        : received.type === "emit"
        ? received
        : undefined;
      if (message === undefined) return;
      emitted.push(message as never);
      if (message.kind === "CLAIM" && lands !== "answered") {
        // Answered never (the ask times out); the CLAIM itself goes through when it lands.
        if (lands) thread = threadWith("CLAIMED", (message.payload as { leaseId: string }).leaseId);
        return;
      }
      const answer = () =>
        message.replyTo?.tell({ type: "emitted", id: "x", kind: message.kind, thread: "need-1" });
      if (message.kind === "COMMIT" && options.commitAnswerMs !== undefined) {
        return void setTimeout(answer, options.commitAnswerMs);
      }
      answer();
    },
  }), { name: "core" });
  const role = system.spawn(() =>
    worker({
      core,
      did: DID,
      decideLog: options.decideLog,
      cas: options.cas ?? new MemoryContentStore(),
      leaseTtlMs: 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 10_000,
    }), { name: "worker" });
  const ready = (shown: ThreadState) =>
    (role as ActorRef<unknown>).tell({
      type: "effect",
      effect: { type: "task-ready", needId: "need-1", taskId: "task-1" },
      thread: shown,
    });
  /** The task becomes ready. */
  const start = () => ready(thread);
  /** The task is reopened (a rejected result, a released lease). */
  const reopen = () => ready(threadWith("DRAFT"));
  return { start, reopen, emitted, held, dropped };
}

/**
 * Runs a worker against a core that never answers a CLAIM (its ask times
 * out) and, when `lands`, applies it: the thread then shows it.
 */
async function slowClaim(
  lands: boolean | "answered",
  decideLog = new StoreDecideLog(new MemoryStore()),
) {
  const node = await simNode();
  const { start, emitted, held, dropped } = workerRig(node.system, { lands, decideLog });
  await node.advance(1);
  start();
  const kinds = async (ms: number) => {
    await node.advance(ms);
    return emitted.map((message) => message.kind);
  };
  return { kinds, decideLog, emitted, held, dropped };
}

Deno.test("a worker whose CLAIM is answered too late works once the thread shows it", async () => {
  const { kinds, decideLog, emitted } = await slowClaim(true);
  assert.deepEqual(await kinds(1_000), ["CLAIM"]);
  assert.deepEqual(
    await kinds(15_000),
    ["CLAIM", "HEARTBEAT", "COMMIT"],
    "committed under the CLAIM, the lease renewed and announced first (it ran over 6 s)",
  );
  const lease = await decideLog.getLease("task-1");
  assert.equal(lease?.leaseId, emitted[0].payload.leaseId, "the lease is kept, not released");
});

Deno.test("a worker whose CLAIM never lands releases its lease and bids again", async () => {
  const { kinds, decideLog, emitted } = await slowClaim(false);
  assert.deepEqual(await kinds(40_000), ["CLAIM"], "still looking for the CLAIM (up to a lease)");
  assert.deepEqual(await kinds(30_000), ["CLAIM", "CLAIM"], "bid again after the last look");
  const [first, second] = emitted.map((message) => message.payload.leaseId);
  assert.notEqual(first, second, "a fresh lease");
  assert.equal((await decideLog.getLease("task-1"))?.leaseId, second, "the first was released");
});

/** A decide log that fails the first `outages` lease reads (out of reach) and counts renewals. */
class PatchyDecideLog extends StoreDecideLog {
  reads = 0;
  renewals = 0;
  constructor(readonly outages: number) {
    super(new MemoryStore());
  }
  override getLease(taskId: string) {
    if (++this.reads <= this.outages) return Promise.reject(new Error("decide log unreachable"));
    return super.getLease(taskId);
  }
  override renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    this.renewals++;
    return super.renewLease(taskId, leaseId, expiresAtMs);
  }
}

Deno.test("a worker whose lease confirmation goes unanswered asks again and commits", async () => {
  const decideLog = new PatchyDecideLog(2);
  const { kinds, emitted } = await slowClaim("answered", decideLog);
  assert.deepEqual(await kinds(1_000), ["CLAIM"], "the first confirmation failed");
  assert.deepEqual(await kinds(5_000), ["CLAIM", "COMMIT"], "committed once the log answered");
  assert.equal(decideLog.reads, 3);
  assert.equal(decideLog.renewals, 0, "a fresh lease is confirmed by reading it, not rewritten");
  assert.equal((await decideLog.getLease("task-1"))?.leaseId, emitted[0].payload.leaseId);
});

/** A decide log whose leases read as having run a while (20 s of a 60 s ttl left). */
class AgedLeaseLog extends StoreDecideLog {
  renewals = 0;
  renewedToMs: number | undefined;
  constructor() {
    super(new MemoryStore());
  }
  override async getLease(taskId: string) {
    const lease = await super.getLease(taskId);
    return lease && { ...lease, expiresAtMs: lease.expiresAtMs - 40_000 };
  }
  override renewLease(taskId: string, leaseId: string, expiresAtMs: number): Promise<boolean> {
    this.renewals++;
    this.renewedToMs = expiresAtMs;
    return super.renewLease(taskId, leaseId, expiresAtMs);
  }
}

Deno.test("a lease that has run a while is renewed, and the renewal announced, before the COMMIT", async () => {
  const decideLog = new AgedLeaseLog();
  const { kinds, emitted } = await slowClaim("answered", decideLog);
  // Peers judge the COMMIT by the expiry they know: without the HEARTBEAT a late one is refused.
  assert.deepEqual(await kinds(1_000), ["CLAIM", "HEARTBEAT", "COMMIT"]);
  assert.equal(decideLog.renewals, 1);
  const announced = (emitted[1].payload as unknown as { expiresAtMs: number }).expiresAtMs;
  assert.equal(announced, decideLog.renewedToMs, "the HEARTBEAT names the renewed expiry");
});

/** A decide log whose lease monitor frees the first lease just before the worker confirms it. */
class FreedBeforeConfirmLog extends StoreDecideLog {
  #freed = false;
  constructor() {
    super(new MemoryStore());
  }
  override async getLease(taskId: string) {
    const lease = await super.getLease(taskId);
    if (this.#freed || lease === undefined) return lease;
    this.#freed = true;
    await this.releaseLease(taskId, lease.leaseId);
    return await super.getLease(taskId);
  }
}

Deno.test("a worker whose lease was freed before its COMMIT looks at the task again and bids anew", async () => {
  // The task-ready of the reopening may reach the worker while it still holds the job (a stall);
  // it is passed over then, so the worker must look again once it gives the job up.
  const { kinds, emitted, decideLog } = await slowClaim("answered", new FreedBeforeConfirmLog());
  assert.deepEqual(await kinds(5_000), ["CLAIM", "CLAIM", "COMMIT"]);
  const [first, second, commit] = emitted.map((message) => message.payload.leaseId);
  assert.notEqual(first, second, "a new lease");
  assert.equal(commit, second, "committed under the new lease");
  assert.equal((await decideLog.getLease("task-1"))?.leaseId, second);
});

/** A content store that takes `ms` to store anything (a slow disk). */
class SlowContentStore extends MemoryContentStore {
  constructor(readonly ms: number) {
    super();
  }
  override async put(bytes: Uint8Array, codec?: number) {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
    return await super.put(bytes, codec);
  }
}

/** An aged-lease log whose first renewal (the first periodic heartbeat's) takes `ms`. */
class SlowFirstRenewalLog extends AgedLeaseLog {
  /** What the worker had emitted when the slow renewal finished. */
  emittedAtSlowFinish: string[] | undefined;
  #first = true;
  constructor(readonly ms: number, readonly emitted: () => string[]) {
    super();
  }
  override async renewLease(taskId: string, leaseId: string, expiresAtMs: number) {
    if (!this.#first) return await super.renewLease(taskId, leaseId, expiresAtMs);
    this.#first = false;
    await new Promise((resolve) => setTimeout(resolve, this.ms));
    const renewed = await super.renewLease(taskId, leaseId, expiresAtMs);
    this.emittedAtSlowFinish = this.emitted();
    return renewed;
  }
}

Deno.test("a periodic renewal that finishes after the one made before COMMIT is not announced (real clock)", async () => {
  const env = await RealEnv.open({ nodeId: "n0" });
  const system = ActorSystem.create(env, { log: silentLogSink });
  try {
    const kinds = () => emitted.map((message) => message.kind);
    const decideLog = new SlowFirstRenewalLog(300, kinds);
    // Heartbeats every 50 ms while the artifact takes 150 ms to store; the first heartbeat's
    // renewal finishes at about 350 ms, after the renewal before COMMIT (about 150 ms) and before
    // the core answers the COMMIT (about 750 ms), so the job is still live when it lands.
    const { start, emitted } = workerRig(system, {
      lands: "answered",
      decideLog,
      cas: new SlowContentStore(150),
      heartbeatIntervalMs: 50,
      commitAnswerMs: 600,
    });
    start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.ok(
      decideLog.emittedAtSlowFinish?.includes("COMMIT"),
      `the slow renewal finished after the COMMIT went out (${decideLog.emittedAtSlowFinish})`,
    );
    const announced = emitted.filter((message) => message.kind === "HEARTBEAT").map((message) =>
      (message.payload as unknown as { expiresAtMs: number }).expiresAtMs
    );
    assert.ok(announced.length >= 2, `heartbeats announced: ${announced}`);
    for (let index = 1; index < announced.length; index++) {
      assert.ok(
        announced[index] > announced[index - 1],
        `no HEARTBEAT moves the lease back (peers refuse it as late): ${announced}`,
      );
    }
  } finally {
    await system.terminate();
    await env.close();
  }
});

/** A decide log whose first lease grant is taken but its answer lost (the call times out). */
class LostGrantLog extends StoreDecideLog {
  releases = 0;
  #lost = false;
  constructor() {
    super(new MemoryStore());
  }
  override async tryLease(lease: Parameters<StoreDecideLog["tryLease"]>[0]) {
    const outcome = await super.tryLease(lease);
    if (this.#lost) return outcome;
    this.#lost = true;
    throw new Error("etcd did not answer within 5000 ms");
  }
  override releaseLease(taskId: string, leaseId: string): Promise<boolean> {
    this.releases++;
    return super.releaseLease(taskId, leaseId);
  }
}

Deno.test("a worker frees its own lease whose grant went unanswered, and claims the task", async () => {
  const decideLog = new LostGrantLog();
  const { kinds, emitted } = await slowClaim("answered", decideLog);
  assert.deepEqual(await kinds(5_000), ["CLAIM", "COMMIT"], "claimed under a fresh lease");
  assert.equal(decideLog.releases, 1, "the unanswered grant was freed");
  assert.equal((await decideLog.getLease("task-1"))?.leaseId, emitted[0].payload.leaseId);
});

Deno.test("the lease a worker takes carries the CLAIM it signed, and that CLAIM is the one it publishes", async () => {
  const { kinds, decideLog, emitted, held } = await slowClaim("answered");
  assert.deepEqual(await kinds(1_000), ["CLAIM", "COMMIT"]);
  const lease = await decideLog.getLease("task-1");
  assert.ok(lease?.claim !== undefined, "the lease carries a CLAIM");
  const carried = JSON.parse(new TextDecoder().decode(base64UrlToBytes(lease.claim)));
  assert.equal(carried.leaseId, lease.leaseId);
  assert.equal(carried.grantedAtMs, lease.grantedAtMs);
  assert.deepEqual(emitted[0].payload, carried, "the published CLAIM is the one in the lease");
  assert.deepEqual(carried, held.get(lease.leaseId)?.payload, "held under the lease id");
  assert.equal(
    lease.retainUntilMs,
    NEED_DEADLINE_MS + SWARM_PARAMS_DEFAULT.decideRetentionMs,
    "kept until the retention margin past the NEED's deadline",
  );
});

/** A decide log in which another worker holds `leaseId` on task-1. */
async function heldByAnother(leaseId: string): Promise<StoreDecideLog> {
  const decideLog = new StoreDecideLog(new MemoryStore());
  await decideLog.tryLease({
    taskId: "task-1",
    leaseId,
    holder: "did:key:z6MkAnotherWorker",
    grantedAtMs: 0,
    expiresAtMs: 60_000,
    epoch: 0,
  });
  return decideLog;
}

Deno.test("a worker whose bid the log refuses drops the CLAIM it signed for it", async () => {
  const decideLog = await heldByAnother("another");
  const { kinds, dropped, held } = await slowClaim("answered", decideLog);
  assert.deepEqual(await kinds(5_000), [], "nothing published");
  assert.deepEqual(dropped, [...held.keys()], "the CLAIM held for the bid");
});

Deno.test("a worker whose bid finds the task held, and that hears meanwhile of the task's reopening, bids again once the lease is freed", async () => {
  const decideLog = await heldByAnother("rejected-result");
  const node = await simNode();
  const rig = workerRig(node.system, { lands: "answered", decideLog });
  await node.advance(1);
  rig.start();
  rig.reopen(); // its result was rejected while this bid was on its way: passed over
  await node.advance(100);
  assert.equal(rig.emitted.length, 0, "the bid found the task held");
  await decideLog.releaseLease("task-1", "rejected-result", { force: true }); // freed by its decider
  await node.advance(10_000);
  assert.deepEqual(rig.emitted.map((message) => message.kind), ["CLAIM", "COMMIT"]);
  assert.equal((await decideLog.getLease("task-1"))?.leaseId, rig.emitted[0].payload.leaseId);
});

/** A decide log that notes what the worker had published when each COMMIT mark was asked for. */
class MarkWatchLog extends StoreDecideLog {
  publishedAtMarks: string[][] = [];
  published: () => string[] = () => [];
  /** Marks that fail before reaching the log (out of reach). */
  failures = 0;
  /** The lease monitor releases the lease just before the first mark lands. */
  releaseFirst = false;
  constructor() {
    super(new MemoryStore());
  }
  override async markCommitted(taskId: string, leaseId: string, commit: string) {
    this.publishedAtMarks.push(this.published());
    if (this.failures > 0) {
      this.failures--;
      throw new Error("decide log unreachable");
    }
    if (this.releaseFirst) {
      this.releaseFirst = false;
      await this.releaseLease(taskId, leaseId);
    }
    return await super.markCommitted(taskId, leaseId, commit);
  }
}

/** Runs a worker over a {@linkcode MarkWatchLog} set up by `setUp`. */
async function watchedMarks(setUp: (log: MarkWatchLog) => void) {
  const decideLog = new MarkWatchLog();
  setUp(decideLog);
  const run = await slowClaim("answered", decideLog);
  decideLog.published = () => run.emitted.map((message) => message.kind);
  return { ...run, decideLog };
}

Deno.test("a worker writes its signed COMMIT into its lease before it publishes it, and publishes that one", async () => {
  const { kinds, decideLog, emitted, held } = await watchedMarks(() => {});
  assert.deepEqual(await kinds(1_000), ["CLAIM", "COMMIT"]);
  assert.deepEqual(decideLog.publishedAtMarks, [["CLAIM"]], "marked before the COMMIT went out");
  const lease = await decideLog.getLease("task-1");
  assert.ok(lease?.commit !== undefined, "the lease carries the COMMIT");
  const carried = JSON.parse(new TextDecoder().decode(base64UrlToBytes(lease.commit)));
  assert.deepEqual(emitted[1].payload, carried, "the published COMMIT is the one in the lease");
  assert.deepEqual(carried, held.get(`${lease.leaseId}:commit`)?.payload);
  assert.equal(await decideLog.releaseLease("task-1", lease.leaseId), false, "no release now");
});

Deno.test("a worker whose lease is released before its COMMIT mark drops the COMMIT and bids anew", async () => {
  const { kinds, decideLog, emitted, dropped } = await watchedMarks((log) => {
    log.releaseFirst = true;
  });
  assert.deepEqual(await kinds(5_000), ["CLAIM", "CLAIM", "COMMIT"]);
  const [first, second, commit] = emitted.map((message) => message.payload.leaseId);
  assert.deepEqual(
    dropped,
    [`${first}:commit`],
    "the COMMIT under the released lease never went out",
  );
  assert.equal(commit, second, "committed under the new lease");
  assert.equal((await decideLog.getLease("task-1"))?.commit !== undefined, true);
});

Deno.test("a worker whose COMMIT mark goes unanswered asks again, and publishes once it is written", async () => {
  const { kinds, decideLog } = await watchedMarks((log) => {
    log.failures = 2;
  });
  assert.deepEqual(await kinds(1_000), ["CLAIM"], "held while the log does not answer");
  assert.deepEqual(await kinds(5_000), ["CLAIM", "COMMIT"]);
  assert.equal(decideLog.publishedAtMarks.length, 3);
});

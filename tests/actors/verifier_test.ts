// Proves a verifier whose artifact reads come over a network checks again a commit whose artifact was out of reach (and passes it once it arrives), while without rechecks, or for an artifact that differs, it fails the commit at once.
import assert from "node:assert/strict";
import type { CID } from "multiformats/cid";
import type { ActorRef } from "../../runtime/actor.ts";
import type { ContentStore } from "../../runtime/store/content_store.ts";
import { MemoryContentStore } from "../../runtime/store/memory_content_store.ts";
import type { CommitState, TaskState, ThreadState } from "../../protocols/lifecycle/state.ts";
import { swarmParams } from "../../protocols/params.ts";
import { runWork, sha256Hex } from "../../protocols/work.ts";
import { verifier } from "../../actors/verifier.ts";
import type { CoreMessage } from "../../actors/swarm_messages.ts";
import { simNode } from "../_sim_node.ts";

const DID = "did:key:z6MkVerifierUnderTest";
const SPEC = { op: "reverse", input: "hello swarm", rounds: 1 } as const;

/** A store that answers "absent" for the first `outages` reads (a peer out of reach). */
class PatchyStore implements ContentStore {
  reads = 0;
  constructor(readonly inner: MemoryContentStore, readonly outages: number) {}
  put(bytes: Uint8Array, codec?: number): Promise<CID> {
    return this.inner.put(bytes, codec);
  }
  has(cid: CID): Promise<boolean> {
    return this.inner.has(cid);
  }
  get(cid: CID): Promise<Uint8Array | undefined> {
    return ++this.reads <= this.outages ? Promise.resolve(undefined) : this.inner.get(cid);
  }
}

/** A thread with one task and one commit of `artifact`, judged by this verifier alone. */
function threadWith(artifact: string, outputDigest: string) {
  const commit = {
    commitId: "commit-1",
    worker: "did:key:z6MkWorker",
    leaseId: "lease-1",
    artifacts: [artifact],
    outputDigest,
    telemetry: { costUnits: 1, timeMs: 1, memoryBytes: 1 },
    verifyBounty: 1,
    tally: { approvals: new Set(), rejections: new Set() },
    committedAtMs: 0,
  } as unknown as CommitState;
  const task = {
    taskId: "task-1",
    spec: SPEC,
    requires: [],
    status: "COMMITTED",
    lease: undefined,
    commits: new Map([[commit.commitId, commit]]),
    verifiedCommit: undefined,
    kResult: 1,
  } as unknown as TaskState;
  return {
    needId: "need-1",
    need: { needId: "need-1" },
    resultCommittee: [DID],
    tasks: new Map([[task.taskId, task]]),
  } as unknown as ThreadState;
}

async function judge(options: { outages: number; recheckMs?: number[]; wrongBytes?: boolean }) {
  const node = await simNode();
  const emitted: { kind: string; payload: { verdict: string } }[] = [];
  const core = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => {
      if (message.type === "emit") emitted.push(message as never);
    },
  }), { name: "core" });
  const inner = new MemoryContentStore();
  const output = runWork(SPEC).output;
  const cid = await inner.put(new TextEncoder().encode(options.wrongBytes ? "other" : output));
  const cas = new PatchyStore(inner, options.outages);
  const role = node.system.spawn(() =>
    verifier({
      core,
      did: DID,
      verifiers: new Set([DID]),
      params: swarmParams(),
      cas,
      capsule: () => "capsule",
      artifactRecheckMs: options.recheckMs,
    }), { name: "verifier" });
  await node.advance(1);
  const thread = threadWith(cid.toString(), sha256Hex(output));
  (role as ActorRef<unknown>).tell({
    type: "effect",
    effect: { type: "commit-received", needId: "need-1", taskId: "task-1", commitId: "commit-1" },
    thread,
  });
  const verdicts = async (ms: number) => {
    await node.advance(ms);
    return emitted.filter((message) => message.kind === "ATTEST").map((message) =>
      message.payload.verdict
    );
  };
  return { verdicts, cas };
}

Deno.test("a verifier checks again a commit whose artifact was out of reach, and passes it when it comes", async () => {
  const { verdicts, cas } = await judge({ outages: 2, recheckMs: [1_000, 2_000, 4_000] });
  assert.deepEqual(await verdicts(500), [], "no verdict while the artifact is out of reach");
  assert.deepEqual(await verdicts(1_000), [], "still out of reach on the first recheck");
  assert.deepEqual(await verdicts(2_500), ["pass"], "passed once the artifact came");
  assert.equal(cas.reads, 3);
});

Deno.test("a verifier fails a commit whose artifact stays out of reach after its rechecks", async () => {
  const { verdicts, cas } = await judge({ outages: 10, recheckMs: [100, 200] });
  assert.deepEqual(await verdicts(1_000), ["fail"]);
  assert.equal(cas.reads, 3, "the first read and two rechecks");
});

Deno.test("without rechecks, or for an artifact that differs, the verdict is fail at once", async () => {
  const once = await judge({ outages: 1 });
  assert.deepEqual(await once.verdicts(10), ["fail"]);
  const differs = await judge({ outages: 0, recheckMs: [1_000], wrongBytes: true });
  assert.deepEqual(await differs.verdicts(10), ["fail"], "other bytes are not rechecked");
  assert.equal(differs.cas.reads, 1);
});

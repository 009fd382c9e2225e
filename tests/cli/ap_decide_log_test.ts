// Proves the AP decide log of run node processes: writes go to the bucket's home and are replicated to every peer, typed errors cross the wire, a partition lets both sides decide and a reconnection merges them to one winner everywhere, and malformed or foreign requests are refused with typed, counted errors.
import assert from "node:assert/strict";
import { ApDecideLog, type ApNetwork } from "../../cli/_ap_decide_log.ts";
import { bucketHomes } from "../../cli/_ap_lending.ts";
import { AP_METHODS, AP_SYNC_PAGE, ApRequestError, syncPage } from "../../cli/_ap_wire.ts";
import { ApReplica } from "../../protocols/consensus/ap_replica.ts";
import { bucketOf, StaleFenceError } from "../../runtime/store/decide_log.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { decodeWire, encodeWire } from "../../runtime/transport/frame_codec.ts";
import type { WireValue } from "../../runtime/wire.ts";
import { decideRecord } from "../runtime/store/_decide_record.ts";

/** A well-formed lease. */
const TINY_LEASE = {
  taskId: "t",
  leaseId: "l",
  holder: "h",
  grantedAtMs: 0,
  expiresAtMs: 1,
  epoch: 0,
};

/** node-a owns every bucket; node-b and node-c decide nothing (they write through node-a). */
const NODES = ["node-a", "node-b", "node-c"];

/** Three nodes' logs joined by an in-memory network that round-trips bodies through CBOR and can be cut. */
class Mesh {
  readonly logs = new Map<string, ApDecideLog>();
  readonly #cut = new Set<string>();
  readonly owners: Map<number, string>;

  constructor(owners: Map<number, string>) {
    this.owners = owners;
    for (const node of NODES) {
      const network: ApNetwork = {
        self: node,
        call: (to, method, body) => this.#call(node, to, method, body),
        connected: () => NODES.filter((other) => other !== node && this.reaches(node, other)),
      };
      const homeOf = (bucket: number) =>
        bucketHomes(this.owners, node, (other) => this.reaches(node, other))[bucket];
      this.logs.set(
        node,
        new ApDecideLog(new ApReplica(node, new MemoryStore()), network, { homeOf }),
      );
    }
  }

  log(node: string): ApDecideLog {
    return this.logs.get(node) as ApDecideLog;
  }

  reaches(from: string, to: string): boolean {
    return !this.#cut.has(`${from}|${to}`);
  }

  partition(left: readonly string[], right: readonly string[]): void {
    for (const a of left) for (const b of right) this.#cut.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  heal(): void {
    this.#cut.clear();
  }

  async close(): Promise<void> {
    for (const log of this.logs.values()) await log.close();
  }

  async #call(from: string, to: string, method: string, body: WireValue): Promise<WireValue> {
    if (!this.reaches(from, to)) throw new Error(`${from} cannot reach ${to}`);
    const log = this.log(to);
    const request = decodeWire(encodeWire(body));
    const reply = method === AP_METHODS.call
      ? await log.serveCall(request, from)
      : method === AP_METHODS.push
      ? await log.servePush(request, from)
      : log.serveSync(request, from);
    return decodeWire(encodeWire(reply));
  }
}

const record = (needId: string, decider: string, fence: number, lamport = 2) =>
  decideRecord({ needId, decider, fence, lamport, decidedAtMs: 1 });

const pushed = () => new Promise((resolve) => setTimeout(resolve, 30));

function allTo(node: string): Map<number, string> {
  return new Map(Array.from({ length: 256 }, (_, bucket) => [bucket, node]));
}

Deno.test("a decision written from any node lands at the bucket's home and reaches every replica", async () => {
  const mesh = new Mesh(allTo("node-a"));
  try {
    const bucket = bucketOf("need-1");
    const fence = await mesh.log("node-b").acquireFence(bucket, "did:b");
    assert.equal(mesh.log("node-a").replica.fenceOf(bucket)?.holder, "did:b", "fenced at the home");
    assert.deepEqual(await mesh.log("node-c").fenceHolder(bucket), fence, "read at the home");
    assert.equal(await mesh.log("node-c").fenceHolder((bucket + 1) % 256), undefined);
    const outcome = await mesh.log("node-b").tryDecide(record("need-1", "did:b", fence.token));
    assert.equal(outcome.status, "decided");
    await pushed();
    for (const node of NODES) {
      assert.equal((await mesh.log(node).replica.getDecide("need-1"))?.decider, "did:b", node);
    }
    const rival = await mesh.log("node-c").tryDecide(record("need-1", "did:c", fence.token));
    assert.equal(rival.status, "conflict", "the home refuses a second decision");
    // A stale fence comes back typed, with its numbers, as from a local log.
    await mesh.log("node-c").acquireFence(bucket, "did:c");
    const stale = await mesh.log("node-b").tryDecide(record(sameBucketNeed(bucket), "did:b", 1))
      .catch((error) => error);
    assert.ok(stale instanceof StaleFenceError, `got ${stale}`);
    assert.equal(stale.given, 1);
    assert.equal(stale.current, 2);
  } finally {
    await mesh.close();
  }
});

Deno.test("leases are granted once, at the home of the task's bucket", async () => {
  const mesh = new Mesh(allTo("node-a"));
  try {
    const lease = { taskId: "t1", holder: "w-b", grantedAtMs: 0, expiresAtMs: 10_000, epoch: 0 };
    const carried = { needId: "need-t", claim: "c2lnbmVkIENMQUlN", retainUntilMs: 3_600_000 };
    const first = await mesh.log("node-b").tryLease({ ...lease, ...carried, leaseId: "lb" });
    const second = await mesh.log("node-c").tryLease({ ...lease, leaseId: "lc", holder: "w-c" });
    assert.equal(first.status, "granted");
    assert.deepEqual(
      await mesh.log("node-a").getLease("t1"),
      { ...lease, ...carried, leaseId: "lb" },
      "its NEED, the CLAIM and the retention time cross the wire with the lease",
    );
    assert.equal(second.status, "held");
    assert.equal(await mesh.log("node-c").renewLease("t1", "lc", 20_000), false);
    assert.equal(await mesh.log("node-b").renewLease("t1", "lb", 20_000), true);
    assert.equal((await mesh.log("node-c").getLease("t1"))?.expiresAtMs, 20_000);
    assert.equal(await mesh.log("node-c").markCommitted("t1", "lc", "Y29tbWl0"), false);
    assert.equal(await mesh.log("node-b").markCommitted("t1", "lb", "Y29tbWl0"), true);
    assert.equal(await mesh.log("node-c").markFinal("t1", "lc"), false, "not the lease held");
    assert.equal(await mesh.log("node-c").markFinal("t1", "lb"), true, "the decider marks it");
    assert.equal((await mesh.log("node-a").getLease("t1"))?.final, true, "at the home");
    assert.equal((await mesh.log("node-a").getLease("t1"))?.commit, "Y29tbWl0");
    assert.equal(await mesh.log("node-c").releaseLease("t1", "lb"), false, "it carries a COMMIT");
    assert.equal(await mesh.log("node-c").releaseLease("t1", "lb", { force: true }), true);
    assert.equal(await mesh.log("node-a").getLease("t1"), undefined);
    await mesh.log("node-b").tryLease({ ...lease, leaseId: "lb2" });
    assert.equal(await mesh.log("node-b").releaseLease("t1", "lb2"), true);
    assert.equal(await mesh.log("node-a").getLease("t1"), undefined);
    await mesh.log("node-c").close();
    await assert.rejects(
      mesh.log("node-c").getLease("t1"),
      (error) => error instanceof ApRequestError && error.code === "E_AP_CLOSED",
      "a closed log calls no peer",
    );
  } finally {
    await mesh.close();
  }
});

Deno.test("both sides of a partition decide; after the heal a sync gives every node the same winner", async () => {
  // node-a owns the even buckets, node-c the odd ones.
  const owners = new Map(
    Array.from({ length: 256 }, (_, bucket) => [bucket, bucket % 2 === 0 ? "node-a" : "node-c"]),
  );
  const mesh = new Mesh(owners);
  try {
    const needId = needInBucket((bucket) => bucket % 2 === 0);
    const bucket = bucketOf(needId);
    const owner = await mesh.log("node-a").acquireFence(bucket, "did:a");
    await pushed();
    mesh.partition(["node-a", "node-b"], ["node-c"]);
    // node-c's side lends node-a's bucket to node-c, which fences it and decides.
    const borrowed = await mesh.log("node-c").acquireFence(bucket, "did:c");
    assert.equal(borrowed.token, owner.token + 1, "the borrower fences above what it had seen");
    await mesh.log("node-c").tryDecide(record(needId, "did:c", borrowed.token, 9));
    await mesh.log("node-b").tryDecide(record(needId, "did:a", owner.token, 4));
    assert.notEqual(
      (await mesh.log("node-a").getDecide(needId))?.decider,
      (await mesh.log("node-c").getDecide(needId))?.decider,
      "the sides decided differently",
    );
    mesh.heal();
    for (const node of NODES) {
      for (const peer of NODES) if (peer !== node) await mesh.log(node).syncWith(peer);
    }
    for (const node of NODES) {
      const winner = await mesh.log(node).getDecide(needId);
      assert.equal(winner?.decider, "did:c", `${node} keeps the higher lamport`);
      assert.equal(mesh.log(node).replica.fenceNow(bucket), borrowed.token);
    }
    const reported = NODES.reduce((sum, node) => sum + mesh.log(node).stats.conflicts, 0);
    assert.ok(reported >= 2, "the conflict is reported where the two decisions met");
    assert.ok(mesh.log("node-a").stats.orphaned >= 1);
  } finally {
    await mesh.close();
  }
});

Deno.test("malformed, foreign and misrouted requests get typed errors, are counted, and change nothing", async () => {
  const mesh = new Mesh(allTo("node-a"));
  const log = new ApDecideLog(
    new ApReplica("guarded"),
    { self: "node-a", call: () => Promise.reject(new Error("offline")), connected: () => [] },
    { homeOf: () => "node-a", isMember: (node) => node === "node-b" },
  );
  try {
    const bad: unknown[] = [
      null,
      "decide",
      [1, 2],
      { op: "nope" },
      { op: "decide", record: null },
      { op: "decide", record: { ...record("n", "d", 1), lamport: -1 } },
      { op: "decide", record: { ...record("n", "d", 1), needId: 7 } },
      { op: "decide", record: { ...record("n", "d", 1), decidedAtMs: "soon" } },
      { op: "fence", bucket: 256, holder: "h" },
      { op: "fence", bucket: 1.5, holder: "h" },
      { op: "fence-holder", bucket: -1 },
      { op: "lease", lease: { taskId: "t", leaseId: "l", holder: "h", epoch: 0 } },
      { op: "lease", lease: { ...TINY_LEASE, claim: 5 } },
      { op: "lease", lease: { ...TINY_LEASE, retainUntilMs: -1 } },
      { op: "decide", record: { ...record("n", "d", 1), retainUntilMs: "later" } },
      { op: "renew", taskId: "t", leaseId: "l", expiresAtMs: Infinity },
      { op: "lease", lease: { ...TINY_LEASE, commit: "" } },
      { op: "lease", lease: { ...TINY_LEASE, needId: 5 } },
      { op: "mark", taskId: "t", leaseId: "l" },
      { op: "final", taskId: "t" },
      { op: "lease", lease: { ...TINY_LEASE, final: false } },
      { op: "mark", taskId: "t", leaseId: "l", commit: "x".repeat(20_000) },
      { op: "release", taskId: "t", leaseId: "l", force: "yes" },
      { op: "get", needId: "x".repeat(300) },
    ];
    for (const body of bad) {
      await assert.rejects(
        log.serveCall(body as WireValue, "node-b"),
        (error) => error instanceof ApRequestError && error.code === "E_AP_REQUEST",
        JSON.stringify(body),
      );
    }
    await assert.rejects(log.servePush({ epoch: 0, fences: "all" } as WireValue, "node-b"));
    await assert.rejects(
      log.servePush({ epoch: 0, fences: [], decisions: [{}], leases: [] }, "node-b"),
    );
    assert.throws(() => log.serveSync({ after: 5 }, "node-b"), ApRequestError);
    await assert.rejects(
      log.serveCall({ op: "get", needId: "n" }, "node-x"),
      (error) => error instanceof ApRequestError && error.code === "E_AP_NOT_MEMBER",
    );
    await assert.rejects(log.serveCall({ op: "get", needId: "n" }, undefined));
    assert.equal(log.stats.rejected.E_AP_REQUEST, bad.length + 3);
    assert.equal(log.stats.rejected.E_AP_NOT_MEMBER, 2);
    assert.deepEqual(log.replica.snapshot().decisions, [], "nothing was written");
    // A call for a bucket homed elsewhere is answered with a typed refusal, not served.
    const notHome = await mesh.log("node-b").serveCall(
      { op: "fence", bucket: 3, holder: "h" },
      "c",
    );
    assert.deepEqual((notHome as { error: { code: string } }).error.code, "E_AP_NOT_HOME");
    assert.equal(mesh.log("node-b").stats.rejected.E_AP_NOT_HOME, 1);
    // The guarded log still serves a good request.
    assert.deepEqual(await log.serveCall({ op: "get", needId: "n" }, "node-b"), {
      ok: true,
      value: null,
    });
  } finally {
    await log.close();
    await mesh.close();
  }
});

Deno.test("syncPage() pages a large replica by cursor without losing or repeating a record", () => {
  const decisions = Array.from(
    { length: AP_SYNC_PAGE + 5 },
    (_, index) => record(`need-${index}`, "d", 1),
  );
  const leases = [TINY_LEASE];
  const snapshot = { epoch: 2, fences: [], decisions, leases };
  const first = syncPage(snapshot, null);
  assert.equal(first.decisions.length, AP_SYNC_PAGE);
  assert.notEqual(first.next, null);
  const second = syncPage(snapshot, first.next);
  assert.equal(second.next, null);
  const seen = [...first.decisions, ...second.decisions].map((each) => each.needId);
  assert.equal(new Set(seen).size, decisions.length);
  assert.equal(second.leases.length, 1);
  assert.equal(second.epoch, 2);
});

function needInBucket(accept: (bucket: number) => boolean): string {
  for (let index = 0;; index++) if (accept(bucketOf(`need-${index}`))) return `need-${index}`;
}

function sameBucketNeed(bucket: number): string {
  for (let index = 0;; index++) {
    const needId = `same-${index}`;
    if (bucketOf(needId) === bucket) return needId;
  }
}

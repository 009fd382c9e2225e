// Proves the node core refuses each bad envelope at ingress with its own code, counts it, and loses nothing: the thread still completes, and a message stalled for a lost one makes it ask its peers for the thread.
import assert from "node:assert/strict";
import type { ActorRef } from "../../runtime/actor.ts";
import { bucketOf } from "../../runtime/store/decide_log.ts";
import { StoreDecideLog } from "../../runtime/store/store_decide_log.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { envelopeId, signEnvelope } from "../../protocols/envelope/mod.ts";
import { Identity, simulationIdentity } from "../../protocols/identity/mod.ts";
import { committeeFor } from "../../protocols/committee.ts";
import type { LifecycleVerb, PayloadOf } from "../../protocols/lifecycle/payloads.ts";
import type { ThreadState } from "../../protocols/lifecycle/state.ts";
import { swarmParams } from "../../protocols/params.ts";
import { nodeCore, SYNC_TOPIC } from "../../actors/node_core.ts";
import type { CoreMessage, CoreStats } from "../../actors/swarm_messages.ts";
import { simNode } from "../_sim_node.ts";
import { SignedAuditLog } from "../../protocols/audit/mod.ts";
import { FileFrameLogDirectory } from "../../runtime/store/file_frame_log.ts";
import { loadBasePolicy, type LoadedPolicy } from "../../cli/_node_policy.ts";
import type { EmitResult, RoleEvent } from "../../actors/swarm_messages.ts";

const PARAMS = swarmParams({ challengeWindowMs: 1_000 });
const POLICY = "policy-under-test";
const NEED = "need-boundary";

interface Cast {
  readonly requester: Identity;
  readonly planner: Identity;
  readonly decider: Identity;
  readonly workerA: Identity;
  readonly workerB: Identity;
  readonly verifiers: Identity[];
}

async function cast(): Promise<Cast> {
  const make = (name: string) => simulationIdentity(7, name);
  return {
    requester: await make("requester"),
    planner: await make("planner"),
    decider: await make("decider"),
    workerA: await make("worker-a"),
    workerB: await make("worker-b"),
    verifiers: await Promise.all(
      Array.from({ length: 10 }, (_, index) => make(`verifier-${index}`)),
    ),
  };
}

/** What {@linkcode fixture} gives a test. */
type Fixture = Awaited<ReturnType<typeof fixture>>;

/** A core on a simulated node, fed envelopes as a peer would send them. */
async function fixture(
  options: {
    policy?: LoadedPolicy;
    decideMode?: "cp" | "ap";
    /** Keeps a signed audit log there. */
    auditDir?: string;
    finishedRetentionMs?: number;
    /** The store under the decide log (a test closes it to put the log out of reach). */
    logStore?: MemoryStore;
  } = {},
) {
  const people = await cast();
  const node = await simNode();
  const verifiers = people.verifiers.map((identity) => identity.did);
  const decideLog = new StoreDecideLog(options.logStore ?? new MemoryStore());
  const audit = options.auditDir === undefined ? undefined : new SignedAuditLog(
    await FileFrameLogDirectory.open(options.auditDir),
    nodeIdentity(people),
  );
  const core = node.system.spawn<CoreMessage>(() =>
    nodeCore({
      identity: nodeIdentity(people),
      decideLog,
      params: PARAMS,
      verifiers,
      policyHash: options.policy?.capsuleHash ?? POLICY,
      policy: options.policy?.gates(),
      bootstrap: false,
      decideMode: options.decideMode,
      audit,
      finishedRetentionMs: options.finishedRetentionMs,
    }), { name: "core" });
  await node.advance(1);
  let lamport = 0;
  /** A peer's envelope on the thread, signed but not sent. */
  const sign = <V extends LifecycleVerb>(
    kind: V,
    payload: PayloadOf[V],
    from: Identity,
    overrides: { policy?: string; epoch?: number; fence?: number } = {},
    capsule = options.policy?.capsuleHash ?? POLICY,
  ) =>
    signEnvelope({
      v: 1,
      kind,
      thread: NEED,
      sender: from.did,
      lamport: ++lamport,
      ts: 0n,
      nonce: crypto.getRandomValues(new Uint8Array(16)),
      payload: payload as never,
      policy: overrides.policy ?? capsule,
      ...(overrides.epoch === undefined ? {} : { epoch: overrides.epoch }),
      ...(overrides.fence === undefined ? {} : { fence: overrides.fence }),
    }, from);
  const send = async <V extends LifecycleVerb>(
    kind: V,
    payload: PayloadOf[V],
    from: Identity,
    overrides: { policy?: string; epoch?: number; fence?: number } = {},
    capsule = options.policy?.capsuleHash ?? POLICY,
  ) => {
    const envelope = await sign(kind, payload, from, overrides, capsule);
    core.tell({ type: "envelope", bytes: envelope.bytes });
    await node.advance(1);
    return envelope.id;
  };
  const sendBytes = async (bytes: unknown) => {
    core.tell({ type: "envelope", bytes } as CoreMessage);
    await node.advance(1);
  };
  const ask = async <R>(build: (replyTo: ActorRef<R>) => CoreMessage): Promise<R> => {
    const reply = node.system.ask<CoreMessage, R>(core, build);
    await node.advance(1);
    return await reply;
  };
  const stats = () => ask<CoreStats>((replyTo) => ({ type: "stats", replyTo }));
  /** NEED's payload, due in ten minutes. */
  const needPayload = (overrides: Partial<PayloadOf["NEED"]> = {}): PayloadOf["NEED"] => ({
    needId: NEED,
    epoch: 0,
    requires: [],
    produces: ["digest"],
    budget: 10,
    bounty: 5,
    deadlineMs: Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n) + 600_000,
    task: { op: "reverse", input: "abc", rounds: 1 },
    ...overrides,
  });
  /** The requester's NEED (or `from`'s), due in ten minutes. */
  const openNeed = (
    overrides: Partial<PayloadOf["NEED"]> = {},
    options: Parameters<typeof send>[3] = {},
    from = people.requester,
  ) => send("NEED", needPayload(overrides), from, options);
  /** The planner's proposal p1: one task t1. */
  const proposeP1 = () =>
    send("PROPOSE", {
      needId: NEED,
      proposalId: "p1",
      ballot: 1,
      patch: [{ op: "ADD_TASK", taskId: "t1", spec: { op: "reverse", input: "abc", rounds: 1 } }],
      cost: 5,
      etaMs: 10,
      shardDependencies: [],
    }, people.planner);
  const thread = () =>
    ask<ThreadState | undefined>((replyTo) => ({ type: "thread", needId: NEED, replyTo }));
  return {
    people,
    node,
    core,
    sign,
    send,
    sendBytes,
    ask,
    stats,
    thread,
    needPayload,
    openNeed,
    proposeP1,
    verifiers,
    decideLog,
    audit,
  };
}

/** The node itself is a bystander identity, not one of the cast. */
function nodeIdentity(people: Cast): Identity {
  return people.verifiers[9];
}

Deno.test("bad envelopes are each refused with their code at ingress, and the thread still completes", async () => {
  const {
    people,
    send,
    sendBytes,
    stats,
    thread,
    verifiers,
    node,
    decideLog,
    openNeed,
    proposeP1,
  } = await fixture();
  const planCommittee = committeeFor("plan", NEED, new Set(verifiers), PARAMS, false);
  const outsider = people.verifiers.find((identity) =>
    !planCommittee.includes(identity.did)
  ) as Identity;
  const members = people.verifiers.filter((identity) => planCommittee.includes(identity.did));
  const rejected = async () => (await stats()).rejected;

  await sendBytes(new Uint8Array([1, 2, 3]));
  await sendBytes("not bytes");
  await openNeed();
  await proposeP1();
  await send("ATTEST_PLAN", { needId: NEED, proposalId: "p1", verdict: "approve" }, outsider);
  assert.equal((await rejected()).E_NOT_COMMITTEE_MEMBER, 1, "a vote from outside the committee");

  const decide = (approvers: string[]) => ({ ...p1Decision(people), approvers });
  // A node accepts only the decision the decide log holds: the decider writes it first.
  await decideLog.acquireFence(bucketOf(NEED), people.decider.did);
  const { approvers: _, ...record } = decide([]);
  await decideLog.tryDecide(record);
  await send("DECIDE", decide([members[0].did]), people.decider, { epoch: 0, fence: 1 });
  assert.equal((await rejected()).E_NO_QUORUM, 1, "a DECIDE without quorum");
  for (const member of members.slice(0, 3)) {
    await send("ATTEST_PLAN", { needId: NEED, proposalId: "p1", verdict: "approve" }, member);
  }
  await send("DECIDE", decide(members.slice(0, 3).map((member) => member.did)), people.decider, {
    epoch: 0,
    fence: 1,
  });
  assert.equal((await thread())?.phase, "DECIDED");
  const rival = { ...decide(members.slice(0, 3).map((member) => member.did)), proposalId: "p9" };
  await send("DECIDE", rival, people.decider, { epoch: 0, fence: 1 });
  assert.equal((await rejected()).E_DECIDE_CONFLICT, 1, "a DECIDE the decide log never wrote");

  await send("PROPOSE", {
    needId: NEED,
    proposalId: "late",
    ballot: 1,
    patch: [{ op: "ADD_TASK", taskId: "t9", spec: { op: "reverse", input: "x", rounds: 1 } }],
    cost: 1,
    etaMs: 1,
    shardDependencies: [],
  }, people.planner);
  assert.equal((await rejected()).E_OUT_OF_WINDOW, 1, "a proposal after the decision");

  const claim = (leaseId: string) =>
    claimT1(leaseId, Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n));
  await send("CLAIM", claim("lease-a"), people.workerA);
  const parkedBefore = (await stats()).parked;
  await send("CLAIM", claim("lease-b"), people.workerB);
  assert.equal(
    (await stats()).parked,
    parkedBefore + 1,
    "a CLAIM on a claimed task waits: its reopen may not have arrived yet",
  );

  const commit = (artifacts: string[]) => commitT1("lease-a", artifacts);
  await send("COMMIT", commit([]), people.workerA);
  assert.equal((await rejected()).E_NO_ARTIFACT, 1, "a COMMIT without an artifact");
  const commitId = await send("COMMIT", commit(["bafkreiartifact"]), people.workerA);

  const resultCommittee = committeeFor("result", "t1", new Set(verifiers), PARAMS, false);
  const resultOutsider = people.verifiers.find((identity) =>
    !resultCommittee.includes(identity.did)
  ) as Identity;
  const attest = {
    needId: NEED,
    taskId: "t1",
    commitId,
    verdict: "pass" as const,
    evalDigest: "e",
  };
  await send("ATTEST", attest, resultOutsider);
  assert.equal((await rejected()).E_NOT_COMMITTEE_MEMBER, 2, "an ATTEST from a non-member");

  await send("ATTEST", { ...attest, extra: 1 } as never, people.verifiers[0]);
  assert.equal((await rejected()).E_PAYLOAD, 1, "a payload with an unknown field");
  await send("NEED", { needId: "other" } as never, people.requester, { policy: "another-capsule" });

  assert.deepEqual(await rejected(), {
    E_ENV_ENCODING: 1,
    E_ENCODING: 1,
    E_NOT_COMMITTEE_MEMBER: 2,
    E_NO_QUORUM: 1,
    E_DECIDE_CONFLICT: 1,
    E_OUT_OF_WINDOW: 1,
    E_NO_ARTIFACT: 1,
    E_PAYLOAD: 1,
    E_POLICY_MISMATCH: 1,
  });

  for (
    const member of people.verifiers.filter((identity) => resultCommittee.includes(identity.did))
      .slice(0, 3)
  ) {
    await send("ATTEST", attest, member);
  }
  assert.equal(
    (await thread())?.tasks.get("t1")?.status,
    "VERIFIED",
    "nothing good was lost on the way",
  );
});

Deno.test("with policy gates, ingress drops a peer's envelope the policy denies, and preflight refuses the same locally", async () => {
  const policy = await loadBasePolicy();
  const { people, node, core, send, stats, thread, openNeed } = await fixture({ policy });
  await openNeed({ budget: 5_000_000 });
  const proposal = (proposalId: string, cost: number) => ({
    needId: NEED,
    proposalId,
    ballot: 1,
    patch: [{
      op: "ADD_TASK" as const,
      taskId: `${proposalId}-t`,
      spec: { op: "reverse", input: "abc", rounds: 1 },
    }],
    cost,
    etaMs: 10,
    shardDependencies: [],
  });
  await send("PROPOSE", proposal("too-costly", 2_000_000), people.planner);
  assert.equal((await stats()).rejected.E_POLICY_DENIED, 1, "over the per-message cost cap");
  await send("PROPOSE", proposal("fine", 5), people.planner);
  assert.deepEqual([...(await thread())?.proposals.keys() ?? []], ["fine"]);

  const reply = node.system.ask<CoreMessage, EmitResult>(core, (replyTo) => ({
    type: "emit",
    kind: "PROPOSE",
    thread: NEED,
    payload: proposal("mine", 2_000_000),
    replyTo,
  }));
  await node.advance(1);
  const refused = await reply;
  assert.equal(refused.type === "refused" && refused.code, "E_POLICY_DENIED");
  assert.equal((await stats()).emitted, 0, "nothing denied was published");
  assert.notEqual(policy.capsuleHash, POLICY);
  await send("PROPOSE", proposal("other-capsule", 5), people.planner, {}, POLICY);
  assert.equal((await stats()).rejected.E_POLICY_MISMATCH, 1, "an envelope under another capsule");
});

Deno.test("with policy gates, a peer's envelope the thread refuses, synced again and again, uses none of the thread's budget", async () => {
  const policy = await loadBasePolicy();
  const f = await fixture({ policy });
  const { people, node, core, sign, stats, thread } = f;
  await f.openNeed({ budget: 10 });
  // A CLAIM this node cannot take (it missed the plan): it waits, is dropped after the parking
  // time, and every sync reply of a peer brings it again.
  const nowMs = Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
  const early = await sign("CLAIM", { ...claimT1("lease-a", nowMs), cost: 4 }, people.workerA);
  for (let reply = 0; reply < 4; reply++) {
    core.tell({ type: "sync-reply", envelopes: [early.bytes] });
    await node.advance(35_000);
  }
  // Counted each time it came (cost 4 of 10), the third would have been denied as over budget.
  assert.deepEqual(
    (await stats()).rejected,
    { E_UNKNOWN_TASK: 4 },
    "parked, then dropped, each time",
  );
  assert.equal((await thread())?.phase, "OPEN");
});

/**
 * Adds a peer that records the sync requests it hears, then opens NEED on
 * the core; returns how often NEED was asked for, and when it was opened.
 */
async function openWithSyncListener(
  { node, openNeed }: Pick<Fixture, "node" | "openNeed">,
  from?: Identity,
): Promise<{ asked: () => number; heard: readonly SyncRequest[]; startMs: number }> {
  const heard: SyncRequest[] = [];
  node.simulation.addNode("peer", (system) => {
    system.spawn<SyncRequest>(() => ({
      preStart: (ctx) => ctx.subscribe(SYNC_TOPIC),
      receive: (_ctx, message) => void heard.push(message),
    }), { name: "listener" });
  });
  await node.advance(10);
  const startMs = Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
  await openNeed({}, {}, from);
  return {
    asked: () => heard.filter((request) => request.threads?.includes(NEED)).length,
    heard,
    startMs,
  };
}

/** A sync request as a peer hears it. */
interface SyncRequest {
  readonly threads?: string[];
  readonly have?: string[];
  readonly unheard?: boolean;
}

Deno.test("a message parked for one that never came makes the core ask its peers for the thread", async () => {
  const setup = await fixture();
  const { people, node, send, stats, verifiers } = setup;
  const { asked } = await openWithSyncListener(setup);
  const member = committeeFor("plan", NEED, new Set(verifiers), PARAMS, false)[0];
  const voter = people.verifiers.find((identity) => identity.did === member) as Identity;
  // The PROPOSE this vote is about was lost on the way.
  await send("ATTEST_PLAN", { needId: NEED, proposalId: "lost", verdict: "approve" }, voter);
  assert.equal((await stats()).parked, 1);
  await node.advance(1_000);
  assert.equal(asked(), 0, "not while a late message may still come");
  await node.advance(2_500);
  assert.equal(asked(), 1, "the core asked its peers for the thread");
  await node.advance(1_000);
  assert.equal(asked(), 1, "at most once per interval");
});

Deno.test("an open thread that stops moving makes the core ask its peers for it, less often the longer it idles", async () => {
  const setup = await fixture();
  const { node } = setup;
  const { asked, startMs } = await openWithSyncListener(setup);
  const at = async (seconds: number) => {
    const nowMs = Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
    await node.advance(startMs + seconds * 1_000 - nowMs);
    return asked();
  };
  assert.equal(await at(4), 0, "a thread may rest a while");
  assert.equal(await at(7), 1, "idle for 5 s: the core asks");
  assert.equal(await at(9), 1);
  assert.equal(await at(12), 2, "5 s later, again");
  assert.equal(await at(19), 2, "then after 10 s");
  assert.equal(await at(23), 3);
});

Deno.test("a sync answer leaves out what the asker holds, and the core's own request lists what it holds", async () => {
  const setup = await fixture();
  const { node, ask, proposeP1 } = setup;
  const { heard, startMs } = await openWithSyncListener(setup);
  await proposeP1();
  const answer = async (have?: string[]) => {
    const reply = await ask<CoreMessage>((replyTo) => ({
      type: "sync-request",
      threads: [NEED],
      ...(have === undefined ? {} : { have }),
      replyTo,
    }));
    assert.equal(reply.type, "sync-reply");
    return (reply as { envelopes: readonly Uint8Array[] }).envelopes.map(envelopeId);
  };
  const [needId, proposeId, ...more] = await answer();
  assert.equal(more.length, 0, "the thread holds the NEED and the PROPOSE");
  assert.deepEqual(await answer([needId]), [proposeId], "only what the asker lacks");
  assert.deepEqual(await answer([proposeId, "unknown-id"]), [needId]);

  // Idle for 5 s: the core asks its peers, listing both envelopes as held.
  const nowMs = Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
  await node.advance(startMs + 7_000 - nowMs);
  const request = heard.find((each) => each.threads?.includes(NEED));
  assert.deepEqual(request?.have?.toSorted(), [needId, proposeId].toSorted());
});

Deno.test("a thread only this node spoke on is asked for as unheard, until a peer answers on it", async () => {
  const setup = await fixture();
  const { node, people, proposeP1 } = setup;
  // This node posted the NEED; no peer has said anything on it (maybe none heard of it).
  const { heard, startMs } = await openWithSyncListener(setup, nodeIdentity(people));
  const at = async (seconds: number) => {
    const nowMs = Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
    await node.advance(startMs + seconds * 1_000 - nowMs);
    return heard.filter((request) => request.threads?.includes(NEED));
  };
  assert.deepEqual((await at(7)).map((request) => request.unheard), [true]);
  await proposeP1(); // a peer's planner answered
  assert.deepEqual((await at(14)).map((request) => request.unheard), [true, undefined]);
});

Deno.test("a peer asked for an unheard thread it never heard of asks the asker for it, and so learns the NEED", async () => {
  const setup = await fixture();
  const { node, core, sign, people, thread, needPayload } = setup;
  const other = "need-other";
  const sent: CoreMessage[] = [];
  const asker = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => void sent.push(message),
  }), { name: "asker" });
  const request = (threads: string[], unheard?: boolean) => {
    core.tell({ type: "sync-request", threads, replyTo: asker, ...(unheard ? { unheard } : {}) });
    return node.advance(1);
  };
  await request([NEED]);
  assert.equal(sent.length, 0, "a plain request for an unknown thread gets nothing");
  await request([NEED, other], true);
  assert.deepEqual(
    sent.map((message) => message.type === "sync-request" && message.threads),
    [[NEED], [other]],
    "an unheard one is asked back, thread by thread",
  );
  assert.ok(sent.every((message) => message.type === "sync-request" && message.replyTo === core));
  await request([NEED], true);
  assert.equal(sent.length, 2, "at most once per interval");
  // The asker answers with its NEED: this node now holds the thread.
  const need = await sign("NEED", needPayload(), people.requester);
  core.tell({ type: "sync-reply", envelopes: [need.bytes] });
  await node.advance(1);
  assert.equal((await thread())?.phase, "OPEN");
  sent.length = 0;
  await node.advance(2_500);
  await request([NEED], true);
  assert.deepEqual(sent.map((message) => message.type), ["sync-reply"], "known now: answered");
});

Deno.test("a thread this node saw end and has forgotten is answered for from its audit log while it may be open elsewhere", async () => {
  const auditDir = await Deno.makeTempDir();
  const setup = await fixture({ auditDir, finishedRetentionMs: 1_000 });
  const { node, core, openNeed, proposeP1, send, people, thread } = setup;
  try {
    const nowMs = Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
    const needId = await openNeed({ deadlineMs: nowMs + 5_000 });
    const proposeId = await proposeP1();
    // Undecided at its deadline: expired (by anyone, as no decider holds it), then forgotten.
    await node.advance(5_000);
    const expiry = await send(
      "INVALIDATE",
      { target: "NEED", needId: NEED, code: "E_DEADLINE" },
      people.decider,
    );
    await node.advance(3_000);
    assert.equal(await thread(), undefined, "the thread was forgotten");
    const sent: CoreMessage[] = [];
    const asker = node.system.spawn<CoreMessage>(() => ({
      receive: (_ctx, message) => void sent.push(message),
    }), { name: "asker" });
    // A peer that lagged holds the NEED and asks for the rest; it says it alone spoke on it.
    const ask = async (open = true, have = [needId]) => {
      sent.length = 0;
      core.tell({
        type: "sync-request",
        threads: [NEED],
        have,
        unheard: true,
        replyTo: asker,
      });
      await node.advance(10);
      if (open) {
        assert.ok(sent.every((message) => message.type === "sync-reply"), "nothing is asked back");
      }
      return sent.flatMap((message) =>
        message.type === "sync-reply" ? message.envelopes.map((bytes) => envelopeId(bytes)) : []
      );
    };
    assert.deepEqual(await ask(true, [proposeId]), [], "not for one holding stray envelopes only");
    await node.advance(10_000);
    assert.deepEqual(await ask(), [proposeId, expiry]);
    assert.deepEqual(await ask(), [], "once per interval");
    await node.advance(10_000);
    assert.deepEqual(await ask(), [proposeId, expiry], "and again after it");
    await node.advance(PARAMS.needExpiryGraceMs);
    assert.deepEqual(await ask(false), [], "not once every node has ended it itself");
  } finally {
    await setup.audit?.close();
    await Deno.remove(auditDir, { recursive: true });
  }
});

Deno.test("a role that names the effects it acts on is sent only those; one that names none gets all", async () => {
  const { node, core, openNeed, proposeP1 } = await fixture();
  const heard = { picky: [] as string[], all: [] as string[] };
  for (const [name, effects] of [["picky", ["need-opened"]], ["all", undefined]] as const) {
    node.system.spawn<RoleEvent>(() => ({
      preStart: (ctx) =>
        void core.tell({
          type: "watch",
          role: ctx.self,
          ...(effects === undefined ? {} : { effects: [...effects] }),
        }),
      receive: (_ctx, event) =>
        void heard[name].push(event.type === "effect" ? event.effect.type : event.type),
    }), { name });
  }
  await node.advance(1);
  await openNeed();
  await proposeP1();
  assert.deepEqual(heard.picky, ["core-ready", "need-opened"]);
  assert.deepEqual(heard.all, ["core-ready", "need-opened", "proposal-received"]);
});

Deno.test("an emit with hold is signed but takes effect only when published; a dropped one never does", async () => {
  const { ask, core, openNeed, thread } = await fixture();
  await openNeed();
  const propose = (proposalId: string) => (replyTo: ActorRef<EmitResult>): CoreMessage => ({
    type: "emit",
    kind: "PROPOSE",
    thread: NEED,
    hold: proposalId,
    replyTo,
    payload: {
      needId: NEED,
      proposalId,
      ballot: 1,
      patch: [{ op: "ADD_TASK", taskId: "t1", spec: { op: "reverse", input: "abc", rounds: 1 } }],
      cost: 5,
      etaMs: 10,
      shardDependencies: [],
    },
  });
  const held = await ask<EmitResult>(propose("p2"));
  assert.equal(held.type, "held");
  if (held.type !== "held") return;
  assert.equal(envelopeId(held.bytes), held.id, "the bytes are the signed envelope");
  assert.equal((await thread())?.proposals.has("p2"), false, "held: not applied");
  const publish = (key: string) => (replyTo: ActorRef<EmitResult>): CoreMessage => ({
    type: "publish-held",
    key,
    kind: "PROPOSE",
    replyTo,
  });
  assert.deepEqual(await ask<EmitResult>(publish("p2")), {
    type: "emitted",
    id: held.id,
    kind: "PROPOSE",
    thread: NEED,
  });
  assert.equal((await thread())?.proposals.has("p2"), true, "published: applied");
  const again = await ask<EmitResult>(publish("p2"));
  assert.equal(again.type === "refused" && again.code, "E_HELD_UNKNOWN", "published once");

  // Signed after a held envelope of its thread, an emit waits for it, then follows it.
  const first = await ask<EmitResult>(propose("p4"));
  assert.equal(first.type, "held");
  if (first.type !== "held") return;
  core.tell({ ...propose("p5")(undefined as never), hold: undefined } as CoreMessage);
  await ask<ThreadState | undefined>((replyTo) => ({ type: "thread", needId: NEED, replyTo }));
  assert.equal((await thread())?.proposals.has("p5"), false, "waits behind the held p4");
  await ask<EmitResult>(publish("p4"));
  assert.deepEqual(
    [...((await thread())?.proposals.keys() ?? [])],
    ["p2", "p4", "p5"],
    "p4 out first, then p5",
  );

  const dropped = await ask<EmitResult>(propose("p3"));
  assert.equal(dropped.type, "held");
  if (dropped.type !== "held") return;
  core.tell({ type: "drop-held", key: "p3" });
  const late = await ask<EmitResult>(publish("p3"));
  assert.equal(late.type === "refused" && late.code, "E_HELD_UNKNOWN");
  assert.equal((await thread())?.proposals.has("p3"), false, "dropped: never applied");

  // Dropped before it was even signed (its requester gave up waiting): never held, blocks nothing.
  core.tell(propose("p6")(undefined as never));
  core.tell({ type: "drop-held", key: "p6" });
  core.tell({ ...propose("p7")(undefined as never), hold: undefined } as CoreMessage);
  await ask<ThreadState | undefined>((replyTo) => ({ type: "thread", needId: NEED, replyTo }));
  const never = await ask<EmitResult>(publish("p6"));
  assert.equal(never.type === "refused" && never.code, "E_HELD_UNKNOWN");
  assert.equal((await thread())?.proposals.has("p7"), true, "p7 did not wait behind p6");
});

/** The decider's decision of p1 (epoch 0, fence 1), as the decide log holds it. */
function p1Decision(people: Cast) {
  return {
    needId: NEED,
    proposalId: "p1",
    epoch: 0,
    lamport: 50,
    kPlan: 3,
    decider: people.decider.did,
    fence: 1,
    decidedAtMs: 0,
  };
}

/** Worker payloads on task t1: a CLAIM of `leaseId` granted at `grantedAtMs`, a COMMIT under it. */
function claimT1(leaseId: string, grantedAtMs: number): PayloadOf["CLAIM"] {
  return {
    needId: NEED,
    taskId: "t1",
    leaseId,
    leaseTtlMs: 60_000,
    grantedAtMs,
    cost: 1,
    etaMs: 10,
    heartbeatIntervalMs: 20_000,
  };
}

function commitT1(leaseId: string, artifacts = ["bafkreiartifact"]): PayloadOf["COMMIT"] {
  return {
    needId: NEED,
    taskId: "t1",
    leaseId,
    artifacts,
    outputDigest: "d",
    verifyBounty: 1,
    telemetry: { costUnits: 1, timeMs: 1, memoryBytes: 1 },
  };
}

/** A RECONCILE (epoch 0) that drops lease-a of t1 for `kept`. */
function dropLeaseA(kept: string): PayloadOf["RECONCILE"] {
  return {
    fromEpoch: 0,
    toEpoch: 0,
    orphaned: [],
    leases: [{ needId: NEED, taskId: "t1", kept, dropped: "lease-a" }],
  };
}

/** Runs `f`'s thread to DECIDED on p1 (the log holds the decision, three members approved). */
async function decideP1(f: Fixture): Promise<void> {
  const { people, send, decideLog, verifiers } = f;
  await f.openNeed();
  await f.proposeP1();
  const planCommittee = committeeFor("plan", NEED, new Set(verifiers), PARAMS, false);
  const members = people.verifiers.filter((identity) => planCommittee.includes(identity.did))
    .slice(0, 3);
  for (const member of members) {
    await send("ATTEST_PLAN", { needId: NEED, proposalId: "p1", verdict: "approve" }, member);
  }
  const record = p1Decision(people);
  await decideLog.acquireFence(bucketOf(NEED), people.decider.did);
  await decideLog.tryDecide(record);
  const approvers = members.map((member) => member.did);
  await send("DECIDE", { ...record, approvers }, people.decider, { epoch: 0, fence: 1 });
}

Deno.test("AP: a RECONCILE's lease drop takes effect once the decide log holds the kept lease; a forged one never", async () => {
  const f = await fixture({ decideMode: "ap" });
  const { people, send, node, decideLog, stats, thread } = f;
  await decideP1(f);
  const nowMs = () => Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
  const claim = (leaseId: string) => claimT1(leaseId, nowMs());
  const lease = (leaseId: string, holder: Identity) => ({
    taskId: "t1",
    needId: NEED,
    leaseId,
    holder: holder.did,
    grantedAtMs: nowMs(),
    expiresAtMs: nowMs() + 60_000,
    epoch: 0,
  });
  // This side leased t1 to worker A, which committed; the other side's CLAIM waits as busy.
  await decideLog.tryLease(lease("lease-a", people.workerA));
  await send("CLAIM", claim("lease-a"), people.workerA);
  const commitId = await send("COMMIT", commitT1("lease-a"), people.workerA);
  await send("CLAIM", claim("lease-b"), people.workerB);
  await send("RECONCILE", dropLeaseA("lease-b"), people.decider);
  await node.advance(2_000);
  assert.equal((await thread())?.tasks.get("t1")?.status, "COMMITTED", "the log holds lease-a");

  // The merge reaches this node's log: it now holds the other side's lease.
  await decideLog.releaseLease("t1", "lease-a");
  await decideLog.tryLease(lease("lease-b", people.workerB));
  await node.advance(1_000);
  const task = (await thread())?.tasks.get("t1");
  assert.equal(task?.status, "CLAIMED");
  assert.equal(task?.lease?.leaseId, "lease-b", "the parked CLAIM of the kept lease was taken");
  assert.equal(task?.commits.size, 0, "the dropped lease's commit is set aside");
  await send("ATTEST", {
    needId: NEED,
    taskId: "t1",
    commitId,
    verdict: "pass",
    evalDigest: "e",
  }, people.verifiers[0]);
  assert.equal((await stats()).rejected.E_ORPHANED, 1, "an ATTEST of the dropped commit");

  // A RECONCILE whose kept lease the log never held changes nothing, and is counted.
  await send("RECONCILE", dropLeaseA("lease-forged"), people.decider);
  await node.advance(31_000);
  assert.equal((await stats()).rejected.E_RECONCILE_UNCONFIRMED, 1);
  assert.equal((await thread())?.tasks.get("t1")?.lease?.leaseId, "lease-b");
});

Deno.test("AP: a node rebuilding a thread from a peer's archive replays the lease drop after the dropped lease's work", async () => {
  const f = await fixture({ decideMode: "ap" });
  const { people, sign, core, node, decideLog, stats, thread } = f;
  await decideP1(f);
  const nowMs = Number(node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
  await decideLog.tryLease({
    taskId: "t1",
    needId: NEED,
    leaseId: "lease-b",
    holder: people.workerB.did,
    grantedAtMs: nowMs,
    expiresAtMs: nowMs + 60_000,
    epoch: 0,
  });
  const claim = (leaseId: string, worker: Identity) =>
    sign("CLAIM", claimT1(leaseId, nowMs), worker);
  const commit = sign("COMMIT", commitT1("lease-a"), people.workerA);
  const reconcile = await sign("RECONCILE", dropLeaseA("lease-b"), people.decider);
  // The peer's archive, in the order it accepted them: the dropped lease's work, the drop, the kept lease.
  const archive = [await claim("lease-a", people.workerA), await commit, reconcile];
  archive.push(await claim("lease-b", people.workerB));
  core.tell({ type: "sync-reply", envelopes: archive.map((envelope) => envelope.bytes) });
  await node.advance(10);
  const task = (await thread())?.tasks.get("t1");
  assert.equal(task?.lease?.leaseId, "lease-b");
  assert.equal(task?.commits.size, 0);
  assert.deepEqual(task?.droppedLeases?.map((each) => each.leaseId), ["lease-a"]);

  // This node now hands the drop on with the thread, and takes a repeat of it as known.
  const replies: Uint8Array[] = [];
  const asker = node.system.spawn<CoreMessage>(() => ({
    receive: (_ctx, message) => {
      if (message.type === "sync-reply") replies.push(...message.envelopes);
    },
  }), { name: "asker" });
  core.tell({ type: "sync-request", threads: [NEED], replyTo: asker });
  await node.advance(10);
  assert.ok(replies.some((bytes) => envelopeId(bytes) === reconcile.id));
  const before = await stats();
  core.tell({ type: "sync-reply", envelopes: [reconcile.bytes] });
  await node.advance(10);
  assert.deepEqual((await stats()).rejected, before.rejected);
  assert.equal((await stats()).epoch, 0);
});

Deno.test("CP: a RECONCILE naming lease drops moves the epoch but drops nothing", async () => {
  const f = await fixture();
  await decideP1(f);
  await f.send("RECONCILE", { ...dropLeaseA("lease-b"), toEpoch: 1 }, f.people.decider);
  const stats = await f.stats();
  assert.equal(stats.epoch, 1);
  assert.equal(stats.rejected.E_RECONCILE_UNCONFIRMED, 1);
});

/** The expiry of NEED, as a decider signs it once the deadline has passed. */
const EXPIRY = { target: "NEED", needId: NEED, code: "E_DEADLINE" } as const;

/** Runs `f`'s thread to DECIDED on p1, then past the NEED's deadline. */
async function decidedPastDeadline(f: Fixture): Promise<void> {
  await decideP1(f);
  const deadlineMs = (await f.thread())?.need.deadlineMs as number;
  const nowMs = Number(f.node.simulation.node("node-0").clock.nowNs() / 1_000_000n);
  await f.node.advance(deadlineMs - nowMs + 1);
}

/** Has `f`'s core sign and publish the NEED's expiry under `fence`, as its decider would. */
async function emitExpiry(f: Fixture, fence: number, waitMs: number): Promise<EmitResult> {
  const answer = f.node.system.ask<CoreMessage, EmitResult>(f.core, (replyTo) => ({
    type: "emit",
    kind: "INVALIDATE",
    thread: NEED,
    payload: EXPIRY,
    fence,
    replyTo,
  }), { timeoutMs: waitMs + 60_000 });
  await f.node.advance(waitMs);
  return await answer;
}

Deno.test("after a failover, the bucket's new owner expires a NEED another decider decided once the log names it as the fence holder; a forger or a stale fence is refused", async () => {
  const f = await fixture();
  const { people, send, node, decideLog, stats, thread } = f;
  await decidedPastDeadline(f);
  const newOwner = await simulationIdentity(7, "new-owner");
  // The decider of p1 (fence 1) lost the bucket: the new owner holds fence 2.
  assert.equal((await decideLog.acquireFence(bucketOf(NEED), newOwner.did)).token, 2);
  const expire = async (from: Identity, fence: number) => {
    await send("INVALIDATE", EXPIRY, from, { fence });
    await node.advance(10);
    return (await thread())?.phase;
  };
  assert.equal(await expire(people.workerA, 2), "DECIDED", "a forger naming the current fence");
  assert.equal(await expire(newOwner, 1), "DECIDED", "the new owner with a stale fence");
  assert.equal((await stats()).rejected.E_NOT_DECIDER, 2);
  assert.equal(await expire(newOwner, 2), "EXPIRED", "the holder of the newest fence");
});

Deno.test("a ruling this node signs under a fence goes out only while the log names it as that fence's holder", async () => {
  const f = await fixture();
  const { decideLog, stats, thread } = f;
  await decidedPastDeadline(f);
  const self = nodeIdentity(f.people).did;
  const bucket = bucketOf(NEED);
  // This node took the bucket (fence 2) and lost it again (fence 3) before it ruled: deposed.
  await decideLog.acquireFence(bucket, self);
  await decideLog.acquireFence(bucket, "did:someone-else");
  const emittedBefore = (await stats()).emitted;
  const deposed = await emitExpiry(f, 2, 10);
  assert.equal(deposed.type === "refused" && deposed.code, "E_NOT_DECIDER");
  assert.equal((await thread())?.phase, "DECIDED", "not applied here");
  assert.equal((await stats()).emitted, emittedBefore, "not sent to the peers");
  const owner = await decideLog.acquireFence(bucket, self);
  const ruled = await emitExpiry(f, owner.token, 10);
  assert.equal(ruled.type, "emitted", JSON.stringify(ruled));
  assert.equal((await thread())?.phase, "EXPIRED");
  assert.equal((await stats()).emitted, emittedBefore + 1);
});

Deno.test("a ruling under a fence waits while the decide log is out of reach: a peer's is taken once the log answers, this node's own is refused when it never does", async () => {
  /** A decided NEED past its deadline whose bucket's fence 2 is held by `holder`, with the log closed. */
  const cutOff = async (holder: (people: Cast) => Identity) => {
    const logStore = new MemoryStore();
    const f = await fixture({ logStore });
    await decidedPastDeadline(f);
    await f.decideLog.acquireFence(bucketOf(NEED), holder(f.people).did);
    await logStore.close();
    return { ...f, logStore };
  };

  const peer = await cutOff((people) => people.planner);
  await peer.send("INVALIDATE", EXPIRY, peer.people.planner, { fence: 2 });
  await peer.node.advance(10_000);
  assert.equal((await peer.thread())?.phase, "DECIDED", "it waits for the log");
  peer.logStore.reopen();
  await peer.node.advance(1_500);
  assert.equal((await peer.thread())?.phase, "EXPIRED", "the log named its sender");

  const own = await cutOff(nodeIdentity);
  const emittedBefore = (await own.stats()).emitted;
  const refused = await emitExpiry(own, 2, 130_000);
  assert.equal(refused.type === "refused" && refused.code, "E_DECIDE_UNCONFIRMED");
  assert.equal((await own.stats()).emitted, emittedBefore, "never sent");
});

// Proves the three gates stop what they should: preflight before sending, ingress on receipt (even around preflight), the commit gate on understated telemetry, with reproducible digests.

import assert from "node:assert/strict";
import {
  type GatedMessage,
  policyInbox,
  policyOutbox,
  type PolicyOutboxResult,
} from "../../actors/policy_gateway.ts";
import { CommitGate } from "../../policies/commit_gate.ts";
import { PolicyDeniedError } from "../../policies/errors.ts";
import { IngressGate } from "../../policies/ingress_gate.ts";
import { fixedPolicy } from "../../policies/policy_source.ts";
import { PreflightGate } from "../../policies/preflight_gate.ts";
import { ThreadBudgetLedger } from "../../policies/thread_budgets.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { ActorSystem } from "../../runtime/system.ts";
import { InProcHub } from "../../runtime/transport/inproc.ts";
import { baseEngine, eventually, view } from "./_helpers.ts";

const engine = await baseEngine();
const CAPSULE = "c".repeat(64);
const source = fixedPolicy(engine, CAPSULE);

Deno.test("preflight allows a good envelope and names the capsule to stamp", () => {
  const gate = new PreflightGate(source);
  const result = gate.check(view("NEED"));
  assert.equal(result.allowed, true);
  assert.equal(result.capsuleHash, CAPSULE);
  assert.equal(result.policyHash, engine.policyHash);
});

Deno.test("preflight guard() throws E_POLICY_DENIED for an oversized payload", () => {
  const gate = new PreflightGate(source);
  assert.throws(
    () => gate.guard(view("NEED", { payloadBytes: 5_000_000 })),
    (error: unknown) =>
      error instanceof PolicyDeniedError && error.code === "E_POLICY_DENIED" &&
      error.reasons.includes("payload-size-cap"),
  );
  assert.equal(gate.denied, 1);
});

Deno.test("preflight caches per (policy, kind, shape): equal requests hit, changed facts miss", () => {
  const gate = new PreflightGate(source, { cacheEntriesMax: 2 });
  const before = engine.metrics.evaluations;
  assert.equal(gate.check(view("HEARTBEAT")).cached, false);
  assert.equal(gate.check(view("HEARTBEAT")).cached, true);
  assert.equal(gate.check(view("HEARTBEAT", { payloadBytes: 101 })).cached, false);
  assert.equal(gate.check(view("YIELD")).cached, false);
  assert.equal(engine.metrics.evaluations - before, 3);
  assert.deepEqual([gate.hits, gate.misses, gate.evictions, gate.cacheSize], [1, 3, 1, 2]);
  // The oldest entry was evicted, the recently used one kept.
  assert.equal(gate.check(view("HEARTBEAT")).cached, false);
});

Deno.test("ingress judges by the thread ledger's usage and leaves the counting to its caller", () => {
  const ledger = new ThreadBudgetLedger();
  const gate = new IngressGate(source, { ledger });
  const claim = view("CLAIM", { capsule: CAPSULE, payload: { cost: 7 } });
  assert.equal(gate.admit(claim).delivered, true);
  assert.deepEqual(ledger.usage("thread-1"), { messages: 0, retries: 0, cost: 0 }, "not counted");
  // What the caller counts (the envelopes its threads took) is what the budget rules see.
  ledger.record(view("NEED", { payload: { budget: 10 } }));
  ledger.record(claim);
  assert.deepEqual(ledger.usage("thread-1"), { messages: 2, retries: 0, cost: 7, costMax: 10 });
  const verdict = gate.admit(claim);
  assert.deepEqual(verdict.delivered ? [] : verdict.reasons, ["thread-cost-budget"]);
});

Deno.test("ingress drops, counts and logs a denied envelope with its reasons", () => {
  const logged: Record<string, unknown>[] = [];
  const gate = new IngressGate(source, { log: (_message, fields) => logged.push(fields) });
  const verdict = gate.admit(view("ATTEST", { capsule: CAPSULE }), { committeeMember: false });
  assert.equal(verdict.delivered, false);
  assert.deepEqual(verdict.delivered ? [] : verdict.reasons, ["attest-committee-only"]);
  assert.equal(gate.counters.denied, 1);
  assert.equal(gate.dropsByReason.get("attest-committee-only"), 1);
  assert.deepEqual(logged[0].reasons, ["attest-committee-only"]);
  assert.equal(logged[0].code, "E_POLICY_DENIED");
});

Deno.test("ingress rejects an envelope under another capsule with E_POLICY_CAPSULE_MISMATCH", () => {
  const gate = new IngressGate(source);
  const verdict = gate.admit(view("NEED", { capsule: "d".repeat(64) }));
  assert.equal(verdict.delivered, false);
  if (verdict.delivered) return;
  assert.equal(verdict.code, "E_POLICY_CAPSULE_MISMATCH");
  assert.match(
    verdict.message,
    /evaluated under policy capsule dddddddddddd…, this node runs cccc/,
  );
  assert.equal(gate.admit(view("NEED")).delivered, false);
  assert.equal(gate.counters.capsuleMismatch, 2);
});

Deno.test("ingress never throws for malformed views from peers", () => {
  const gate = new IngressGate(source);
  const junk: unknown[] = [
    null,
    42,
    { capsule: CAPSULE },
    { ...view("NEED"), capsule: CAPSULE, payloadBytes: "big" },
    { ...view("COMMIT"), capsule: CAPSULE, payload: {} },
    { ...view("CHALLENGE"), capsule: CAPSULE, payload: { proofType: 3 } },
  ];
  for (const value of junk) {
    assert.equal(gate.admit(value as never).delivered, false);
  }
  assert.equal(gate.counters.malformed + gate.counters.capsuleMismatch, junk.length);
  assert.equal(gate.counters.malformed, 4);
});

Deno.test("ingress enforces the thread message budget from its own ledger, as its caller counts", async () => {
  const tight = fixedPolicy(await baseEngine({ threadMessagesMax: 3 }), CAPSULE);
  const gate = new IngressGate(tight, { ledger: new ThreadBudgetLedger() });
  const heartbeat = view("HEARTBEAT", { capsule: CAPSULE });
  const delivered = Array.from({ length: 5 }, () => {
    const taken = gate.admit(heartbeat).delivered;
    if (taken) gate.record(heartbeat); // as its caller does with what its thread takes
    return taken;
  });
  assert.deepEqual(delivered, [true, true, true, false, false]);
  // The sender's claim about usage does not count; the ledger does.
  const lying = gate.admit(heartbeat, { usage: { messages: 0, retries: 0, cost: 0 } });
  assert.equal(lying.delivered, false);
});

/** Two nodes on one in-process hub: a sender with an outbox, a receiver with an inbox. */
async function twoNodes() {
  const hub = new InProcHub();
  const envs = await Promise.all(
    ["sender", "receiver"].map((nodeId) =>
      RealEnv.open({ nodeId, transport: hub.connect(nodeId) })
    ),
  );
  const [sender, receiver] = envs.map((env) => ActorSystem.create(env, { log: silentLogSink }));
  const delivered: GatedMessage[] = [];
  const ingress = new IngressGate(source, { ledger: new ThreadBudgetLedger() });
  const app = receiver.spawn<GatedMessage>(() => ({
    receive: (_ctx, m) => void delivered.push(m),
  }));
  receiver.spawn(() => policyInbox({ gate: ingress, topics: ["/swarm/thread/t"], deliverTo: app }));
  const close = async () => {
    await Promise.all([sender.terminate(), receiver.terminate()]);
    await Promise.all(envs.map((env) => env.close()));
  };
  return { sender, delivered, ingress, close };
}

Deno.test("outbox: preflight refuses before sending, so the receiver never hears the envelope", async () => {
  const { sender, delivered, ingress, close } = await twoNodes();
  try {
    const results: PolicyOutboxResult[] = [];
    const replies = sender.spawn<PolicyOutboxResult>(() => ({
      receive: (_c, r) => void results.push(r),
    }));
    const outbox = sender.spawn(() => policyOutbox(new PreflightGate(source)));
    const send = (payloadBytes: number) =>
      outbox.tell({
        type: "send",
        topic: "/swarm/thread/t",
        view: view("NEED", { payloadBytes }),
        body: { payloadBytes },
        replyTo: replies,
      });
    send(2_000_000);
    send(100);
    await eventually(() => results.length === 2 && delivered.length === 1);
    assert.deepEqual(results[0], {
      published: false,
      code: "E_POLICY_DENIED",
      reasons: ["payload-size-cap"],
    });
    assert.equal(results[1].published, true);
    assert.deepEqual(delivered[0].body, { payloadBytes: 100 });
    // The refused envelope never reached the receiver's gate at all.
    assert.equal(ingress.counters.delivered + ingress.counters.denied, 1);
  } finally {
    await close();
  }
});

Deno.test("inbox: ingress blocks a forged envelope published around preflight", async () => {
  const { sender, delivered, ingress, close } = await twoNodes();
  try {
    const forger = sender.spawn<GatedMessage>(() => ({
      receive: (ctx, message) => ctx.publish("/swarm/thread/t", message),
    }));
    forger.tell({
      view: view("COMMIT", { capsule: CAPSULE, payload: { artifacts: 0 } }),
      body: "forged",
    });
    forger.tell({ view: view("HEARTBEAT", { capsule: CAPSULE }), body: "fine" });
    await eventually(() => ingress.counters.denied === 1 && delivered.length === 1);
    assert.deepEqual(delivered.map((m) => m.body), ["fine"]);
    assert.equal(ingress.dropsByReason.get("commit-requires-artifact"), 1);
  } finally {
    await close();
  }
});

const CLAIMED = { cost: 100, timeMs: 2_000, memoryBytes: 50_000_000 };
const commit = view("COMMIT", { capsule: CAPSULE, payload: { artifacts: 2, telemetry: CLAIMED } });

Deno.test("commit gate approves honest telemetry and rejects understated cost, time or memory", async () => {
  const gate = new CommitGate(source);
  const honest = await gate.evaluate(commit, { cost: 95, timeMs: 2_100, memoryBytes: 48_000_000 });
  assert.equal(honest.allowed, true);
  assert.equal(gate.attestation(honest).verdict, "approve");
  const understated = [
    [{ ...CLAIMED, cost: 250 }, "commit-cost-understated"],
    [{ ...CLAIMED, timeMs: 9_000 }, "commit-time-understated"],
    [{ ...CLAIMED, memoryBytes: 900_000_000 }, "commit-memory-understated"],
  ] as const;
  for (const [actual, rule] of understated) {
    const result = await gate.evaluate(commit, actual);
    assert.equal(result.allowed, false);
    assert.deepEqual(result.reasons, [rule]);
    assert.equal(gate.attestation(result).verdict, "reject");
  }
  assert.deepEqual([gate.evaluated, gate.rejected], [4, 3]);
});

Deno.test("commit gate: the same COMMIT gives the same digest on two engine instances", async () => {
  const otherNode = new CommitGate(fixedPolicy(await baseEngine(), CAPSULE));
  const actual = { cost: 300, timeMs: 2_000, memoryBytes: 1_000 };
  const first = await new CommitGate(source).evaluate(commit, actual);
  // Same facts built in another key order on the other node.
  const reordered = {
    payload: {
      telemetry: { memoryBytes: CLAIMED.memoryBytes, timeMs: CLAIMED.timeMs, cost: CLAIMED.cost },
      artifacts: 2,
    },
    capsule: CAPSULE,
    epoch: commit.epoch,
    payloadBytes: commit.payloadBytes,
    thread: commit.thread,
    sender: commit.sender,
    kind: "COMMIT",
  };
  const second = await otherNode.evaluate(reordered, {
    memoryBytes: 1_000,
    timeMs: 2_000,
    cost: 300,
  });
  assert.match(first.evalDigest, /^[0-9a-f]{64}$/);
  assert.equal(second.evalDigest, first.evalDigest);
  assert.equal(second.evalInput, first.evalInput);
  assert.deepEqual(await otherNode.recheck(otherNode.attestation(first)), {
    agrees: true,
    evalDigest: first.evalDigest,
  });
});

Deno.test("commit gate recheck flags a lying decision, a forged digest, another policy and bad input", async () => {
  const gate = new CommitGate(source);
  const result = await gate.evaluate(commit, { ...CLAIMED, cost: 1_000 });
  const fields = gate.attestation(result);
  const lie = await gate.recheck({ ...fields, policyDecision: { allowed: true } });
  assert.equal(lie.agrees ? "" : lie.divergence, "decision");
  const forged = await gate.recheck({ ...fields, evalDigest: "0".repeat(64) });
  assert.equal(forged.agrees ? "" : forged.divergence, "digest");
  const elsewhere = new CommitGate(
    fixedPolicy(await baseEngine({ telemetryAllowancePercent: 120 }), CAPSULE),
  );
  const foreign = await elsewhere.recheck(fields);
  assert.equal(foreign.agrees ? "" : foreign.divergence, "digest");
  for (const evalInput of [42, "{}", result.evalInput.replace('"actualCost":1000,', "")]) {
    const bad = await gate.recheck({ ...fields, evalInput });
    assert.equal(bad.agrees ? "" : bad.divergence, "input");
  }
  assert.equal(gate.divergences, 5);
  assert.equal(elsewhere.divergences, 1);
});

Deno.test("commit gate refuses views that are not COMMITs", async () => {
  await assert.rejects(
    () => new CommitGate(source).evaluate(view("CLAIM"), CLAIMED),
    { code: "E_POLICY_REQUEST" },
  );
});

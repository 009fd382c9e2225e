// Proves every rule of base.cedar allows what it should and denies what it should, through the envelope view mapping.

import assert from "node:assert/strict";
import {
  type EnvelopeView,
  type NodeFacts,
  toPolicyRequest,
} from "../../policies/envelope_view.ts";
import { POLICY_KINDS } from "../../policies/kinds.ts";
import { baseEngine, view } from "./_helpers.ts";

const engine = await baseEngine({ threadMessagesMax: 100, threadRetriesMax: 2 });

interface RuleCase {
  readonly rule: string;
  readonly allow: { readonly view: EnvelopeView; readonly facts?: NodeFacts };
  readonly deny: { readonly view: EnvelopeView; readonly facts?: NodeFacts };
}

const COMMIT_CLAIM = { artifacts: 1, telemetry: { cost: 100, timeMs: 1_000, memoryBytes: 1_000 } };
const WINDOW = { nowMs: 5_000, challengeWindow: { opensMs: 1_000, closesMs: 10_000 } };

const CASES: RuleCase[] = [
  {
    rule: "payload-size-cap",
    allow: { view: view("NEED", { payloadBytes: 1_048_576 }) },
    deny: { view: view("NEED", { payloadBytes: 1_048_577 }) },
  },
  {
    rule: "thread-message-budget",
    allow: { view: view("HEARTBEAT"), facts: { usage: { messages: 99, retries: 0, cost: 0 } } },
    deny: { view: view("HEARTBEAT"), facts: { usage: { messages: 100, retries: 0, cost: 0 } } },
  },
  {
    rule: "thread-retry-budget",
    allow: {
      view: view("YIELD", { attempt: 1 }),
      facts: { usage: { messages: 3, retries: 1, cost: 0 } },
    },
    deny: {
      view: view("YIELD", { attempt: 1 }),
      facts: { usage: { messages: 3, retries: 2, cost: 0 } },
    },
  },
  {
    rule: "message-cost-cap",
    allow: { view: view("PROPOSE", { payload: { cost: 1_000_000 } }) },
    deny: { view: view("PROPOSE", { payload: { cost: 1_000_001 } }) },
  },
  {
    rule: "thread-cost-budget",
    allow: {
      view: view("CLAIM", { payload: { cost: 40 } }),
      facts: { usage: { messages: 1, retries: 0, cost: 60, costMax: 100 } },
    },
    deny: {
      view: view("CLAIM", { payload: { cost: 41 } }),
      facts: { usage: { messages: 1, retries: 0, cost: 60, costMax: 100 } },
    },
  },
  {
    rule: "commit-requires-artifact",
    allow: { view: view("COMMIT", { payload: { artifacts: 1 } }) },
    deny: { view: view("COMMIT", { payload: { artifacts: 0 } }) },
  },
  {
    rule: "commit-cost-understated",
    allow: {
      view: view("COMMIT", { payload: COMMIT_CLAIM }),
      facts: { actual: { cost: 110, timeMs: 1_000, memoryBytes: 1_000 } },
    },
    deny: {
      view: view("COMMIT", { payload: COMMIT_CLAIM }),
      facts: { actual: { cost: 111, timeMs: 1_000, memoryBytes: 1_000 } },
    },
  },
  {
    rule: "commit-time-understated",
    allow: {
      view: view("COMMIT", { payload: COMMIT_CLAIM }),
      facts: { actual: { cost: 100, timeMs: 1_100, memoryBytes: 1_000 } },
    },
    deny: {
      view: view("COMMIT", { payload: COMMIT_CLAIM }),
      facts: { actual: { cost: 100, timeMs: 1_101, memoryBytes: 1_000 } },
    },
  },
  {
    rule: "commit-memory-understated",
    allow: {
      view: view("COMMIT", { payload: COMMIT_CLAIM }),
      facts: { actual: { cost: 100, timeMs: 1_000, memoryBytes: 1_100 } },
    },
    deny: {
      view: view("COMMIT", { payload: COMMIT_CLAIM }),
      facts: { actual: { cost: 100, timeMs: 1_000, memoryBytes: 1_101 } },
    },
  },
  {
    rule: "attest-committee-only",
    allow: { view: view("ATTEST"), facts: { committeeMember: true } },
    deny: { view: view("ATTEST"), facts: { committeeMember: false } },
  },
  {
    rule: "challenge-window",
    allow: { view: view("CHALLENGE"), facts: { ...WINDOW, nowMs: 9_999 } },
    deny: { view: view("CHALLENGE"), facts: { ...WINDOW, nowMs: 10_000 } },
  },
  {
    rule: "challenge-proof-type",
    allow: { view: view("CHALLENGE", { payload: { proofType: "POLICY_BREACH" } }), facts: WINDOW },
    deny: { view: view("CHALLENGE", { payload: { proofType: "I_DISAGREE" } }), facts: WINDOW },
  },
  {
    rule: "challenge-size-cap",
    allow: { view: view("CHALLENGE", { payloadBytes: 10_240 }), facts: WINDOW },
    deny: { view: view("CHALLENGE", { payloadBytes: 10_241 }), facts: WINDOW },
  },
];

for (const { rule, allow, deny } of CASES) {
  Deno.test(`${rule}: allows the case at its limit`, () => {
    const decision = engine.evaluate(toPolicyRequest(allow.view, allow.facts));
    assert.deepEqual(decision.reasons, ["kind-allowlist"]);
    assert.equal(decision.allowed, true);
  });
  Deno.test(`${rule}: denies the case past its limit, naming the rule`, () => {
    const decision = engine.evaluate(toPolicyRequest(deny.view, deny.facts));
    assert.equal(decision.allowed, false);
    assert.deepEqual(decision.reasons, [rule]);
  });
}

Deno.test("kind-allowlist: every protocol verb is allowed, any other kind is denied by default", () => {
  const facts: NodeFacts = { committeeMember: true, ...WINDOW };
  for (const kind of POLICY_KINDS) {
    assert.equal(engine.evaluate(toPolicyRequest(view(kind), facts)).allowed, true, kind);
  }
  const denied = engine.evaluate(toPolicyRequest(view("SHUTDOWN"), facts));
  assert.deepEqual(denied, { ...denied, allowed: false, reasons: ["default-deny"] });
});

Deno.test("CLAIM cost is not limited by a thread budget the node has not seen", () => {
  const decision = engine.evaluate(
    toPolicyRequest(view("CLAIM", { payload: { cost: 500 } }), {
      usage: { messages: 1, retries: 0, cost: 10_000 },
    }),
  );
  assert.equal(decision.allowed, true);
});

Deno.test("a denial names every rule that forbids, sorted", () => {
  const decision = engine.evaluate(
    toPolicyRequest(view("COMMIT", { payloadBytes: 2_000_000, payload: { artifacts: 0 } })),
  );
  assert.deepEqual(decision.reasons, ["commit-requires-artifact", "payload-size-cap"]);
});

Deno.test("a configured payload cap replaces the default one", async () => {
  const large = await baseEngine({ payloadBytesMax: 4 * 1_048_576 });
  const request = toPolicyRequest(view("NEED", { payloadBytes: 2 * 1_048_576 }));
  assert.equal(engine.evaluate(request).allowed, false);
  assert.equal(large.evaluate(request).allowed, true);
  assert.notEqual(large.policyHash, engine.policyHash);
});

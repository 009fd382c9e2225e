// Proves the Cedar decision cache answers equal requests from memory, leaves out of its key only what no rule can see, and never changes a decision.
import assert from "node:assert/strict";
import fc from "fast-check";
import { CedarEngine } from "../../policies/cedar_engine.ts";
import { requestUse } from "../../policies/_decision_cache.ts";
import { BASE_SCHEMA_TEXT, SCHEMA_VERSION } from "../../policies/sources.ts";
import type { PolicyRequest } from "../../policies/request.ts";
import { baseEngine, cedarRuntime } from "./_helpers.ts";

const runtime = await cedarRuntime();
const load = (policyText: string) =>
  CedarEngine.load(runtime, {
    policyText,
    schemaText: BASE_SCHEMA_TEXT,
    schemaVersion: SCHEMA_VERSION,
  });

const request = (overrides: Partial<PolicyRequest> = {}): PolicyRequest => ({
  principal: "did:key:z6MkAlice",
  action: "NEED",
  resource: "thread-1",
  context: { payloadBytes: 100, epoch: 0, attempt: 0, threadMessages: 0, threadRetries: 0 },
  ...overrides,
});

Deno.test("the base policy sees neither principal nor resource: other threads and senders hit the cache", async () => {
  const engine = await baseEngine();
  const first = engine.evaluate(request());
  const second = engine.evaluate(request({ resource: "thread-2", principal: "did:key:z6MkBob" }));
  assert.deepEqual(second, first);
  assert.equal(second.allowed, true);
  assert.deepEqual(engine.decisionCache, { hits: 1, misses: 1 });
  // Different context: evaluated again, and a different answer.
  const big = engine.evaluate(
    request({ context: { ...request().context, payloadBytes: 10_000_000 } }),
  );
  assert.equal(big.allowed, false);
  assert.deepEqual(engine.decisionCache, { hits: 1, misses: 2 });
  assert.throws(() => (second.reasons as string[]).push("x"), TypeError);
});

Deno.test("requestUse() finds the principal and the resource in scopes and in conditions", () => {
  const api = runtime.api;
  const rule = (text: string) => ({ r: text });
  assert.deepEqual(requestUse(api, rule(`permit (principal, action, resource);`)), {
    principal: false,
    resource: false,
  });
  assert.deepEqual(
    requestUse(api, rule(`forbid (principal == Agent::"mallory", action, resource);`)),
    { principal: true, resource: false },
  );
  assert.deepEqual(
    requestUse(api, rule(`forbid (principal, action, resource) when { resource == Thread::"t" };`)),
    { principal: false, resource: true },
  );
  assert.deepEqual(
    requestUse(api, rule(`forbid (principal, action, resource is Thread);`)),
    { principal: false, resource: true },
  );
});

Deno.test("a policy that names a sender keeps senders apart in the cache (property)", async () => {
  const engine = await load(`
    @id("all") permit (principal, action, resource);
    @id("no-mallory") forbid (principal == Agent::"mallory", action, resource);
    @id("no-big") forbid (principal, action, resource) when { context.payloadBytes > 500 };
    @id("no-t9") forbid (principal, action, resource) when { resource == Thread::"t9" };
  `);
  await fc.assert(
    fc.property(
      fc.array(
        fc.record({
          principal: fc.constantFrom("alice", "bob", "mallory"),
          resource: fc.constantFrom("t1", "t2", "t9"),
          payloadBytes: fc.constantFrom(100, 400, 600),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      (requests) => {
        for (const each of requests) {
          const decision = engine.evaluate(
            request({
              principal: each.principal,
              resource: each.resource,
              context: { ...request().context, payloadBytes: each.payloadBytes },
            }),
          );
          const expected = each.principal !== "mallory" && each.resource !== "t9" &&
            each.payloadBytes <= 500;
          assert.equal(decision.allowed, expected, JSON.stringify(each));
        }
      },
    ),
    { numRuns: 100 },
  );
  assert.ok(engine.decisionCache.hits > 0);
});

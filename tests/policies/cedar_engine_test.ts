// Proves the Cedar engine refuses malformed policies, schemas and requests with typed errors, fails closed, and reports metrics.

import assert from "node:assert/strict";
import fc from "fast-check";
import { readCedarWasm } from "../../runtime/cedar_wasm_file.ts";
import { CedarEngine } from "../../policies/cedar_engine.ts";
import { loadCedarRuntime } from "../../policies/cedar_runtime.ts";
import { PolicyEngineError, PolicyLoadError, PolicyRequestError } from "../../policies/errors.ts";
import { canonicalJson } from "../../policies/hash.ts";
import { policyParameters, renderPolicyTemplate } from "../../policies/parameters.ts";
import {
  checkPolicyRequest,
  parseCanonicalRequest,
  type PolicyRequest,
} from "../../policies/request.ts";
import { BASE_SCHEMA_TEXT, basePolicySources, SCHEMA_VERSION } from "../../policies/sources.ts";
import { baseEngine, cedarRuntime, SENDER, THREAD } from "./_helpers.ts";

const runtime = await cedarRuntime();

function sources(policyText: string, schemaText = BASE_SCHEMA_TEXT) {
  return { policyText, schemaText, schemaVersion: SCHEMA_VERSION };
}

async function loadError(policyText: string, schemaText?: string, limits = {}) {
  const error = await CedarEngine.load(runtime, sources(policyText, schemaText), { limits })
    .then(() => undefined, (caught) => caught);
  assert.ok(error instanceof PolicyLoadError, `expected PolicyLoadError, got ${error}`);
  return error;
}

const PERMIT = `@id("all") permit (principal, action, resource);`;

Deno.test("load() rejects a policy that does not parse, with Cedar's diagnostics", async () => {
  const error = await loadError(`@id("broken") permit (principal, action`);
  assert.equal(error.code, "E_POLICY_PARSE");
  assert.ok(error.diagnostics.length > 0);
  assert.match(error.diagnostics[0].message, /unexpected end of input/);
});

Deno.test("load() rejects a schema that does not parse", async () => {
  const error = await loadError(PERMIT, "entity Agent; action NEED appliesTo {");
  assert.equal(error.code, "E_POLICY_SCHEMA");
  assert.ok(error.diagnostics.length > 0);
});

Deno.test("load() rejects a rule that does not match the schema, naming the rule", async () => {
  const error = await loadError(
    `@id("typo") forbid (principal, action, resource) when { context.payloadByte > 5 };`,
  );
  assert.equal(error.code, "E_POLICY_INVALID");
  assert.equal(error.diagnostics[0].policyId, "typo");
  assert.match(error.diagnostics[0].message, /payloadByte/);
});

Deno.test("load() rejects rules without an @id, with a duplicate @id, or named default-deny", async () => {
  assert.equal((await loadError(`permit (principal, action, resource);`)).code, "E_POLICY_ID");
  assert.equal((await loadError(PERMIT + PERMIT)).code, "E_POLICY_ID");
  const reserved = `@id("default-deny") permit (principal, action, resource);`;
  assert.equal((await loadError(reserved)).code, "E_POLICY_ID");
});

Deno.test("load() rejects templates and empty policy sets", async () => {
  const template = `@id("t") permit (principal == ?principal, action, resource);`;
  assert.equal((await loadError(template)).code, "E_POLICY_INVALID");
  assert.equal((await loadError("// nothing here")).code, "E_POLICY_INVALID");
});

Deno.test("load() enforces the policy size, schema size and rule count limits", async () => {
  const big = await loadError(PERMIT + " ".repeat(2_000), undefined, { policyBytesMax: 1_000 });
  assert.equal(big.code, "E_POLICY_TOO_LARGE");
  const schema = await loadError(PERMIT, undefined, { schemaBytesMax: 100 });
  assert.equal(schema.code, "E_POLICY_TOO_LARGE");
  const rules = await loadError(basePolicySources().policyText, undefined, { rulesMax: 3 });
  assert.equal(rules.code, "E_POLICY_TOO_LARGE");
});

Deno.test("policy parameters out of range or unknown are typed errors", () => {
  assert.throws(() => policyParameters({ payloadBytesMax: 64 * 1_048_576 }), {
    code: "E_POLICY_PARAMETER",
  });
  assert.throws(() => policyParameters({ threadRetriesMax: 1.5 }), { code: "E_POLICY_PARAMETER" });
  assert.throws(() => policyParameters({ nonsense: 1 } as never), { code: "E_POLICY_PARAMETER" });
  assert.throws(
    () => renderPolicyTemplate("when { x > {{missing}} }", policyParameters()),
    { code: "E_POLICY_PARAMETER" },
  );
});

const REQUEST: PolicyRequest = {
  principal: SENDER,
  action: "HEARTBEAT",
  resource: THREAD,
  context: { payloadBytes: 1, epoch: 1, attempt: 0, threadMessages: 0, threadRetries: 0 },
};

Deno.test("evaluate() rejects malformed requests with E_POLICY_REQUEST", async () => {
  const engine = await baseEngine();
  const bad: unknown[] = [
    null,
    { ...REQUEST, principal: "" },
    { ...REQUEST, action: 7 },
    { ...REQUEST, resource: "x".repeat(513) },
    { ...REQUEST, context: [] },
    { ...REQUEST, context: { ...REQUEST.context, payloadBytes: 1.5 } },
    { ...REQUEST, context: { ...REQUEST.context, payloadBytes: -1 } },
    { ...REQUEST, context: { ...REQUEST.context, payloadBytes: 2 ** 48 } },
    { ...REQUEST, context: { ...REQUEST.context, nested: { a: 1 } } },
    { ...REQUEST, context: { ...REQUEST.context, "bad key": 1 } },
    { ...REQUEST, context: { ...REQUEST.context, note: "x".repeat(257) } },
  ];
  for (const request of bad) {
    assert.throws(
      () => engine.evaluate(request as PolicyRequest),
      (error: unknown) => error instanceof PolicyRequestError && error.code === "E_POLICY_REQUEST",
      JSON.stringify(request),
    );
  }
});

Deno.test("evaluate() rejects a request over the size limit with E_POLICY_REQUEST_TOO_LARGE", async () => {
  const engine = await baseEngine();
  const context: Record<string, string> = {};
  for (let index = 0; index < 20; index++) context[`note${index}`] = "x".repeat(250);
  assert.throws(() => engine.evaluate({ ...REQUEST, context }), {
    code: "E_POLICY_REQUEST_TOO_LARGE",
  });
});

Deno.test("a forbid rule that errors denies (fail closed) instead of being skipped", async () => {
  const policy = PERMIT +
    `@id("overflow") forbid (principal, action, resource)
       when { context.payloadBytes * 100000000 * 100000000 > 0 };`;
  const engine = await CedarEngine.load(runtime, sources(policy));
  const small = engine.evaluate(REQUEST);
  assert.equal(small.allowed, false);
  assert.deepEqual(small.reasons, ["overflow"]);
  const overflow = engine.evaluate({
    ...REQUEST,
    context: { ...REQUEST.context, payloadBytes: 2 ** 40 },
  });
  assert.equal(overflow.allowed, false);
  assert.deepEqual(overflow.reasons, ["error:overflow"]);
  assert.match(overflow.errors[0].message, /overflow/);
  assert.equal(engine.metrics.snapshot().evaluationErrors, 1);
});

Deno.test("metrics count decisions, reasons and evaluation time when a clock is given", async () => {
  let now = 0;
  const engine = await CedarEngine.load(runtime, basePolicySources(), {
    clock: () => (now += 0.03),
  });
  engine.evaluate(REQUEST);
  engine.evaluate({ ...REQUEST, context: { ...REQUEST.context, payloadBytes: 2 ** 30 } });
  const snapshot = engine.metrics.snapshot();
  assert.equal(snapshot.evaluations, 2);
  assert.equal(snapshot.allowed, 1);
  assert.equal(snapshot.denied, 1);
  assert.deepEqual(snapshot.reasons, { "payload-size-cap": 1 });
  assert.equal(snapshot.latency.measured, 2);
  assert.equal(snapshot.latency.buckets.find((bucket) => bucket.leUs === 50)?.count, 2);
});

Deno.test("two engines over the same sources share every hash", async () => {
  const first = await baseEngine();
  const second = await baseEngine();
  assert.notEqual(first, second);
  assert.equal(first.policyHash, second.policyHash);
  assert.equal(first.engineHash, runtime.engineHash);
  assert.match(first.policyHash, /^[0-9a-f]{64}$/);
});

Deno.test("the engine refuses a second, different wasm binary in the same process", async () => {
  const error = await loadCedarRuntime(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
    .then(() => undefined, (caught) => caught);
  assert.ok(error instanceof PolicyEngineError);
  assert.equal(error.code, "E_POLICY_ENGINE_MISMATCH");
  assert.equal(await loadCedarRuntime(await readCedarWasm()), runtime);
});

const contextArbitrary = fc.dictionary(
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,8}$/),
  fc.oneof(fc.boolean(), fc.nat(), fc.string({ maxLength: 20 })),
  { maxKeys: 10 },
);

Deno.test("canonical encoding ignores key order and round-trips through parseCanonicalRequest", () => {
  fc.assert(
    fc.property(contextArbitrary, (context) => {
      const request = { principal: SENDER, action: "NEED", resource: THREAD, context };
      const reversed = Object.fromEntries(Object.entries(context).reverse());
      const checked = checkPolicyRequest(request);
      assert.equal(
        canonicalJson({ resource: THREAD, context: reversed, action: "NEED", principal: SENDER }),
        checked.canonical,
      );
      assert.equal(parseCanonicalRequest(checked.canonical).canonical, checked.canonical);
    }),
  );
});

Deno.test("parseCanonicalRequest() rejects non-canonical or malformed text", () => {
  const canonical = checkPolicyRequest(REQUEST).canonical;
  for (
    const text of [
      canonical.replace("{", "{ "),
      "not json",
      "[]",
      JSON.stringify({ ...REQUEST, extra: 1 }),
      "x".repeat(5_000),
    ]
  ) {
    assert.throws(() => parseCanonicalRequest(text), PolicyRequestError, text.slice(0, 40));
  }
});

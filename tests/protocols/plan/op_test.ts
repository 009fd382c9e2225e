// Proves plan ops validate every field with typed errors and encode canonically (decode ∘ encode = id).

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compareOps,
  decodePlanOp,
  encodePlanOp,
  parsePlanOp,
  planOpId,
} from "../../../protocols/plan/op.ts";
import { PlanOpInvalidError } from "../../../protocols/plan/errors.ts";

const header = { thread: "t", actor: "did:key:z6Mk", lamport: 3 };

Deno.test("parsePlanOp() fills defaults: index 0, epoch 0, transition null, empty title", () => {
  assert.deepEqual(parsePlanOp({ ...header, kind: "ADD_TASK", task: "x" }), {
    ...header,
    index: 0,
    kind: "ADD_TASK",
    task: "x",
    title: "",
  });
  const op = parsePlanOp({ ...header, kind: "STATE", task: "x", state: "CLAIMED" });
  assert.equal(op.kind === "STATE" && op.epoch, 0);
  assert.equal(op.kind === "STATE" && op.transition, null);
});

Deno.test("parsePlanOp() rejects bad input with E_PLAN_OP_INVALID naming the field", () => {
  const cases: [unknown, RegExp][] = [
    [null, /must be an object/],
    [[1], /must be an object/],
    [{ ...header, kind: "DELETE", task: "x" }, /field kind must be one of/],
    [{ ...header, kind: "ADD_TASK", lamport: 0, task: "x" }, /field lamport/],
    [{ ...header, kind: "ADD_TASK", lamport: 1.5, task: "x" }, /field lamport/],
    [{ ...header, kind: "ADD_TASK", task: "" }, /field task/],
    [{ ...header, kind: "ADD_TASK", task: "x".repeat(300) }, /at most 256/],
    [{ ...header, kind: "ADD_TASK", thread: 5, task: "x" }, /field thread/],
    [{ ...header, kind: "STATE", task: "x", state: "DONE" }, /field state/],
    [{ ...header, kind: "STATE", task: "x", state: "DRAFT" }, /transition exactly when/],
    [{ ...header, kind: "STATE", task: "x", state: "CLAIMED", transition: "YIELD" }, /transition/],
    [{ ...header, kind: "STATE", task: "x", state: "DRAFT", transition: "UNDO" }, /transition/],
    [{ ...header, kind: "ANNOTATE", task: "x", key: "k", value: { a: 1 } }, /field value/],
    [{ ...header, kind: "ANNOTATE", task: "x", key: "k", value: Infinity }, /field value/],
    [{ ...header, kind: "LINK", from: "a" }, /field to/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parsePlanOp(input), (error: unknown) => {
      assert.ok(
        error instanceof PlanOpInvalidError,
        `expected a typed error for ${JSON.stringify(input)}`,
      );
      assert.equal(error.code, "E_PLAN_OP_INVALID");
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("decodePlanOp() rejects text that is not JSON with a typed error", () => {
  assert.throws(() => decodePlanOp("{nope"), PlanOpInvalidError);
});

const opArbitrary = fc.oneof(
  fc.record({
    kind: fc.constant("ADD_TASK"),
    task: fc.string({ minLength: 1 }),
    title: fc.string(),
  }),
  fc.record({
    kind: fc.constantFrom("REQUIRES", "PRODUCES"),
    task: fc.string({ minLength: 1 }),
    key: fc.string({ minLength: 1 }),
  }),
  fc.record({
    kind: fc.constant("LINK"),
    from: fc.string({ minLength: 1 }),
    to: fc.string({ minLength: 1 }),
  }),
  fc.record({
    kind: fc.constant("ANNOTATE"),
    task: fc.string({ minLength: 1 }),
    key: fc.string({ minLength: 1 }),
    value: fc.oneof(
      fc.string(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    ),
  }),
).chain((body) =>
  fc.record({
    thread: fc.string({ minLength: 1, maxLength: 20 }),
    actor: fc.string({ minLength: 1, maxLength: 20 }),
    lamport: fc.integer({ min: 1, max: 1e9 }),
    index: fc.integer({ min: 0, max: 100 }),
  }).map((head) => ({ ...head, ...body }))
);

Deno.test("decodePlanOp(encodePlanOp(op)) is op, and encoding ignores key order", () => {
  fc.assert(
    fc.property(opArbitrary, (input) => {
      const op = parsePlanOp(input);
      const text = encodePlanOp(op);
      assert.deepEqual(decodePlanOp(text), op);
      const shuffled = Object.fromEntries(Object.entries(input).reverse());
      assert.equal(encodePlanOp(parsePlanOp(shuffled)), text);
    }),
    { numRuns: 300 },
  );
});

Deno.test("compareOps() orders by lamport, then actor, then index, and ids are unique per author and slot", () => {
  const a = parsePlanOp({ ...header, kind: "ADD_TASK", task: "x", lamport: 1, actor: "b" });
  const b = parsePlanOp({ ...header, kind: "ADD_TASK", task: "x", lamport: 2, actor: "a" });
  const c = parsePlanOp({
    ...header,
    kind: "ADD_TASK",
    task: "x",
    lamport: 2,
    actor: "a",
    index: 1,
  });
  assert.deepEqual([c, b, a].sort(compareOps), [a, b, c]);
  assert.notEqual(planOpId(b), planOpId(c));
  assert.equal(planOpId(a), "1/0/b");
});

// Proves AP merge picks one winner per need by (epoch, lamport, decider), independent of input order, and marks the losers orphaned.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compareDecisions,
  highestEpochWins,
  mergeOnHeal,
} from "../../../protocols/consensus/merge.ts";
import type { DecideRecord } from "../../../runtime/store/decide_log.ts";
import { decideRecord } from "../../runtime/store/_decide_record.ts";

const record = (
  needId: string,
  epoch: number,
  lamport: number,
  decider: string,
  proposalId = "p",
) => decideRecord({ needId, epoch, lamport, decider, proposalId });

Deno.test("highestEpochWins() orders by epoch, then lamport, then decider", () => {
  assert.equal(highestEpochWins(record("n", 2, 1, "a"), record("n", 1, 9, "z")).epoch, 2);
  assert.equal(highestEpochWins(record("n", 1, 3, "a"), record("n", 1, 9, "a")).lamport, 9);
  assert.equal(highestEpochWins(record("n", 1, 3, "a"), record("n", 1, 3, "b")).decider, "b");
});

Deno.test("mergeOnHeal() reports conflicts and orphans, and agreeing sides are no conflict", () => {
  const left = [record("n1", 1, 5, "a", "x"), record("n2", 1, 5, "a", "same")];
  const right = [
    record("n1", 1, 7, "b", "y"),
    record("n2", 1, 5, "a", "same"),
    record("n3", 2, 1, "b"),
  ];
  const merged = mergeOnHeal([left, right]);
  assert.deepEqual([...merged.winners.keys()], ["n1", "n2", "n3"]);
  assert.equal(merged.winners.get("n1")?.proposalId, "y");
  assert.equal(merged.conflicts.length, 1);
  assert.equal(merged.orphaned.length, 1);
  assert.equal(merged.orphaned[0].record.proposalId, "x");
  assert.equal(merged.orphaned[0].orphaned_by_epoch, 1);
});

const arbitraryRecord = fc.record({
  needId: fc.constantFrom("n1", "n2", "n3"),
  proposalId: fc.constantFrom("p1", "p2"),
  epoch: fc.integer({ min: 0, max: 3 }),
  lamport: fc.integer({ min: 1, max: 5 }),
  kPlan: fc.constant(1),
  decider: fc.constantFrom("a", "b", "c"),
  fence: fc.constant(1),
  decidedAtMs: fc.constant(0),
}, { noNullPrototype: true });

Deno.test("merge results do not depend on the order of sides or records, and winners are maximal (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(arbitraryRecord, { maxLength: 8 }), { maxLength: 4 }),
      (sides) => {
        const merged = mergeOnHeal(sides);
        const reversed = mergeOnHeal([...sides].reverse().map((side) => [...side].reverse()));
        assert.deepEqual([...merged.winners.entries()], [...reversed.winners.entries()]);
        assert.equal(merged.orphaned.length, reversed.orphaned.length);
        for (const side of sides) {
          for (const decision of side) {
            const winner = merged.winners.get(decision.needId) as DecideRecord;
            assert.ok(compareDecisions(winner, decision) >= 0);
          }
        }
        for (const orphan of merged.orphaned) {
          assert.equal(orphan.orphaned_by_epoch, merged.winners.get(orphan.record.needId)?.epoch);
        }
      },
    ),
  );
});

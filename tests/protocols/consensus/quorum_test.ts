// Proves the quorum math: K_plan = min(target, floor(active × alpha)) ≥ 1, K=1 in bootstrap, and a tally completes its quorum exactly once.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addVote,
  EMPTY_TALLY,
  planQuorum,
  resultQuorum,
  type Tally,
} from "../../../protocols/consensus/quorum.ts";
import { swarmParams } from "../../../protocols/params.ts";

const params = swarmParams();

Deno.test("planQuorum() follows the formula at known points", () => {
  assert.equal(planQuorum(20, false, params), 5);
  assert.equal(planQuorum(10, false, params), 3);
  assert.equal(planQuorum(3, false, params), 1);
  assert.equal(planQuorum(100, false, params), 5);
  assert.equal(planQuorum(100, true, params), 1);
});

Deno.test("planQuorum() is between 1 and K_target and never decreases with more verifiers (property)", () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 10_000 }),
    fc.integer({ min: 1, max: 50 }),
    fc.double({ min: 0.01, max: 1, noNaN: true }),
    (active, kPlanTarget, quorumAlpha) => {
      const custom = swarmParams({ kPlanTarget, quorumAlpha });
      const k = planQuorum(active, false, custom);
      assert.ok(k >= 1 && k <= kPlanTarget);
      assert.ok(planQuorum(active + 1, false, custom) >= k);
      assert.equal(k, Math.max(1, Math.min(kPlanTarget, Math.floor(active * quorumAlpha))));
    },
  ));
});

Deno.test("resultQuorum() is capped by the active verifiers and raised by upheld challenges", () => {
  assert.equal(resultQuorum(10, false, params), 3);
  assert.equal(resultQuorum(2, false, params), 2);
  assert.equal(resultQuorum(10, false, params, 2), 5);
  assert.equal(resultQuorum(10, true, params), 1);
  assert.equal(resultQuorum(10, true, params, 2), 5);
});

Deno.test("a tally completes its quorum with exactly one vote, whatever the vote order (property)", () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()), { maxLength: 40 }),
    fc.integer({ min: 1, max: 6 }),
    (votes, quorum) => {
      let tally: Tally = EMPTY_TALLY;
      let completions = 0;
      const voted = new Set<number>();
      for (const [voter, approve] of votes) {
        const result = addVote(tally, `v${voter}`, approve, quorum);
        assert.equal(result.counted, !voted.has(voter), "one vote per voter");
        voted.add(voter);
        if (result.completedQuorum) completions++;
        tally = result.tally;
      }
      assert.equal(completions, tally.approvals.length >= quorum ? 1 : 0);
      assert.equal(tally.reached, tally.approvals.length >= quorum);
    },
  ));
});

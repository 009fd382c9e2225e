// Proves committee selection is deterministic per subject, respects the minimum stake and every diversity cap, and favours stake, reputation and recency.
import assert from "node:assert/strict";
import fc from "fast-check";
import { committeeFor } from "../../../protocols/committee.ts";
import { MICRO_PER_CREDIT } from "../../../protocols/economics/amounts.ts";
import { economicsParams } from "../../../protocols/economics/params.ts";
import {
  diversityViolations,
  membersAllowed,
  type SelectionCandidate,
  selectionWeight,
  selectWeighted,
} from "../../../protocols/economics/selection.ts";
import { swarmParams } from "../../../protocols/params.ts";

const PARAMS = economicsParams();

function candidate(index: number, overrides: Partial<SelectionCandidate> = {}): SelectionCandidate {
  return {
    did: `did:v${index}`,
    stake: 1_000 * MICRO_PER_CREDIT,
    reputation: 0.8,
    recency: 1,
    org: `org${index}`,
    asn: `asn${index}`,
    region: `region${index}`,
    entity: `entity${index}`,
    ...overrides,
  };
}

const candidates = fc.array(
  fc.record({
    stake: fc.integer({ min: 0, max: 5_000 }),
    reputation: fc.double({ min: 0, max: 1, noNaN: true }),
    recency: fc.double({ min: 0.1, max: 1, noNaN: true }),
    org: fc.integer({ min: 0, max: 3 }),
    asn: fc.integer({ min: 0, max: 4 }),
    region: fc.integer({ min: 0, max: 2 }),
    entity: fc.integer({ min: 0, max: 8 }),
  }),
  { minLength: 0, maxLength: 30 },
).map((rows) =>
  rows.map((row, index) =>
    candidate(index, {
      stake: row.stake * MICRO_PER_CREDIT,
      reputation: row.reputation,
      recency: row.recency,
      org: `org${row.org}`,
      asn: `asn${row.asn}`,
      region: `region${row.region}`,
      entity: `entity${row.entity}`,
    })
  )
);

Deno.test("committees always respect the caps and the minimum stake, and are the same for the same subject", () => {
  fc.assert(
    fc.property(candidates, fc.integer({ min: 1, max: 12 }), fc.string(), (pool, size, subject) => {
      const committee = selectWeighted(subject, pool, size, PARAMS);
      assert.deepEqual(committee, selectWeighted(subject, [...pool].reverse(), size, PARAMS));
      assert.ok(committee.length <= size);
      assert.equal(new Set(committee).size, committee.length);
      const members = committee.map((did) =>
        pool.find((each) => each.did === did) as SelectionCandidate
      );
      for (const member of members) {
        assert.ok(member.stake >= PARAMS.verifierStakeMin * MICRO_PER_CREDIT, "min stake");
        assert.ok(selectionWeight(member, PARAMS) > 0);
      }
      assert.deepEqual(diversityViolations(members, PARAMS), []);
      // The caps only shrink a committee when they must: an eligible pool of distinct
      // organisations, ASes, regions and entities always fills it.
      if (committee.length === 0) {
        assert.ok(
          pool.every((each) =>
            selectionWeight(each, PARAMS) === 0 ||
            each.stake < PARAMS.verifierStakeMin * MICRO_PER_CREDIT
          ),
        );
      }
    }),
    { numRuns: 400 },
  );
});

Deno.test("with distinct metadata every eligible verifier can be drawn and the committee is full", () => {
  const pool = Array.from({ length: 10 }, (_, index) => candidate(index));
  assert.equal(selectWeighted("need-1", pool, 4, PARAMS).length, 4);
  const poor = [...pool.slice(0, 3), candidate(99, { stake: 99 * MICRO_PER_CREDIT })];
  assert.ok(
    !selectWeighted("need-1", poor, 4, PARAMS).includes("did:v99"),
    "below the minimum stake",
  );
});

Deno.test("one organisation gets at most 30 % of a committee, one region at most 50 %", () => {
  const pool = Array.from(
    { length: 10 },
    (_, index) =>
      candidate(index, {
        org: index < 8 ? "acme" : `org${index}`,
        region: index % 2 === 0 ? "eu" : "us",
      }),
  );
  const committee = selectWeighted("need-2", pool, 10, PARAMS);
  const members = committee.map((did) =>
    pool.find((each) => each.did === did) as SelectionCandidate
  );
  assert.ok(
    members.filter((member) => member.org === "acme").length <=
      membersAllowed("org", committee.length, PARAMS),
  );
  assert.deepEqual(diversityViolations(members, PARAMS), []);
  // Three seats would allow one per organisation and one per region (floor(0.5 × 3) = 1), but
  // there are only two regions: the largest committee that meets every cap has two members.
  assert.equal(committee.length, 2);
  assert.notEqual(members[0].region, members[1].region);
});

Deno.test("linked identities (one entity) never share a committee", () => {
  const pool = Array.from({ length: 6 }, (_, index) => candidate(index, { entity: "sybil" }));
  assert.equal(selectWeighted("need-3", pool, 4, PARAMS).length, 1);
});

Deno.test("selection favours higher stake (square root, capped), reputation and recency", () => {
  const wins = (pool: SelectionCandidate[]) => {
    const counts = new Map<string, number>();
    for (let round = 0; round < 2_000; round++) {
      const [first] = selectWeighted(`subject-${round}`, pool, 1, PARAMS);
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    return counts;
  };
  const byStake = wins([
    candidate(0, { stake: 400 * MICRO_PER_CREDIT }),
    candidate(1, { stake: 1_600 * MICRO_PER_CREDIT }),
  ]);
  // sqrt(1600) / sqrt(400) = 2: the bigger stake wins about 2/3 of draws, not 4/5.
  const share = (byStake.get("did:v1") ?? 0) / 2_000;
  assert.ok(share > 0.6 && share < 0.73, `stake share ${share}`);
  const byReputation = wins([candidate(0, { reputation: 0.2 }), candidate(1, { reputation: 0.8 })]);
  assert.ok((byReputation.get("did:v1") ?? 0) > 1_450);
  const byRecency = wins([candidate(0, { recency: 0.1 }), candidate(1, { recency: 1 })]);
  assert.ok((byRecency.get("did:v1") ?? 0) > 1_700);
  const whale = wins([
    candidate(0, { stake: 100_000 * MICRO_PER_CREDIT }),
    candidate(1, { stake: 10_000_000 * MICRO_PER_CREDIT }),
  ]);
  const whaleShare = (whale.get("did:v1") ?? 0) / 2_000;
  assert.ok(
    whaleShare > 0.4 && whaleShare < 0.6,
    `stake above the cap buys nothing: ${whaleShare}`,
  );
});

Deno.test("committeeFor draws quorum + 1 members, from the candidates when given", () => {
  const params = swarmParams();
  const verifiers = new Set(Array.from({ length: 10 }, (_, index) => `did:v${index}`));
  assert.equal(committeeFor("result", "t1", verifiers, params, false).length, 4);
  assert.equal(committeeFor("plan", "n1", verifiers, params, true).length, 2);
  const pool = [...verifiers].map((_, index) => candidate(index, { org: "one-org" }));
  assert.equal(committeeFor("result", "t1", verifiers, params, false, pool).length, 1);
});

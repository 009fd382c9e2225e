// Proves settlements pay the documented shares: bounty to the worker, verify bounty equally to the committee, 50/40/10 on upheld challenges, bonds to defenders, fees burned, and related parties blocked.
import assert from "node:assert/strict";
import { MICRO_PER_CREDIT } from "../../../protocols/economics/amounts.ts";
import { economicsParams } from "../../../protocols/economics/params.ts";
import {
  finalPayouts,
  heartbeatSlash,
  policySlashShare,
  rejectedBond,
  upheldSlashes,
  withdrawnBond,
} from "../../../protocols/economics/payouts.ts";
import { ParticipantRegistry } from "../../../protocols/economics/registry.ts";
import { challengeOf, finalThread, VERIFIERS } from "./_fixtures.ts";

const PARAMS = economicsParams();
const NOBODY_RELATED = ParticipantRegistry.from([], PARAMS);
const sum = (payouts: { amount: number }[]) =>
  payouts.reduce((total, each) => total + each.amount, 0);

Deno.test("a final NEED pays the bounty to the worker and the verify bounty equally to the FINALIZE's attesters", () => {
  const thread = finalThread(); // bounty 10: escrow 12 credits
  const escrow = 12 * MICRO_PER_CREDIT;
  const settlement = finalPayouts(thread, escrow, NOBODY_RELATED);
  const paid = new Map(settlement.payouts.map((each) => [each.to, each.amount]));
  assert.equal(paid.get("did:worker"), 10 * MICRO_PER_CREDIT);
  for (const attester of VERIFIERS.slice(0, 3)) {
    assert.ok(Math.abs((paid.get(attester) ?? 0) - (2 * MICRO_PER_CREDIT) / 3) <= 1);
  }
  assert.equal(sum(settlement.payouts) + settlement.burned, escrow, "nothing created or lost");
  assert.deepEqual(settlement.blocked, []);
});

Deno.test("payouts to parties related to the requester, or attesters related to the worker, go back to the requester", () => {
  const thread = finalThread();
  const registry = ParticipantRegistry.from([
    { did: "did:requester", org: "acme" },
    { did: "did:worker", org: "acme" },
    { did: VERIFIERS[0], asn: "AS1" },
    { did: "did:worker-twin", asn: "AS1" },
    { did: VERIFIERS[1], entity: "op-7" },
  ], PARAMS);
  const related = ParticipantRegistry.from([
    { did: "did:requester", org: "acme" },
    { did: "did:worker", org: "acme", asn: "AS9" },
    { did: VERIFIERS[2], asn: "AS9" },
  ], PARAMS);
  const escrow = 12 * MICRO_PER_CREDIT;
  const blockedWorker = finalPayouts(thread, escrow, registry);
  assert.equal(blockedWorker.payouts.find((each) => each.to === "did:worker"), undefined);
  assert.deepEqual(blockedWorker.blocked.map((each) => each.reason), ["related to the requester"]);
  const both = finalPayouts(thread, escrow, related);
  assert.deepEqual(both.blocked.map((each) => [each.to, each.reason]), [
    ["did:worker", "related to the requester"],
    [VERIFIERS[2], "related to the worker"],
  ]);
  const refunded = both.payouts.find((each) => each.to === "did:requester")?.amount ?? 0;
  assert.equal(refunded, sum(both.blocked));
  assert.equal(sum(both.payouts), escrow);
});

Deno.test("an upheld challenge splits each slash 50/40/10 with the reward capped at 2× (4× in bootstrap) the bond", () => {
  const challenge = challengeOf("did:challenger", 10);
  const slashes = [
    { account: VERIFIERS[0], amount: 500 * MICRO_PER_CREDIT },
    { account: VERIFIERS[1], amount: 100 * MICRO_PER_CREDIT },
  ];
  const reward = 40 * MICRO_PER_CREDIT;
  const splits = upheldSlashes(slashes, challenge, [VERIFIERS[5]], "did:worker", reward, {
    registry: NOBODY_RELATED,
    params: PARAMS,
  });
  assert.equal(splits.length, 2);
  for (const split of splits) assert.equal(sum(split.payouts) + split.burned, split.amount);
  const first = new Map(splits[0].payouts.map((each) => [each.to, each.amount]));
  assert.equal(
    first.get("did:challenger"),
    40 * MICRO_PER_CREDIT,
    "the whole reward from the first slash",
  );
  assert.equal(
    first.get(VERIFIERS[5]),
    (200 + 250 - 40) * MICRO_PER_CREDIT,
    "honest 40 % and the rest of the challenger's half",
  );
  assert.equal(splits[0].burned, 50 * MICRO_PER_CREDIT, "10 % burned");
  assert.equal(
    splits[1].payouts.find((each) => each.to === "did:challenger"),
    undefined,
    "the reward is paid once",
  );
  const nobodyHonest = upheldSlashes(slashes.slice(0, 1), challenge, [], "did:worker", reward, {
    registry: NOBODY_RELATED,
    params: PARAMS,
  });
  assert.equal(
    nobodyHonest[0].burned,
    (500 - 40) * MICRO_PER_CREDIT,
    "with no dissenter the rest burns",
  );
  const related = ParticipantRegistry.from([
    { did: "did:challenger", org: "acme" },
    { did: VERIFIERS[0], org: "acme" },
  ], PARAMS);
  const selfDealing = upheldSlashes(slashes.slice(0, 1), challenge, [], "did:worker", reward, {
    registry: related,
    params: PARAMS,
  });
  assert.deepEqual(
    selfDealing[0].payouts,
    [],
    "a challenger related to the slashed party gets nothing",
  );
  assert.equal(selfDealing[0].blocked.length, 1);
});

Deno.test("a rejected bond goes to the defenders after a 10 % burn; a withdrawn one costs a 10 % fee", () => {
  const challenge = challengeOf("did:challenger", 100);
  const bond = 100 * MICRO_PER_CREDIT;
  const rejected = rejectedBond(challenge, ["did:worker", VERIFIERS[0], VERIFIERS[1]], bond, {
    registry: NOBODY_RELATED,
    params: PARAMS,
  });
  assert.equal(rejected.burned, 10 * MICRO_PER_CREDIT);
  assert.equal(rejected.payouts.length, 3);
  assert.equal(sum(rejected.payouts) + rejected.burned, bond);
  const withdrawn = withdrawnBond(challenge, bond, PARAMS);
  assert.deepEqual(withdrawn.payouts, [{ to: "did:challenger", amount: 90 * MICRO_PER_CREDIT }]);
  assert.equal(withdrawn.burned, 10 * MICRO_PER_CREDIT);
});

Deno.test("missed heartbeats slash 1 % per heartbeat spanned, at most 10 %; policy breaches 10 % × (1 + severity/10)", () => {
  const stake = 1_000 * MICRO_PER_CREDIT;
  const lease = (spanMs: number) => ({
    leaseId: "l",
    holder: "did:worker",
    grantedAtMs: 0,
    expiresAtMs: spanMs,
    heartbeatIntervalMs: 20_000,
  });
  assert.equal(heartbeatSlash(lease(60_000), stake, PARAMS), 30 * MICRO_PER_CREDIT);
  assert.equal(heartbeatSlash(lease(10_000_000), stake, PARAMS), 100 * MICRO_PER_CREDIT);
  assert.equal(
    heartbeatSlash(lease(1), stake, PARAMS),
    10 * MICRO_PER_CREDIT,
    "at least severity 1",
  );
  assert.equal(policySlashShare(0, PARAMS), 0.1);
  assert.equal(policySlashShare(5, PARAMS), 0.15000000000000002);
  assert.equal(policySlashShare(99, PARAMS), 0.2);
});

// Proves the registry resolves metadata and genesis, reads manifests, relates parties by identity, organisation, AS or entity, and refuses bad entries with E_REGISTRY.
import assert from "node:assert/strict";
import { economicsParams } from "../../../protocols/economics/params.ts";
import {
  entriesFromManifests,
  type ParticipantEntry,
  ParticipantRegistry,
} from "../../../protocols/economics/registry.ts";
import { ReputationBook } from "../../../protocols/economics/reputation.ts";
import type { AgentManifest } from "../../../protocols/identity/manifest.ts";

const PARAMS = economicsParams();
const WEEK = 7 * 24 * 3600 * 1000;

Deno.test("defaults: each DID its own organisation, AS, region and entity, with the genesis allocation", () => {
  const registry = ParticipantRegistry.from(
    [{ did: "did:a" }, { did: "did:b", org: "acme" }],
    PARAMS,
  );
  assert.deepEqual(registry.meta("did:a"), {
    did: "did:a",
    org: "org:did:a",
    asn: "asn:did:a",
    region: "region:did:a",
    entity: "did:a",
    genesisBalance: PARAMS.genesisBalance,
    genesisStake: PARAMS.genesisStake,
  });
  assert.equal(registry.meta("did:unknown").genesisBalance, 0);
  assert.deepEqual(registry.participants().map((each) => each.did), ["did:a", "did:b"]);
});

Deno.test("related: same identity, organisation, AS or entity; a shared region is not a relation", () => {
  const registry = ParticipantRegistry.from([
    { did: "did:a", org: "acme", region: "eu" },
    { did: "did:b", org: "acme" },
    { did: "did:c", asn: "AS1", region: "eu" },
    { did: "did:d", asn: "AS1" },
    { did: "did:e", entity: "op" },
    { did: "did:f", entity: "op" },
  ], PARAMS);
  assert.ok(registry.related("did:a", "did:a"));
  assert.ok(registry.related("did:a", "did:b"));
  assert.ok(registry.related("did:c", "did:d"));
  assert.ok(registry.related("did:e", "did:f"));
  assert.ok(!registry.related("did:a", "did:c"), "region alone");
  assert.ok(!registry.related("did:a", "did:x"));
});

Deno.test("manifests give metadata from constraints and the genesis stake from stake.amount", () => {
  const manifest = {
    agent: "did:key:z6Mk",
    constraints: { org: "acme", asn: 64512, region: "eu", entity: "op-1" },
    stake: { amount: 250, unbonding: 0 },
  } as unknown as AgentManifest;
  const [entry] = entriesFromManifests([manifest]);
  assert.deepEqual(entry, {
    did: "did:key:z6Mk",
    org: "acme",
    asn: "64512",
    region: "eu",
    entity: "op-1",
    genesisStake: 250,
  });
  assert.equal(ParticipantRegistry.from([entry], PARAMS).meta(entry.did).genesisStake, 250);
});

Deno.test("bad entries are refused with E_REGISTRY naming them", () => {
  const cases: [ParticipantEntry[], RegExp][] = [
    [[{ did: "a" }], /needs a did/],
    [[{ did: "did:a" }, { did: "did:a" }], /twice/],
    [[{ did: "did:a", org: "" }], /field org/],
    [[{ did: "did:a", genesisBalance: -5 }], /genesisBalance/],
    [[{ did: "did:a", genesisBalance: 5, genesisStake: 10 }], /stakes 10/],
    [[{ did: "did:a", colour: "red" } as ParticipantEntry], /unknown field colour/],
  ];
  for (const [entries, message] of cases) {
    assert.throws(
      () => ParticipantRegistry.from(entries, PARAMS),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "E_REGISTRY");
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

Deno.test("reputation starts at 0.8, moves by -0.3 and +0.1, clamps to [0, 1] and fades 5 % a week toward the start", () => {
  const book = new ReputationBook(PARAMS);
  assert.equal(book.get("did:a", 0), 0.8);
  assert.ok(Math.abs(book.failedAttestation("did:a", 0) - 0.5) < 1e-12);
  assert.ok(Math.abs(book.get("did:a", WEEK) - (0.8 - 0.3 * 0.95)) < 1e-12);
  book.failedAttestation("did:b", 0);
  book.failedAttestation("did:b", 0);
  assert.equal(book.failedAttestation("did:b", 0), 0, "clamped at 0");
  book.upheldChallenge("did:c", 0);
  book.upheldChallenge("did:c", 0);
  assert.equal(book.upheldChallenge("did:c", 0), 1, "clamped at 1");
  assert.ok(Math.abs(book.get("did:c", 52 * WEEK) - (0.8 + 0.2 * 0.95 ** 52)) < 1e-12);
});

// Proves did:key and did:peer encode, parse and resolve Ed25519 keys as their specifications say, and refuse the rest.
import assert from "node:assert/strict";
import { base58btc } from "multiformats/bases/base58";
import {
  didKeyFromPublicKey,
  didPeer2FromPublicKey,
  Identity,
  IDENTITY_ERROR_CODES,
  publicKeyFromDid,
  publicKeyFromDidKey,
  resolveDid,
} from "../../../protocols/identity/mod.ts";

// Published did:key documents (publicKeyBase58 is the raw key without multicodec).
const VECTORS = [
  [
    "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",
    "8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K",
  ],
  [
    "did:key:z6Mkgg342Ycpuk263R9d8Aq6MUaxPn1DDeHyGo38EefXmgDL",
    "3Dn1SJNPaCXcvvJvSbsFWP2xaCjMom3can8CQNhWrTRx",
  ],
];

const errorCode = (code: string) => (error: Error & { code?: string }) => error.code === code;

Deno.test("did:key matches published vectors in both directions", () => {
  for (const [did, base58Key] of VECTORS) {
    const raw = base58btc.baseDecode(base58Key);
    assert.equal(didKeyFromPublicKey(raw), did);
    assert.deepEqual(publicKeyFromDidKey(did), raw);
  }
});

Deno.test("resolveDid() gives a did:key document with one Ed25519 method for every relationship", () => {
  const [did] = VECTORS[0];
  const document = resolveDid(did);
  const methodId = `${did}#${did.slice("did:key:".length)}`;
  assert.equal(document.id, did);
  assert.deepEqual(document.verificationMethod, [{
    id: methodId,
    type: "Ed25519VerificationKey2020",
    controller: did,
    publicKeyMultibase: did.slice("did:key:".length),
  }]);
  for (
    const relation of [
      "authentication",
      "assertionMethod",
      "capabilityInvocation",
      "capabilityDelegation",
    ] as const
  ) {
    assert.deepEqual(document[relation], [methodId]);
  }
});

Deno.test("did:peer:0 and did:peer:2 name the same key as the did:key", async () => {
  const identity = await Identity.fromSeed(new Uint8Array(32).fill(4));
  const multibase = identity.did.slice("did:key:".length);
  assert.equal(identity.didPeer0(), `did:peer:0${multibase}`);
  assert.deepEqual(publicKeyFromDid(identity.didPeer0()), identity.publicKey);
  assert.deepEqual(publicKeyFromDid(identity.didPeer2()), identity.publicKey);
  const peer2 = resolveDid(identity.didPeer2());
  assert.equal(peer2.verificationMethod.length, 1);
  assert.equal(peer2.verificationMethod[0].id, "#key-1");
  assert.equal(peer2.verificationMethod[0].publicKeyMultibase, multibase);
  assert.deepEqual(peer2.authentication, ["#key-1"]);
  assert.deepEqual(peer2.assertionMethod, ["#key-1"]);
});

Deno.test("did:peer:2 services are abbreviated on encoding and expanded on resolution", async () => {
  const identity = await Identity.fromSeed(new Uint8Array(32).fill(5));
  const did = didPeer2FromPublicKey(identity.publicKey, {
    services: [{
      type: "DIDCommMessaging",
      serviceEndpoint: "http://127.0.0.1:8080",
      accept: ["didcomm/v2"],
    }],
  });
  const encoded = did.split(".").find((part) => part.startsWith("S"))?.slice(1) ?? "";
  const raw = JSON.parse(atob(encoded.replace(/-/g, "+").replace(/_/g, "/")));
  assert.deepEqual(raw, { t: "dm", s: "http://127.0.0.1:8080", a: ["didcomm/v2"] });
  assert.deepEqual(resolveDid(did).service, [{
    id: "#service",
    type: "DIDCommMessaging",
    serviceEndpoint: "http://127.0.0.1:8080",
    accept: ["didcomm/v2"],
  }]);
});

Deno.test("bad and unsupported DIDs fail with typed errors naming the problem", () => {
  const cases: [string, string, RegExp][] = [
    ["did:web:example.com", IDENTITY_ERROR_CODES.didUnsupported, /only did:key and did:peer/],
    ["did:key:6Mkabc", IDENTITY_ERROR_CODES.didInvalid, /starting with 'z'/],
    ["did:key:z0OIl", IDENTITY_ERROR_CODES.didInvalid, /not valid base58btc/],
    [
      "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
      IDENTITY_ERROR_CODES.didUnsupported,
      /only Ed25519/,
    ],
    [
      `did:key:${base58btc.encode(Uint8Array.of(0xed, 0x01, ...new Uint8Array(20)))}`,
      IDENTITY_ERROR_CODES.didInvalid,
      /must be 32 bytes, got 20/,
    ],
    ["did:peer:1zQmabc", IDENTITY_ERROR_CODES.didUnsupported, /numalgo 0 and 2/],
    [
      "did:peer:2.Ez6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
      IDENTITY_ERROR_CODES.didUnsupported,
      /key-agreement/,
    ],
    ["did:peer:2.Xz6Mkabc", IDENTITY_ERROR_CODES.didInvalid, /unknown purpose 'X'/],
    ["did:peer:2.S!!!", IDENTITY_ERROR_CODES.didInvalid, /not base64url JSON/],
    ["not-a-did", IDENTITY_ERROR_CODES.didInvalid, /starting with 'did:'/],
    [`did:key:z${"1".repeat(3000)}`, IDENTITY_ERROR_CODES.didInvalid, /at most 2048/],
  ];
  for (const [did, code, message] of cases) {
    assert.throws(() => resolveDid(did), (error: Error & { code?: string }) => {
      assert.equal(error.code, code, `${did}: ${error.message}`);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(
    () => publicKeyFromDidKey(`${VECTORS[0][0]}#frag`),
    errorCode(IDENTITY_ERROR_CODES.didInvalid),
  );
});

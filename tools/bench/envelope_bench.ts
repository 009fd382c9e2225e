/**
 * Envelope benchmark: sign, verify, encode and decode throughput per
 * envelope, next to the raw engines beneath them on the same bytes in the
 * same run — bare Ed25519 (the swarm's `node:crypto` primitive) over the
 * envelope's signing bytes, and
 * `@ipld/dag-cbor` encode/decode of the same envelope — so the envelope
 * layer's cost is a ratio that survives a noisy machine.
 *
 * - `sign`: `signEnvelope` (validate, encode once, sign) vs bare sign.
 * - `signWithClock`: `EnvelopeSigner.sign` (adds Lamport tick, time, nonce).
 * - `verify`: `verifyEnvelope(bytes)` with a policy and a replay cache
 *   (decode, canonical check, rules, signature, nonce) vs bare verify.
 * - `encode`/`decode`: the envelope codec vs `dagCbor.encode`/`decode`.
 *
 * Run: `deno task bench:envelope [--iterations N] [--rounds N]`. Prints JSON.
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import {
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  EnvelopeSigner,
  LamportClock,
  ReplayCache,
  type SignedEnvelope,
  signEnvelope,
  verifyEnvelope,
} from "../../protocols/envelope/mod.ts";
import { Identity } from "../../protocols/identity/identity.ts";
import { importEd25519PublicKey, verifyEd25519 } from "../../protocols/identity/ed25519.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import {
  bestOfRounds,
  concurrentOpsPerSecond,
  iterationsAndRounds,
  opsPerSecond,
  ratio,
} from "./_rate.ts";

const POLICY = "sha256:" + "ab".repeat(32);

/** A PROPOSE as the lifecycle sends it. */
function payload(index: number) {
  return {
    need_id: `need-${index}`,
    proposal_id: `proposal-${index}`,
    ballot: 1,
    cost: 12.5,
    eta: 30_000,
    patch: [{ op: "add", path: "/tasks/0", value: { capability: "summarise:v1" } }],
    shard_dependencies: [],
  };
}

/** Complete fields of the `index`-th benchmark envelope. */
function fieldsFor(identity: Identity, index: number) {
  const nonce = new Uint8Array(16);
  new DataView(nonce.buffer).setUint32(0, index);
  return {
    v: 1 as const,
    kind: "PROPOSE" as const,
    thread: "thread-bench",
    sender: identity.did,
    lamport: index + 1,
    ts: 1_700_000_000_000_000_000n + BigInt(index),
    nonce,
    payload: payload(index),
    policy: POLICY,
    epoch: 3,
  };
}

const pick = <T>(list: readonly T[], index: number) => list[index % list.length];

/** Bare Ed25519 verification (the swarm's primitive) of the envelopes' signing bytes. */
function bareVerifier(identity: Identity, envelopes: readonly SignedEnvelope[]) {
  const key = importEd25519PublicKey(identity.publicKey);
  return (index: number) => {
    const envelope = pick(envelopes, index);
    return Promise.resolve(verifyEd25519(key, envelope.sig, envelope.signingBytes));
  };
}

/** Full ingress verification (policy and replay cache) of the envelopes' bytes. */
function ingressVerifier(envelopes: readonly SignedEnvelope[], iterations: number) {
  let replay = new ReplayCache({ capacity: iterations * 4 });
  let nowNs = 0n;
  return async (index: number) => {
    // Each pass over the envelopes starts a fresh replay cache (they would be replays).
    if (index % envelopes.length === 0) replay = new ReplayCache({ capacity: iterations * 4 });
    const result = await verifyEnvelope(pick(envelopes, index).bytes, {
      policy: POLICY,
      replay,
      nowNs: nowNs++,
    });
    if (!result.ok) throw result.error;
  };
}

/** Measures one round of every workload. */
async function round(identity: Identity, iterations: number): Promise<Record<string, number>> {
  const envelopes = await Promise.all(
    Array.from({ length: 256 }, (_, index) => signEnvelope(fieldsFor(identity, index), identity)),
  );
  const plain = envelopes.map((envelope, index) => ({
    ...fieldsFor(identity, index),
    sig: envelope.sig,
  }));
  const bareVerify = bareVerifier(identity, envelopes);
  const verify = ingressVerifier(envelopes, iterations);
  const signer = new EnvelopeSigner(identity, await LamportClock.open(new MemoryStore()));
  let nowNs = 0n;
  const entropy = {
    now: () => nowNs++,
    randomBytes: (length: number) => new Uint8Array(length).fill(Number(nowNs & 0xffn)),
  };
  const draft = (i: number) => ({
    kind: "PROPOSE" as const,
    thread: "thread-bench",
    payload: payload(i),
    policy: POLICY,
  });
  const many = iterations * 4;
  return {
    bareSign: await opsPerSecond(iterations, (i) => identity.sign(pick(envelopes, i).signingBytes)),
    sign: await opsPerSecond(iterations, (i) => signEnvelope(fieldsFor(identity, i), identity)),
    signWithClock: await opsPerSecond(iterations, (i) => signer.sign(draft(i), entropy)),
    bareVerify: await opsPerSecond(iterations, bareVerify),
    verify: await opsPerSecond(iterations, verify),
    bareVerifyConcurrent64: await concurrentOpsPerSecond(iterations, 64, bareVerify),
    verifyConcurrent64: await concurrentOpsPerSecond(iterations, 64, verify),
    dagCborEncode: await opsPerSecond(many, (i) => dagCbor.encode(pick(plain, i))),
    encode: await opsPerSecond(many, (i) => encodeEnvelope(pick(plain, i) as Envelope)),
    dagCborDecode: await opsPerSecond(many, (i) => dagCbor.decode(pick(envelopes, i).bytes)),
    decode: await opsPerSecond(many, (i) => decodeEnvelope(pick(envelopes, i).bytes)),
  };
}

/** Runs the benchmark and returns its report. */
export async function runEnvelopeBench(iterations: number, rounds: number) {
  const identity = await Identity.fromSeed(new Uint8Array(32).fill(7));
  const sample = await signEnvelope({
    v: 1,
    kind: "PROPOSE",
    thread: "thread-bench",
    sender: identity.did,
    lamport: 1,
    ts: 1_700_000_000_000_000_000n,
    nonce: new Uint8Array(16),
    payload: payload(0),
    policy: POLICY,
    epoch: 3,
  }, identity);
  const best = await bestOfRounds(rounds, () => round(identity, iterations));
  return {
    benchmark: "envelope",
    envelopeBytes: sample.bytes.length,
    payloadBytes: sample.payloadSize,
    iterations,
    rounds,
    opsPerSecond: best,
    overhead: {
      signVersusBareSign: ratio(best.bareSign, best.sign),
      signWithClockVersusBareSign: ratio(best.bareSign, best.signWithClock),
      verifyVersusBareVerify: ratio(best.bareVerify, best.verify),
      verifyConcurrentVersusBare: ratio(best.bareVerifyConcurrent64, best.verifyConcurrent64),
      encodeVersusDagCbor: ratio(best.dagCborEncode, best.encode),
      decodeVersusDagCbor: ratio(best.dagCborDecode, best.decode),
    },
    microsecondsPerEnvelope: {
      sign: Math.round(1e6 / best.sign * 10) / 10,
      verify: Math.round(1e6 / best.verify * 10) / 10,
      bareSign: Math.round(1e6 / best.bareSign * 10) / 10,
      bareVerify: Math.round(1e6 / best.bareVerify * 10) / 10,
    },
  };
}

if (import.meta.main) {
  const { iterations, rounds } = iterationsAndRounds(5_000, 256);
  console.log(JSON.stringify(await runEnvelopeBench(iterations, rounds), null, 2));
}

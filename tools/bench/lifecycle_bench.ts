/**
 * Full-lifecycle throughput with signatures on: NEEDs taken to FINAL through
 * every verb (NEED, PROPOSE, ATTEST_PLAN, DECIDE, CLAIM, COMMIT, ATTEST,
 * FINALIZE), on one node hosting all roles and on a three-node in-process
 * swarm, with Deno KV deciding.
 *
 * The same run measures bare Ed25519 sign and verify on envelope-sized
 * messages, with the primitive the swarm uses (synchronous `node:crypto`,
 * the fastest here; WebCrypto is printed beside it), and from them the
 * signature-bound ceiling: the rate at
 * which the process could do nothing but the signatures a NEED needs
 * (envelopes signed per NEED × sign cost + envelopes verified per NEED ×
 * verify cost, summed over the nodes sharing this process). The tracked
 * figure is achieved ÷ ceiling. As `LocalSwarm` defaults, nodes sign and
 * verify on a crypto thread (`runtime/crypto_thread.ts`); the one-node and
 * three-node runs are repeated with signatures inline, for comparison.
 *
 * Run: `deno task bench:lifecycle [--needs N] [--rounds N]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { postRound } from "./_swarm_round.ts";
import { LocalSwarm } from "../../cli/local_swarm.ts";
import { swarmParams } from "../../protocols/params.ts";
import {
  importEd25519PublicKey,
  signEd25519Sync,
  verifyEd25519,
} from "../../protocols/identity/ed25519.ts";

interface Signatures {
  readonly signUs: number;
  readonly verifyUs: number;
}

/**
 * Bare Ed25519 sign and verify cost (µs, one at a time) with the primitive
 * the swarm signs with (`protocols/identity/ed25519.ts`, synchronous
 * `node:crypto`), and for reference through WebCrypto's promises.
 */
async function signatureCost(operations: number): Promise<Signatures & { webCrypto: Signatures }> {
  const keys = await crypto.subtle.generateKey("Ed25519", false, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const message = new Uint8Array(420).map((_, index) => index);
  const signature = signEd25519Sync(keys.privateKey, message);
  const publicKey = importEd25519PublicKey(
    new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey)),
  );
  // Synchronous calls are timed without an await between them, promises one at a time.
  const time = async (operation: () => unknown) => {
    const run = async () => {
      for (let index = 0; index < operations; index++) {
        const result = operation();
        if (result instanceof Promise) await result;
      }
    };
    await run(); // warm-up
    const started = performance.now();
    await run();
    return ((performance.now() - started) * 1000) / operations;
  };
  return {
    signUs: await time(() => signEd25519Sync(keys.privateKey, message)),
    verifyUs: await time(() => verifyEd25519(publicKey, signature, message)),
    webCrypto: {
      signUs: await time(() => crypto.subtle.sign("Ed25519", keys.privateKey, message)),
      verifyUs: await time(() =>
        crypto.subtle.verify("Ed25519", keys.publicKey, signature as BufferSource, message)
      ),
    },
  };
}

/** One swarm: posts all NEEDs at once, `rounds` times; reports the best round. */
async function swarmRun(
  nodes: number,
  needs: number,
  rounds: number,
  signatures: Signatures,
  policy: boolean,
  cryptoThread = true,
) {
  const swarm = await LocalSwarm.start({
    nodes,
    policy,
    cryptoThread,
    params: swarmParams({ challengeWindowMs: 0 }),
    consensus: "kv",
  });
  try {
    let best = { needsPerSecond: 0, final: 0 };
    const perRound: number[] = [];
    let before = await swarm.stats();
    let perNeed = { signed: 0, verified: 0 };
    for (let round = 0; round < rounds; round++) {
      const { final, wallMs } = await postRound(swarm, needs, round);
      const after = await swarm.stats();
      const emitted = after.reduce(
        (sum, each, index) => sum + each.emitted - before[index].emitted,
        0,
      );
      const accepted = after.reduce(
        (sum, each, index) => sum + each.accepted - before[index].accepted,
        0,
      );
      perNeed = { signed: emitted / needs, verified: (accepted - emitted) / needs };
      before = after;
      const needsPerSecond = final / (wallMs / 1000);
      perRound.push(Math.round(needsPerSecond));
      if (needsPerSecond > best.needsPerSecond) best = { needsPerSecond, final };
    }
    const costUs = perNeed.signed * signatures.signUs + perNeed.verified * signatures.verifyUs;
    const ceiling = 1e6 / costUs;
    return {
      nodes,
      policyGates: policy,
      cryptoThread,
      needs,
      finalInBestRound: best.final,
      needsPerSecond: Math.round(best.needsPerSecond),
      // Every round in order: a long run (--rounds 12) shows the rate a node keeps once its
      // bounded memories (settled ids, caches) are full.
      roundsNeedsPerSecond: perRound,
      envelopesSignedPerNeed: Number(perNeed.signed.toFixed(2)),
      envelopesVerifiedPerNeed: Number(perNeed.verified.toFixed(2)),
      signatureBoundCeilingNeedsPerSecond: Math.round(ceiling),
      shareOfCeiling: Number((best.needsPerSecond / ceiling).toFixed(3)),
    };
  } finally {
    await swarm.stop();
  }
}

/** Runs the lifecycle benchmark. */
export async function runLifecycleBench(
  needs: number,
  rounds: number,
): Promise<Record<string, unknown>> {
  const signatures = await signatureCost(5_000);
  return {
    benchmark: "lifecycle",
    signatures: {
      signUs: Number(signatures.signUs.toFixed(1)),
      verifyUs: Number(signatures.verifyUs.toFixed(1)),
      webCryptoSignUs: Number(signatures.webCrypto.signUs.toFixed(1)),
      webCryptoVerifyUs: Number(signatures.webCrypto.verifyUs.toFixed(1)),
    },
    oneNodeAllRoles: await swarmRun(1, needs, rounds, signatures, false),
    oneNodeAllRolesInlineCrypto: await swarmRun(1, needs, rounds, signatures, false, false),
    oneNodeAllRolesWithPolicy: await swarmRun(1, Math.ceil(needs / 3), rounds, signatures, true),
    threeNodesInProcess: await swarmRun(3, Math.ceil(needs / 3), rounds, signatures, false),
    threeNodesInProcessInlineCrypto: await swarmRun(
      3,
      Math.ceil(needs / 3),
      rounds,
      signatures,
      false,
      false,
    ),
    threeNodesInProcessWithPolicy: await swarmRun(
      3,
      Math.ceil(needs / 10),
      rounds,
      signatures,
      true,
    ),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      needs: { type: "string", default: "3000" },
      rounds: { type: "string", default: "3" },
    },
  });
  console.log(
    JSON.stringify(await runLifecycleBench(Number(values.needs), Number(values.rounds)), null, 2),
  );
}

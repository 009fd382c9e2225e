/**
 * Ed25519 engine choice: synchronous `node:crypto` calls (Deno's native
 * code), the same native code through WebCrypto's promises, and pure-JS
 * `@noble/curves`, signing and verifying the same 400-byte message with the
 * same key in one run. The fastest is the swarm's single implementation
 * (`protocols/identity/ed25519.ts`); the others are used here only.
 *
 * Run: `deno task bench:ed25519 [--iterations N] [--rounds N]`. Prints JSON.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { Identity } from "../../protocols/identity/identity.ts";
import { importEd25519PublicKey, verifyEd25519 } from "../../protocols/identity/ed25519.ts";
import { bestOfRounds, iterationsAndRounds, opsPerSecond, ratio } from "./_rate.ts";

/** Measures the three engines and names the fastest. */
export async function runEd25519Bench(iterations: number, rounds: number) {
  const seed = new Uint8Array(32).fill(42);
  const message = new Uint8Array(400).map((_, index) => index & 0xff);
  const identity = await Identity.fromSeed(seed);
  const webCryptoKeys = await crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array([
      ...[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22],
      ...[0x04, 0x20, ...seed],
    ]),
    "Ed25519",
    false,
    ["sign"],
  );
  const webCryptoPublic = await crypto.subtle.importKey(
    "raw",
    identity.publicKey as Uint8Array<ArrayBuffer>,
    "Ed25519",
    false,
    ["verify"],
  );
  const nodePublic = importEd25519PublicKey(identity.publicKey);
  const signature = await identity.sign(message);
  const webCryptoSignature = new Uint8Array(
    await crypto.subtle.sign("Ed25519", webCryptoKeys, message),
  );
  const nobleSignature = ed25519.sign(message, seed);
  for (const [name, other] of [["WebCrypto", webCryptoSignature], ["noble", nobleSignature]]) {
    if (signature.some((byte, index) => byte !== (other as Uint8Array)[index])) {
      throw new Error(`node:crypto and ${name} disagree on a deterministic signature`);
    }
  }
  const nobleIterations = Math.max(100, Math.round(iterations / 8));
  const best = await bestOfRounds(rounds, async () => ({
    nodeCryptoSign: await opsPerSecond(iterations, () => identity.sign(message)),
    nodeCryptoVerify: await opsPerSecond(
      iterations,
      () => verifyEd25519(nodePublic, signature, message),
    ),
    webCryptoSign: await opsPerSecond(
      iterations,
      () => crypto.subtle.sign("Ed25519", webCryptoKeys, message),
    ),
    webCryptoVerify: await opsPerSecond(
      iterations,
      () =>
        crypto.subtle.verify(
          "Ed25519",
          webCryptoPublic,
          signature as Uint8Array<ArrayBuffer>,
          message as Uint8Array<ArrayBuffer>,
        ),
    ),
    nobleSign: await opsPerSecond(nobleIterations, () => ed25519.sign(message, seed)),
    nobleVerify: await opsPerSecond(
      nobleIterations,
      () => ed25519.verify(signature, message, identity.publicKey),
    ),
  }));
  const engines = ["nodeCrypto", "webCrypto", "noble"] as const;
  /** Seconds for one signature and one verification. */
  const cost = (engine: (typeof engines)[number]) =>
    1 / best[`${engine}Sign`] + 1 / best[`${engine}Verify`];
  return {
    benchmark: "ed25519",
    messageBytes: message.length,
    iterations,
    rounds,
    opsPerSecond: best,
    nodeCryptoOverWebCrypto: {
      sign: ratio(best.nodeCryptoSign, best.webCryptoSign),
      verify: ratio(best.nodeCryptoVerify, best.webCryptoVerify),
    },
    nodeCryptoOverNoble: {
      sign: ratio(best.nodeCryptoSign, best.nobleSign),
      verify: ratio(best.nodeCryptoVerify, best.nobleVerify),
    },
    fastest: [...engines].sort((left, right) => cost(left) - cost(right))[0],
  };
}

if (import.meta.main) {
  const { iterations, rounds } = iterationsAndRounds(5_000, 100);
  console.log(JSON.stringify(await runEd25519Bench(iterations, rounds), null, 2));
}

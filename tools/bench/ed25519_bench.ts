/**
 * Ed25519 engine choice: WebCrypto (Deno's native implementation) against
 * pure-JS `@noble/curves`, signing and verifying the same 400-byte message
 * with the same key in one run. The faster one is the swarm's single
 * implementation (`protocols/identity/ed25519.ts`); noble is used here only.
 *
 * Run: `deno task bench:ed25519 [--iterations N] [--rounds N]`. Prints JSON.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { Identity } from "../../protocols/identity/identity.ts";
import { bestOfRounds, iterationsAndRounds, opsPerSecond, ratio } from "./_rate.ts";

/** Measures both engines and names the faster. */
export async function runEd25519Bench(iterations: number, rounds: number) {
  const seed = new Uint8Array(32).fill(42);
  const message = new Uint8Array(400).map((_, index) => index & 0xff);
  const identity = await Identity.fromSeed(seed);
  const publicKey = await crypto.subtle.importKey(
    "raw",
    identity.publicKey as Uint8Array<ArrayBuffer>,
    "Ed25519",
    false,
    ["verify"],
  );
  const signature = await identity.sign(message);
  const nobleSignature = ed25519.sign(message, seed);
  if (signature.some((byte, index) => byte !== nobleSignature[index])) {
    throw new Error("WebCrypto and noble disagree on a deterministic signature");
  }
  const nobleIterations = Math.max(100, Math.round(iterations / 8));
  const best = await bestOfRounds(rounds, async () => ({
    webCryptoSign: await opsPerSecond(iterations, () => identity.sign(message)),
    webCryptoVerify: await opsPerSecond(
      iterations,
      () =>
        crypto.subtle.verify(
          "Ed25519",
          publicKey,
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
  const webCryptoFaster = best.webCryptoSign > best.nobleSign &&
    best.webCryptoVerify > best.nobleVerify;
  return {
    benchmark: "ed25519",
    messageBytes: message.length,
    iterations,
    rounds,
    opsPerSecond: best,
    webCryptoOverNoble: {
      sign: ratio(best.webCryptoSign, best.nobleSign),
      verify: ratio(best.webCryptoVerify, best.nobleVerify),
    },
    chosen: webCryptoFaster ? "webcrypto" : "noble",
  };
}

if (import.meta.main) {
  const { iterations, rounds } = iterationsAndRounds(5_000, 100);
  console.log(JSON.stringify(await runEd25519Bench(iterations, rounds), null, 2));
}

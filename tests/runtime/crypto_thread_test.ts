// Proves the crypto thread signs as inline signing does, for several keys, in batches, verifies good and bad signatures like inline verification, and fails clearly once closed.
import assert from "node:assert/strict";
import { CryptoThread } from "../../runtime/crypto_thread.ts";
import { Identity, SignatureVerifier, type SigningOffload } from "../../protocols/identity/mod.ts";

const seed = (fill: number) => new Uint8Array(32).fill(fill);

Deno.test("signatures made on the thread are the inline signatures, and verify", async () => {
  const thread = new CryptoThread();
  try {
    const inline = await Identity.fromSeed(seed(1));
    const offloaded = await inline.offloaded(thread);
    assert.equal(offloaded.did, inline.did);
    const message = new TextEncoder().encode("same bytes either way");
    const signature = await offloaded.sign(message);
    assert.deepEqual(signature, await inline.sign(message));
    assert.ok(await new SignatureVerifier().verify(inline.did, signature, message));
  } finally {
    thread.close();
  }
});

Deno.test("concurrent signatures for two keys go in batches and each gets its own key's signature", async () => {
  const thread = new CryptoThread();
  try {
    const alice = await Identity.fromSeed(seed(2));
    const bob = await Identity.fromSeed(seed(3));
    const [aliceThread, bobThread] = await Promise.all([
      alice.offloaded(thread),
      bob.offloaded(thread),
    ]);
    const before = thread.batches;
    const messages = Array.from(
      { length: 500 },
      (_, index) => new TextEncoder().encode(`m${index}`),
    );
    const signed = await Promise.all(
      messages.map((message, index) => (index % 2 === 0 ? aliceThread : bobThread).sign(message)),
    );
    assert.ok(
      thread.batches - before < 50,
      `${thread.batches - before} batches for 500 signatures`,
    );
    for (const index of [0, 1, 250, 499]) {
      const expected = await (index % 2 === 0 ? alice : bob).sign(messages[index]);
      assert.deepEqual(signed[index], expected);
    }
  } finally {
    thread.close();
  }
});

Deno.test("a closed crypto thread refuses with E_CRYPTO_THREAD", async () => {
  const thread = new CryptoThread();
  const identity = await (await Identity.fromSeed(seed(4))).offloaded(thread);
  thread.close();
  await assert.rejects(
    identity.sign(new Uint8Array([1])),
    (error: Error & { code?: string }) => error.code === "E_CRYPTO_THREAD",
  );
});

Deno.test("an offload that signs with the wrong key is refused when the identity is made", async () => {
  const other = await Identity.fromSeed(seed(6));
  const wrong: SigningOffload = { signerFor: () => (message) => other.sign(message) };
  await assert.rejects(
    (await Identity.fromSeed(seed(5))).offloaded(wrong),
    (error: Error & { code?: string }) => error.code === "E_KEY_INVALID",
  );
});

Deno.test("verification on the thread agrees with inline verification on good and bad input", async () => {
  const thread = new CryptoThread();
  try {
    const alice = await Identity.fromSeed(seed(7));
    const bob = await Identity.fromSeed(seed(8));
    const inline = new SignatureVerifier();
    const offloaded = new SignatureVerifier(undefined, thread);
    const message = new TextEncoder().encode("checked elsewhere");
    const signature = await alice.sign(message);
    const tampered = signature.slice();
    tampered[10] ^= 1;
    const cases: [string, Uint8Array, Uint8Array][] = [
      [alice.did, signature, message],
      [bob.did, signature, message],
      [alice.did, tampered, message],
      [alice.did, signature, new TextEncoder().encode("other bytes")],
      [alice.did, signature.subarray(0, 63), message],
      [alice.did, new Uint8Array(64), message],
    ];
    const expected = await Promise.all(cases.map((each) => inline.verify(...each)));
    assert.deepEqual(expected, [true, false, false, false, false, false]);
    assert.deepEqual(await Promise.all(cases.map((each) => offloaded.verify(...each))), expected);
    await assert.rejects(
      offloaded.verify("did:key:zNotAKey", signature, message),
      (error: Error & { code?: string }) => error.code !== undefined,
    );
    // Many at once, mixed with signatures, go in a few batches.
    const before = thread.batches;
    const signer = await alice.offloaded(thread);
    const results = await Promise.all(
      Array.from(
        { length: 300 },
        (_, index) =>
          index % 3 === 0 ? signer.sign(message) : offloaded.verify(alice.did, signature, message),
      ),
    );
    assert.ok(results.every((result) => result === true || result instanceof Uint8Array));
    assert.ok(thread.batches - before < 30, `${thread.batches - before} batches`);
  } finally {
    thread.close();
  }
});

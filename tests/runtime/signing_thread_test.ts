// Proves the signing thread makes the same signatures as inline signing, for several keys, in batches, and fails clearly once closed.
import assert from "node:assert/strict";
import { SigningThread } from "../../runtime/signing_thread.ts";
import { Identity, SignatureVerifier, type SigningOffload } from "../../protocols/identity/mod.ts";

const seed = (fill: number) => new Uint8Array(32).fill(fill);

Deno.test("signatures made on the thread are the inline signatures, and verify", async () => {
  const thread = new SigningThread();
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
  const thread = new SigningThread();
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

Deno.test("a closed signing thread refuses with E_SIGNING_THREAD", async () => {
  const thread = new SigningThread();
  const identity = await (await Identity.fromSeed(seed(4))).offloaded(thread);
  thread.close();
  await assert.rejects(
    identity.sign(new Uint8Array([1])),
    (error: Error & { code?: string }) => error.code === "E_SIGNING_THREAD",
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

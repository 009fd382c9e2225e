// Proves the Ed25519 layer matches RFC 8032, derives keys from seeds deterministically, bounds its key cache, and encodes base64url exactly as RFC 4648 §5 says.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  base64UrlToBytes,
  bytesToBase64Url,
  Identity,
  IDENTITY_ERROR_CODES,
  SignatureVerifier,
} from "../../../protocols/identity/mod.ts";
import { VerifyKeyCache } from "../../../protocols/identity/ed25519.ts";

const fromHex = (hex: string) =>
  Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));

// RFC 8032 §7.1, TEST 1 (empty message).
const RFC_SEED = fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const RFC_PUBLIC = fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const RFC_SIGNATURE = fromHex(
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
);

Deno.test("a seed gives the RFC 8032 public key and signature", async () => {
  const identity = await Identity.fromSeed(RFC_SEED);
  assert.deepEqual(identity.publicKey, RFC_PUBLIC);
  assert.deepEqual(await identity.sign(new Uint8Array(0)), RFC_SIGNATURE);
  assert.ok(await new SignatureVerifier().verify(identity.did, RFC_SIGNATURE, new Uint8Array(0)));
});

Deno.test("base64url encodes any bytes (views into larger buffers too) as RFC 4648 §5 without padding, and decodes back (property)", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.nat(8), (bytes, cut) => {
    const view = bytes.subarray(Math.min(cut, bytes.length));
    const text = bytesToBase64Url(view);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.equal(
      text,
      btoa(String.fromCharCode(...view)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    );
    assert.deepEqual(base64UrlToBytes(text), view);
  }));
});

Deno.test("the RFC 8037 JWK of the same key round-trips through base64url", () => {
  assert.deepEqual(base64UrlToBytes("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"), RFC_PUBLIC);
  assert.equal(bytesToBase64Url(RFC_SEED), "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
});

Deno.test("verify() is false for a wrong signature, message or length, and never throws for those", async () => {
  const identity = await Identity.fromSeed(RFC_SEED);
  const verifier = new SignatureVerifier();
  const message = new TextEncoder().encode("hello");
  const signature = await identity.sign(message);
  assert.ok(await verifier.verify(identity.did, signature, message));
  assert.equal(
    await verifier.verify(identity.did, signature, new TextEncoder().encode("hellp")),
    false,
  );
  assert.equal(await verifier.verify(identity.did, signature.subarray(0, 63), message), false);
  const other = await Identity.fromSeed(new Uint8Array(32).fill(9));
  assert.equal(await verifier.verify(other.did, signature, message), false);
});

Deno.test("a seed of the wrong length is refused with E_KEY_INVALID", async () => {
  await assert.rejects(
    Identity.fromSeed(new Uint8Array(31)),
    (error: Error & { code?: string }) =>
      error.code === IDENTITY_ERROR_CODES.keyInvalid &&
      /32 bytes, got 31 bytes/.test(error.message),
  );
});

Deno.test("the verification key cache stays within its bound and counts evictions", async () => {
  const cache = new VerifyKeyCache(2);
  const keys = await Promise.all(
    [1, 2, 3].map((fill) => Identity.fromSeed(new Uint8Array(32).fill(fill))),
  );
  for (const identity of keys) await cache.get(identity.did, () => identity.publicKey);
  assert.equal(cache.size, 2);
  assert.equal(cache.evictions, 1);
  assert.throws(() => new VerifyKeyCache(0), /positive integer/);
});

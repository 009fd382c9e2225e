// Proves the node key is created once with mode 0600, reloads to the same PeerId, and bad key files fail with typed errors.
import assert from "node:assert/strict";
import {
  identityFromSeed,
  loadOrCreateIdentity,
  NODE_KEY_FILE,
  NodeIdentityError,
} from "../../../runtime/transport/node_identity.ts";
import { KeyFileError } from "../../../runtime/store/key_file.ts";

Deno.test("loadOrCreateIdentity() creates a 0600 key once and reloads the same PeerId", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadOrCreateIdentity(dir);
    const info = await Deno.stat(`${dir}/${NODE_KEY_FILE}`);
    assert.equal(info.mode! & 0o777, 0o600);
    const second = await loadOrCreateIdentity(dir);
    assert.equal(second.peerId.toString(), first.peerId.toString());
    assert.equal(first.publicKeyRaw.length, 32);
    assert.deepEqual(second.publicKeyRaw, first.publicKeyRaw);
    assert.equal(first.seed.length, 32);
    assert.match(first.peerId.toString(), /^12D3KooW/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() refuses a key file others can read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await loadOrCreateIdentity(dir);
    await Deno.chmod(`${dir}/${NODE_KEY_FILE}`, 0o644);
    await assert.rejects(
      () => loadOrCreateIdentity(dir),
      (error) => error instanceof KeyFileError && error.code === "E_KEY_FILE_PERMISSIONS",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() refuses a file that is not a key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/${NODE_KEY_FILE}`, new Uint8Array([1, 2, 3]), { mode: 0o600 });
    await assert.rejects(
      () => loadOrCreateIdentity(dir),
      (error) => error instanceof KeyFileError && error.code === "E_KEY_FILE_INVALID",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("identityFromSeed() is deterministic and checks the seed length", async () => {
  const seed = new Uint8Array(32).fill(7);
  const one = await identityFromSeed(seed);
  const two = await identityFromSeed(seed);
  assert.equal(one.peerId.toString(), two.peerId.toString());
  assert.deepEqual(one.seed, seed);
  await assert.rejects(() => identityFromSeed(new Uint8Array(31)), NodeIdentityError);
});

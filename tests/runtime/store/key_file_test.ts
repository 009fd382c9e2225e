// Proves seed files are created owner-only (0600), load back the same seed, and are refused when others can read them.
import assert from "node:assert/strict";
import {
  KEY_FILE_ERROR_CODES,
  loadOrCreateSeedFile,
  loadSeedFile,
} from "../../../runtime/store/key_file.ts";

const code = (expected: string) => (error: Error & { code?: string }) => error.code === expected;

Deno.test("a new seed file is mode 0600 and loads back the same seed and label", async () => {
  const root = await Deno.makeTempDir({ prefix: "keys-" });
  try {
    const path = `${root}/identity.key`;
    const created = await loadOrCreateSeedFile(path, { label: () => "did:key:zExample" });
    assert.equal(created.created, true);
    assert.equal(created.seed.length, 32);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const loaded = await loadOrCreateSeedFile(path);
    assert.equal(loaded.created, false);
    assert.deepEqual(loaded.seed, created.seed);
    assert.equal(loaded.label, "did:key:zExample");
    const leftovers = [...Deno.readDirSync(root)].map((entry) => entry.name);
    assert.deepEqual(leftovers, ["identity.key"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a seed file readable by others is refused, naming the mode and the fix", async () => {
  const root = await Deno.makeTempDir({ prefix: "keys-" });
  try {
    const path = `${root}/identity.key`;
    await loadOrCreateSeedFile(path);
    await Deno.chmod(path, 0o644);
    await assert.rejects(
      loadSeedFile(path),
      (error: Error & { code?: string }) =>
        error.code === KEY_FILE_ERROR_CODES.permissions && /mode 644/.test(error.message) &&
        /chmod 600/.test(error.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("malformed seed files are refused with E_KEY_FILE_INVALID", async () => {
  const root = await Deno.makeTempDir({ prefix: "keys-" });
  try {
    const path = `${root}/identity.key`;
    for (const text of ["not json", '{"v":1,"type":"ed25519-seed","seed":"AAAA"}', '{"v":2}']) {
      await Deno.writeTextFile(path, text, { mode: 0o600 });
      await Deno.chmod(path, 0o600);
      await assert.rejects(loadSeedFile(path), code(KEY_FILE_ERROR_CODES.invalid));
    }
    assert.equal(await loadSeedFile(`${root}/absent.key`), undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

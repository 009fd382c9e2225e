// Proves both content stores key blocks by CIDv1 (sha2-256), are idempotent, and refuse corrupt, oversized or foreign blocks.
import assert from "node:assert/strict";
import { CID } from "multiformats/cid";
import { identity as identityHash } from "multiformats/hashes/identity";
import {
  cidForBytes,
  CONTENT_STORE_ERROR_CODES,
  type ContentStore,
  DAG_CBOR_CODEC,
  RAW_CODEC,
} from "../../../runtime/store/content_store.ts";
import { FileContentStore } from "../../../runtime/store/file_content_store.ts";
import { MemoryContentStore } from "../../../runtime/store/memory_content_store.ts";

const code = (expected: string) => (error: Error & { code?: string }) => error.code === expected;

async function conformance(
  store: ContentStore,
  corrupt: (cid: CID, bytes: Uint8Array) => Promise<void>,
) {
  const bytes = new TextEncoder().encode("artifact body");
  const cid = await store.put(bytes);
  assert.equal(cid.toString(), cidForBytes(bytes, RAW_CODEC).toString());
  assert.equal(cid.version, 1);
  assert.equal(cid.code, RAW_CODEC);
  assert.equal(cid.multihash.code, 0x12);
  assert.deepEqual(await store.put(bytes), cid, "put is idempotent");
  assert.deepEqual(await store.get(cid), bytes);
  assert.equal(await store.has(cid), true);
  const asCbor = await store.put(bytes, DAG_CBOR_CODEC);
  assert.notEqual(asCbor.toString(), cid.toString());
  const absent = cidForBytes(new Uint8Array([1]));
  assert.equal(await store.get(absent), undefined);
  assert.equal(await store.has(absent), false);
  const v0 = CID.parse("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
  await assert.rejects(store.get(v0), code(CONTENT_STORE_ERROR_CODES.cid));
  const inline = CID.createV1(RAW_CODEC, identityHash.digest(new Uint8Array([1, 2])));
  await assert.rejects(store.get(inline), code(CONTENT_STORE_ERROR_CODES.cid));
  await corrupt(cid, new TextEncoder().encode("artifact bodY"));
  await assert.rejects(
    store.get(cid),
    (error: Error & { code?: string }) =>
      error.code === CONTENT_STORE_ERROR_CODES.corrupt && error.message.includes(cid.toString()),
  );
}

Deno.test("the memory content store passes the content store conformance checks", async () => {
  const store = new MemoryContentStore();
  await conformance(store, (cid, bytes) => Promise.resolve(store.corruptForTesting(cid, bytes)));
  await assert.rejects(
    new MemoryContentStore({ blockMaxBytes: 4 }).put(new Uint8Array(5)),
    code(CONTENT_STORE_ERROR_CODES.tooLarge),
  );
  const small = new MemoryContentStore({ totalMaxBytes: 10 });
  await small.put(new Uint8Array(8));
  await assert.rejects(
    small.put(new Uint8Array(8).fill(1)),
    code(CONTENT_STORE_ERROR_CODES.tooLarge),
  );
});

Deno.test("the file content store passes the conformance checks and writes atomically", async () => {
  const root = await Deno.makeTempDir({ prefix: "cas-" });
  try {
    const store = await FileContentStore.open(root);
    await conformance(store, (cid, bytes) => Deno.writeFile(store.pathOf(cid), bytes));
    for await (const entry of Deno.readDir(root)) {
      for await (const inner of Deno.readDir(`${root}/${entry.name}`)) {
        assert.ok(!inner.name.startsWith(".tmp-"), `temporary file left behind: ${inner.name}`);
      }
    }
    await assert.rejects(
      (await FileContentStore.open(root, { blockMaxBytes: 4 })).put(new Uint8Array(5)),
      code(CONTENT_STORE_ERROR_CODES.tooLarge),
    );
    await assert.rejects(
      FileContentStore.open(`${root}/absent`, { create: false }),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the file content store puts a block again after its directory was emptied under it", async () => {
  const root = await Deno.makeTempDir({ prefix: "cas-" });
  try {
    const store = await FileContentStore.open(root);
    const bytes = new TextEncoder().encode("a block");
    const cid = await store.put(bytes);
    // An operator empties the store while the node runs.
    for await (const entry of Deno.readDir(root)) {
      await Deno.remove(`${root}/${entry.name}`, { recursive: true });
    }
    assert.equal(await store.has(cid), false);
    assert.equal((await store.put(bytes)).toString(), cid.toString());
    assert.deepEqual(await store.get(cid), bytes);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

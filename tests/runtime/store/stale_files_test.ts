// Proves the retention walk finds only files last written before the time asked, a bounded step at a time, resuming and starting over, and that the content store prunes old blocks and crash debris but never a block being put.
import assert from "node:assert/strict";
import { StaleFiles } from "../../../runtime/store/stale_files.ts";
import { FileContentStore } from "../../../runtime/store/file_content_store.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Sets a file's modification time `ageMs` into the past. */
async function age(path: string, ageMs: number): Promise<void> {
  const when = new Date(Date.now() - ageMs);
  await Deno.utime(path, when, when);
}

async function withDirectory(run: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "stale-files-" });
  try {
    await run(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a walk returns the files last written before the time, one directory down at depth 1", async () => {
  await withDirectory(async (root) => {
    await Deno.mkdir(`${root}/ab`);
    await Deno.mkdir(`${root}/ab/deeper`);
    for (const name of ["old-top", "new-top", "ab/old-sub", "ab/new-sub", "ab/deeper/old-deep"]) {
      await Deno.writeTextFile(`${root}/${name}`, name);
    }
    for (const name of ["old-top", "ab/old-sub", "ab/deeper/old-deep"]) {
      await age(`${root}/${name}`, 2 * DAY_MS);
    }
    const cutoff = Date.now() - DAY_MS;
    const deep = await new StaleFiles(root, 1).step(cutoff, 1_000);
    assert.equal(deep.passDone, true);
    assert.deepEqual(deep.stale.map((file) => file.path).sort(), [
      `${root}/ab/old-sub`,
      `${root}/old-top`,
    ]);
    const flat = await new StaleFiles(root, 0).step(cutoff, 1_000);
    assert.deepEqual(flat.stale.map((file) => file.name), ["old-top"]);
  });
});

Deno.test("a walk looks at no more entries than its budget per step, resumes, and starts over after a pass", async () => {
  await withDirectory(async (root) => {
    for (let index = 0; index < 10; index++) {
      await Deno.writeTextFile(`${root}/f${index}`, "x");
      await age(`${root}/f${index}`, 2 * DAY_MS);
    }
    const walk = new StaleFiles(root, 0);
    const cutoff = Date.now() - DAY_MS;
    const seen: string[] = [];
    const steps = [];
    for (let step = 0; step < 4; step++) {
      const result = await walk.step(cutoff, 4);
      assert.ok(result.examined <= 4);
      steps.push(result.passDone);
      seen.push(...result.stale.map((file) => file.name));
      if (result.passDone) break;
    }
    assert.deepEqual(steps, [false, false, true], "4 + 4 + 2 entries, then the end");
    assert.deepEqual(seen.sort(), Array.from({ length: 10 }, (_, index) => `f${index}`).sort());
    const again = await walk.step(cutoff, 100);
    assert.equal(again.stale.length, 10, "the next pass starts over");
  });
});

Deno.test("a file removed while a walk is under way is passed over", async () => {
  await withDirectory(async (root) => {
    for (const name of ["a", "b", "c"]) {
      await Deno.writeTextFile(`${root}/${name}`, name);
      await age(`${root}/${name}`, 2 * DAY_MS);
    }
    const walk = new StaleFiles(root, 0);
    const first = await walk.step(Date.now() - DAY_MS, 1);
    for (const name of ["a", "b", "c"]) {
      if (name !== first.stale[0].name) await Deno.remove(`${root}/${name}`);
    }
    const rest = await walk.step(Date.now() - DAY_MS, 10);
    assert.deepEqual(rest.stale, []);
    assert.equal(rest.passDone, true);
  });
});

Deno.test("the content store prunes blocks and temporary files nobody wrote since the cutoff", async () => {
  await withDirectory(async (root) => {
    const cas = await FileContentStore.open(root);
    const old = await cas.put(new TextEncoder().encode("old block"));
    const fresh = await cas.put(new TextEncoder().encode("fresh block"));
    const again = await cas.put(new TextEncoder().encode("old, but put again"));
    await age(cas.pathOf(old), 2 * DAY_MS);
    await age(cas.pathOf(again), 2 * DAY_MS);
    const debris = `${cas.pathOf(old).slice(0, cas.pathOf(old).lastIndexOf("/"))}/.tmp-crashed`;
    await Deno.writeTextFile(debris, "half a block");
    await age(debris, 2 * DAY_MS);
    // Putting a block that is there counts as writing it.
    assert.equal(
      (await cas.put(new TextEncoder().encode("old, but put again"))).toString(),
      again.toString(),
    );
    const result = await cas.prune(Date.now() - DAY_MS, 1_000);
    assert.equal(result.removed, 2, "the old block and the debris");
    assert.equal(result.passDone, true);
    assert.equal(await cas.get(old), undefined);
    assert.ok(await cas.has(fresh));
    assert.ok(await cas.has(again));
    await assert.rejects(Deno.stat(debris), Deno.errors.NotFound);
  });
});

Deno.test("a put that meets the pruning of its block still leaves the block in the store", async () => {
  await withDirectory(async (root) => {
    const cas = await FileContentStore.open(root);
    const bytes = new TextEncoder().encode("contended block");
    const cid = await cas.put(bytes);
    for (let round = 0; round < 50; round++) {
      await age(cas.pathOf(cid), 2 * DAY_MS);
      // The walk starts over each round, so every round it meets the block.
      const [pruned] = await Promise.all([
        cas.prune(Date.now() - DAY_MS, 1_000),
        cas.put(bytes),
      ]);
      assert.ok(pruned.removed <= 1);
      assert.ok(await cas.has(cid), `round ${round}: the block is there after its put`);
      assert.deepEqual(await cas.get(cid), bytes);
    }
  });
});

// Proves `plan export | import | verify` round-trip a thread through JSONL, report differences with exit 1, and reject bad files by line.

import assert from "node:assert/strict";
import { main } from "../../main.ts";
import { BlobLogs } from "../../runtime/store/blob_log.ts";
import { DenoKvStore } from "../../runtime/store/deno_kv_store.ts";
import { PlanStore } from "../../protocols/plan/plan_store.ts";

/** Runs the CLI in-process, capturing what it prints. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...parts: unknown[]) => void out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => void err.push(parts.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Writes a small plan into the store of `dir`, the way a node's plan actor would. */
async function seedStore(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const kv = await DenoKvStore.open(`${dir}/store.kv`);
  const store = await PlanStore.open({ actorId: "abcd", persistence: new BlobLogs(kv, "plan") });
  const head = { thread: "need-1", actor: "did:key:z6MkA" };
  await store.appendOps([
    { ...head, kind: "ADD_TASK", lamport: 1, task: "fetch", title: "Fetch sources" },
    { ...head, kind: "ADD_TASK", lamport: 1, index: 1, task: "write", title: "Write summary" },
    { ...head, kind: "LINK", lamport: 1, index: 2, from: "fetch", to: "write" },
    { ...head, kind: "REQUIRES", lamport: 1, index: 3, task: "write", key: "sources.json" },
    { ...head, kind: "STATE", lamport: 2, task: "fetch", state: "DECIDED" },
    { ...head, kind: "STATE", lamport: 3, task: "fetch", state: "CLAIMED" },
    { ...head, kind: "STATE", lamport: 4, task: "fetch", state: "DRAFT", transition: "YIELD" },
    { ...head, kind: "ANNOTATE", lamport: 5, task: "write", key: "words", value: 300 },
    { ...head, kind: "ADD_TASK", thread: "need-2", lamport: 6, task: "other" },
  ]);
  await kv.close();
}

Deno.test("export then import into a fresh store, and verify finds no difference", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await seedStore(`${dir}/a`);
    const exported = await run([
      "plan",
      "export",
      "--data-dir",
      `${dir}/a`,
      "--thread",
      "need-1",
      "--out",
      `${dir}/need-1.jsonl`,
    ]);
    assert.equal(exported.code, 0, exported.err);
    const lines = (await Deno.readTextFile(`${dir}/need-1.jsonl`)).trim().split("\n");
    assert.equal(lines.length, 8);
    assert.deepEqual(lines.map((line) => JSON.parse(line).lamport), [1, 1, 1, 1, 2, 3, 4, 5]);
    const imported = await run([
      "plan",
      "import",
      "--data-dir",
      `${dir}/b`,
      "--in",
      `${dir}/need-1.jsonl`,
    ]);
    assert.equal(imported.code, 0, imported.err);
    assert.match(imported.out, /imported 8 ops/);
    const verified = await run([
      "plan",
      "verify",
      "--left",
      `${dir}/a`,
      "--right",
      `${dir}/b`,
      "--thread",
      "need-1",
    ]);
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /plans agree/);
    const again = await run([
      "plan",
      "import",
      "--data-dir",
      `${dir}/b`,
      "--in",
      `${dir}/need-1.jsonl`,
    ]);
    assert.equal(again.code, 1);
    assert.match(again.err, /already holds thread need-1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify reports each difference and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await seedStore(`${dir}/a`);
    const file = `${dir}/edited.jsonl`;
    await run(["plan", "export", "--data-dir", `${dir}/a`, "--thread", "need-1", "--out", file]);
    const edited = (await Deno.readTextFile(file)).split("\n")
      .filter((line) => !line.includes('"LINK"'))
      .map((line) => line.replace('"value":300', '"value":301'))
      .join("\n");
    await Deno.writeTextFile(file, edited);
    await run(["plan", "import", "--data-dir", `${dir}/b`, "--in", file]);
    const verified = await run(["plan", "verify", "--left", `${dir}/a`, "--right", `${dir}/b`]);
    assert.equal(verified.code, 1);
    assert.match(verified.out, /task-count +need-2: left=1 right=0/);
    assert.match(verified.out, /task-missing +other/);
    assert.match(verified.out, /annotation +write\.words: left=300 right=301/);
    assert.match(verified.out, /edge +fetch -> write: left=true right=\(absent\)/);
    assert.match(verified.out, /4 differences/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import names the line of a bad op and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = JSON.stringify({
      kind: "ADD_TASK",
      thread: "t",
      actor: "a",
      lamport: 1,
      task: "x",
    });
    const cases: [string, RegExp][] = [
      [`${good}\n{not json\n`, /Line 2: not valid JSON/],
      [
        `${good}\n\n{"kind":"ADD_TASK","thread":"t","actor":"a","lamport":0,"task":"y"}\n`,
        /Line 3: .*lamport/,
      ],
      [
        `${good}\n${good.replace('"x"', '"z"')}\n`,
        /Line 2: op 1\/0\/a differs from the op with the same id on line 1/,
      ],
    ];
    for (const [text, message] of cases) {
      await Deno.writeTextFile(`${dir}/bad.jsonl`, text);
      const result = await run([
        "plan",
        "import",
        "--data-dir",
        `${dir}/store`,
        "--in",
        `${dir}/bad.jsonl`,
      ]);
      assert.equal(result.code, 1);
      assert.match(result.err, message);
      assert.match(result.err, /PlanImportError/);
      await assert.rejects(Deno.stat(`${dir}/store`), Deno.errors.NotFound);
    }
    const missing = await run(["plan", "export", "--data-dir", `${dir}/nowhere`, "--thread", "t"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /No plan store/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plan commands reject missing and unknown flags with exit 2", async () => {
  assert.equal((await run(["plan", "export", "--thread", "t"])).code, 2);
  assert.equal((await run(["plan", "verify", "--left", "a"])).code, 2);
  assert.equal((await run(["plan", "import", "--bogus"])).code, 2);
  const help = await run(["plan", "verify", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--right DIR/);
});

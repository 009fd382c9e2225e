// Proves the determinism lint rule fires on host time, randomness, timers and I/O in domain folders, and only there.
import assert from "node:assert/strict";
import plugin from "../../tools/lint/determinism.ts";

const RULE = "can-swarm/determinism";

function diagnostics(path: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, path, source).filter((d) => d.id === RULE).map((d) =>
    d.message
  );
}

const BANNED: Record<string, string> = {
  "Date.now()": "Date.now",
  "performance.now()": "performance.now",
  "Math.random()": "Math.random",
  "crypto.getRandomValues(new Uint8Array(4))": "crypto.getRandomValues",
  "crypto.randomUUID()": "crypto.randomUUID",
  "crypto.subtle.generateKey('Ed25519', true, ['sign'])": "crypto.subtle.generateKey",
  "setTimeout(() => {}, 1)": "setTimeout()",
  "setInterval(() => {}, 1)": "setInterval()",
  "fetch('http://x')": "fetch()",
  "Deno.readTextFileSync('x')": "Deno.readTextFileSync",
  "Deno.openKv()": "Deno.openKv",
  "new Date()": "new Date() without arguments",
};

for (const folder of ["actors", "protocols", "policies"]) {
  Deno.test(`the rule rejects every banned call in ${folder}/`, () => {
    for (const [code, name] of Object.entries(BANNED)) {
      const found = diagnostics(`/repo/${folder}/x.ts`, `export const value = ${code};`);
      assert.equal(
        found.length,
        1,
        `${code} in ${folder}/ gives one diagnostic, got ${found.length}`,
      );
      assert.match(found[0], new RegExp(name.replace(/[.()]/g, "\\$&")));
    }
  });
}

Deno.test("the rule rejects importing host I/O modules in domain code", () => {
  assert.equal(
    diagnostics(
      "/repo/actors/x.ts",
      `import { readFileSync } from "node:fs"; export { readFileSync };`,
    ).length,
    1,
  );
  assert.equal(
    diagnostics(
      "/repo/actors/x.ts",
      `import { setTimeout } from "node:timers"; export { setTimeout };`,
    ).length,
    1,
  );
});

Deno.test("the rule allows the actor context and pure code, and ignores runtime/, sim/ and tools/", () => {
  const allowed = `export function f(ctx: { now(): bigint; random(): number }) {
    return [ctx.now(), ctx.random(), new Date(0), Math.max(1, 2), crypto.subtle.digest("SHA-256", new Uint8Array())];
  }`;
  assert.deepEqual(diagnostics("/repo/protocols/x.ts", allowed), []);
  for (const folder of ["runtime", "sim", "tools", "cli", "tests/actors", "tests/protocols"]) {
    assert.deepEqual(
      diagnostics(`/repo/${folder}/x.ts`, "export const t = Date.now() + Math.random();"),
      [],
    );
  }
});

Deno.test("deno lint with the project's config fails on a violation in actors/", async () => {
  const directory = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${directory}/actors`);
    await Deno.writeTextFile(`${directory}/actors/bad.ts`, "export const now = Date.now();\n");
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["lint", "--config", config, `${directory}/actors/bad.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.equal(output.success, false);
    assert.match(text, /can-swarm\/determinism/);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

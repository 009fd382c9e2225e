// Proves `run swarm --processes 3` starts three `run node` processes on libp2p with a private etcd, takes every NEED to FINAL, prints the summary and stops everything; bad flag mixes exit 2.
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { FileFrameLogDirectory } from "../../runtime/store/file_frame_log.ts";

Deno.test("run swarm --processes 3 takes every NEED to FINAL across processes and ends with its summary", async () => {
  const directory = await Deno.makeTempDir({ prefix: "can-swarm-cli-procs-" });
  try {
    const args = ["run", "swarm", "--processes", "3", "--needs", "12", "--data-dir", directory];
    const result = await runCli(["-A"], [...args, "--challenge-window-ms", "100"]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /swarm: 3 node processes on libp2p, 12 needs/);
    assert.match(result.stdout, /private etcd at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(result.stdout, /decides \/ conflicts\s+12 \/ 0/);
    assert.match(result.stdout, /attests \/ digest divergences\s+[1-9]\d* \/ 0/);
    assert.match(result.stdout, /finalised: 12\/12\n?$/);
    for (const node of ["node-0", "node-1", "node-2"]) {
      const audit = await (await FileFrameLogDirectory.open(`${directory}/${node}/audit`)).names();
      assert.ok(audit.length > 0, `${node} kept audit logs in its data directory`);
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("run swarm --processes refuses flags that belong to in-process swarms with exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--consensus", "kv"], /--processes decides through etcd/],
    [["--nodes", "3"], /leave out --nodes/],
    [["--participants", "x.json"], /--participants is for in-process swarms/],
  ];
  for (const [extra, message] of cases) {
    const result = await runCli(["-A"], ["run", "swarm", "--processes", "2", ...extra]);
    assert.equal(result.code, 2, `${extra.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  const bad = await runCli(["-A"], ["run", "swarm", "--processes", "100"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--processes must be an integer between 0 and 64/);
});

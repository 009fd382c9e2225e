// Proves `run chatter --processes 3` starts three libp2p node processes, runs the chatter workload across them and stops them all.
import assert from "node:assert/strict";

Deno.test("run chatter --processes 3 finishes the workload across processes and exits cleanly", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "run", "chatter", "--processes", "3", "--messages", "60", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  assert.equal(output.code, 0, `${stdout}\n${new TextDecoder().decode(output.stderr)}`);
  const summary = JSON.parse(stdout.split("\n").at(-1)!);
  assert.equal(summary.processes, 3);
  assert.equal(summary.connected, true);
  assert.equal(summary.timedOut, false);
  assert.equal(summary.sent, 3 * 2 * 60, "every chatter spent its budget");
  assert.ok(summary.acknowledged >= summary.sent, "every chat was acknowledged");
  assert.ok(summary.directFramesDelivered > summary.sent, "chats crossed processes");
  assert.equal(
    summary.newsHeard,
    summary.newsPublished * 2 * 2,
    "every node heard all news of the others",
  );
  assert.ok(summary.topicFramesDelivered > 0);
  assert.equal(summary.cleanExits, 3);
});

Deno.test("run chatter refuses a bad --processes value with exit code 2", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "run", "chatter", "--processes", "many"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /--processes must be an integer/);
});

// Proves the CLI: help everywhere, exit code 2 with a clear message on bad input, reproducible sim output, and working run commands.
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { FileFrameLogDirectory } from "../../runtime/store/file_frame_log.ts";

const cli = (...args: string[]) =>
  runCli(["--allow-read", "--allow-write", "--allow-env", "--allow-net"], args);

Deno.test("help is printed for the CLI and for every command, with exit code 0", async () => {
  const overview = await cli("--help");
  assert.equal(overview.code, 0);
  for (const command of ["run node", "run swarm", "run chatter", "sim", "chaos", "bench"]) {
    assert.match(overview.stdout, new RegExp(`  ${command}`));
    const help = await cli(...command.split(" "), "--help");
    assert.equal(help.code, 0, `${command} --help`);
    assert.match(help.stdout, new RegExp(`Usage: can-swarm ${command} \\[options\\]`));
  }
  assert.match((await cli("help", "sim")).stdout, /--seed N/);
});

Deno.test("bad flags, bad values and unknown commands exit with 2 and say what is wrong", async () => {
  const cases: [string[], RegExp][] = [
    [["sim", "--bogus"], /Unknown option '--bogus'/],
    [["sim", "--seed", "abc"], /--seed must be an integer/],
    [["sim", "--scenario", "nope"], /--scenario must be one of steady, partition-cp/],
    [["sim", "--duration", "soon"], /--duration must be a duration like 1500ms, 90s or 2m/],
    [["sim", "--knobs", "wild"], /--knobs must be one of preset, random/],
    [["sim", "--nemeses", "x"], /--nemeses must be comma-separated schedule indices/],
    [["sim", "--mutation", "nope"], /--mutation must be one of quorum-one-short/],
    [["chaos", "--presets", "nope"], /--presets names unknown preset 'nope'/],
    [["run", "swarm", "--nodes", "0"], /--nodes must be an integer between 1/],
    [["run", "node", "--node-id", "a b"], /--node-id must be/],
    [
      ["run", "swarm", "--consensus", "ap"],
      /--consensus ap keeps a decide-log replica per process/,
    ],
    [["run", "node", "--consensus", "paxos"], /--consensus must be one of kv, etcd, ap/],
    [["sim", "extra"], /Unexpected argument 'extra'/],
    [["frobnicate"], /Unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const result = await cli(...args);
    assert.equal(result.code, 2, `${args.join(" ")} exits 2`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /--help|can-swarm help/);
  }
});

/** A short swarm run: 3 s of load. */
const SHORT = ["--load", "3s", "--rate", "3"];

Deno.test("sim prints the seed, the scenario and a trace hash that is the same on every run of that seed", async () => {
  const first = await cli("sim", "--seed", "42", ...SHORT);
  const again = await cli("sim", "--seed", "42", ...SHORT);
  const other = await cli("sim", "--seed", "43", ...SHORT);
  const hash = (stdout: string) => stdout.match(/^seed (-?\d+)\s+trace ([0-9a-f]{64})$/m)?.slice(1);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(hash(first.stdout), ["42", hash(again.stdout)?.[1]]);
  assert.notEqual(hash(other.stdout)?.[1], hash(first.stdout)?.[1]);
  assert.match(first.stdout, /scenario steady \(knobs preset\): 7 nodes, CP/);
  assert.match(first.stdout, /checks: P1 ok · P2 ok/);
  const json = JSON.parse((await cli("sim", "--seed", "42", ...SHORT, "--json")).stdout);
  assert.equal(json.traceHash, hash(first.stdout)?.[1]);
  assert.equal(json.ok, true);
  assert.equal(json.replay, "deno task sim --scenario steady --seed 42 --rate 3 --load 3000ms");
});

Deno.test("sim exits 1 on a violated property and prints its window and replay command", async () => {
  const result = await cli("sim", "--seed", "5", ...SHORT, "--mutation", "quorum-one-short");
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stdout, /FAIL P6 quorum validity: \d+ violation\(s\)/);
  assert.match(result.stdout, /smallest window \(NEED node-/);
  assert.match(result.stdout, /accepted DECIDE from node-\d+ .*approvers=\[node-\d+\]/);
  assert.match(
    result.stdout,
    /replay: deno task sim --scenario steady --seed 5 --rate 3 --load 3000ms --mutation quorum-one-short/,
  );
});

Deno.test("sim writes a self-contained HTML report", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const path = `${directory}/report.html`;
    const scenario = ["--scenario", "crashes", "--load", "4s"];
    const result = await cli("sim", "--seed", "2", ...scenario, "--report", path);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const html = await Deno.readTextFile(path);
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<svg width="\d+" height="\d+" role="img" aria-label="timeline">/);
    for (const node of ["node-0", "node-6"]) {
      assert.match(html, new RegExp(`class="lane">${node}<`));
    }
    assert.match(html, /class="fault/, "nemesis intervals are shaded");
    assert.match(html, /NEED → FINAL latency/);
    assert.match(html, /<td>P5<\/td><td>lease lifetimes<\/td><td>pass<\/td>/);
    assert.doesNotMatch(html, /<script|<link|https?:\/\//, "nothing is loaded from elsewhere");
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("chaos runs the nemesis presets over seeds and says every property held", async () => {
  const result = await cli("chaos", "--seeds", "1", "--presets", "crashes,flaky", ...SHORT);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^crashes\s+seed 1\s+ok\s+trace [0-9a-f]{16}/m);
  assert.match(result.stdout, /all 2 runs \(2 presets × 1 seeds\) held every property/);
});

Deno.test("the chatter workload is still a sim scenario", async () => {
  const result = await cli("sim", "--scenario", "chatter", "--seed", "4", "--duration", "10s");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^seed 4\s+trace [0-9a-f]{64}$/m);
  assert.match(result.stdout, /chatter: \d+\/16 chatters finished/);
});

Deno.test("run chatter finishes its workload on the real clock", async () => {
  const result = await cli(
    "run",
    "chatter",
    "--nodes",
    "2",
    "--actors-per-node",
    "2",
    "--messages",
    "20",
    "--json",
  );
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.equal(summary.reported, 4);
  assert.equal(summary.sent, 80);
  assert.equal(summary.timedOut, false);
});

Deno.test("run swarm takes every NEED to FINAL and says so on its last line", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const args = ["run", "swarm", "--nodes", "2", "--needs", "20", "--challenge-window-ms", "50"];
    const result = await cli(...args, "--data-dir", directory);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /finalised: 20\/20\n?$/);
    assert.match(result.stdout, /decides \/ conflicts\s+20 \/ 0/);
    const json = JSON.parse((await cli(...args, "--data-dir", directory, "--json")).stdout);
    assert.equal(json.finalised, 20);
    assert.equal(json.decides, 20);
    const audit = await (await FileFrameLogDirectory.open(`${directory}/node-0/audit`)).names();
    assert.ok(audit.length > 0, "nodes keep audit logs in their data directory");
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("run node keeps its boot count in its data directory across restarts", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const args = [
      "run",
      "node",
      "--data-dir",
      directory,
      "--duration-ms",
      "300",
      "--heartbeat-ms",
      "100",
    ];
    const first = await cli(...args);
    const second = await cli(...args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /boot #1/);
    assert.match(second.stdout, /boot #2/);
    assert.match(second.stdout, /node node-0 stopped/);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("run swarm --participants applies organisations and genesis from a file, and refuses a bad one with exit 2", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const file = `${directory}/participants.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify([
        { node: 0, org: "acme", region: "eu" },
        { node: 1, org: "acme" },
        { node: 2, genesisBalance: 1_000, genesisStake: 100 },
      ]),
    );
    const args = ["run", "swarm", "--nodes", "3", "--needs", "6", "--challenge-window-ms", "50"];
    const result = await cli(...args, "--data-dir", `${directory}/swarm`, "--participants", file);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /ledger\s+supply 20001000 · burned 0 · escrows held 0 · 3\/3 nodes agree/,
    );
    const bad: [string, RegExp][] = [
      [JSON.stringify([{ node: 7, org: "x" }]), /names node 7, the swarm has 3/],
      [JSON.stringify([{ node: 0, org: "" }]), /field org/],
      [JSON.stringify({ node: 0 }), /must hold a JSON list/],
      ["not json", /is not JSON/],
    ];
    for (const [content, message] of bad) {
      await Deno.writeTextFile(file, content);
      const refused = await cli(
        ...args,
        "--data-dir",
        `${directory}/swarm`,
        "--participants",
        file,
      );
      assert.equal(refused.code, 2, content);
      assert.match(refused.stderr, message);
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

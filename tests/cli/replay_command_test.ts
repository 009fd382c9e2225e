// Proves `can-swarm replay` and `can-swarm identity` from the outside: exit codes, precise violations, JSON, key files.
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { auditLogName } from "../../protocols/audit/mod.ts";
import { FileFrameLogDirectory } from "../../runtime/store/file_frame_log.ts";
import { scanFrames } from "../../runtime/store/frame_log.ts";
import { writeAuditThread } from "../../tools/bench/_audit_thread.ts";

const cli = (permissions: string[], ...args: string[]) => runCli(permissions, args);

const replay = (...args: string[]) => cli(["--allow-read"], "replay", ...args);

async function withLogs(test: (root: string, path: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "replay-cli-" });
  try {
    const directory = await FileFrameLogDirectory.open(`${root}/audit`);
    const { log } = await writeAuditThread({ directory, thread: "need-7", events: 40, seed: 3 });
    await log.close();
    await test(root, directory.pathOf(auditLogName("need-7")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("replay of an intact log exits 0 and prints its summary", async () => {
  await withLogs(async (_root, path) => {
    const result = await replay(path);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, new RegExp(`${path}: ok`));
    assert.match(result.stdout, /thread need-7 · node did:key:z6Mk/);
    assert.match(
      result.stdout,
      /40 records checked \(14 published, 26 delivered\) · 40 envelopes from 4 senders/,
    );
    assert.match(result.stdout, /kinds: .*DECIDE 5/);
    assert.match(result.stdout, /80 signatures verified/);
  });
});

Deno.test("replay of a tampered log exits 1 with the first violation", async () => {
  await withLogs(async (_root, path) => {
    const bytes = await Deno.readFile(path);
    const scan = scanFrames(bytes);
    bytes[scan.offsets[9] + 100] ^= 0x01;
    await Deno.writeFile(path, bytes);
    const result = await replay(path);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /VIOLATION E_AUDIT_CORRUPT/);
    assert.match(result.stdout, /Corrupt frame 9 at byte \d+: checksum mismatch/);
    assert.match(result.stdout, /9 records checked/);
  });
});

Deno.test("replay of a log with a torn tail exits 1 and says so", async () => {
  await withLogs(async (_root, path) => {
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 3));
    const result = await replay("--json", path);
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.violation.code, "E_AUDIT_TORN");
    assert.equal(report.violation.record, 39);
    assert.match(report.violation.message, /torn record/);
  });
});

Deno.test("replay takes a directory, checks options, and refuses bad command lines with 2", async () => {
  await withLogs(async (root, path) => {
    const all = await replay("--policy", "sha256:" + "ab".repeat(32), `${root}/audit`);
    assert.equal(all.code, 0, all.stdout + all.stderr);
    assert.match(all.stdout, new RegExp(`${path}: ok`), "the logs in the fan-out directories");
    // The log's name in the audit directory finds it wherever the fan-out put it.
    const byName = await replay(`${root}/audit/${auditLogName("need-7")}.log`);
    assert.equal(byName.code, 0, byName.stdout + byName.stderr);
    assert.match(byName.stdout, new RegExp(`${path}: ok`));
    const wrongPolicy = await replay("--policy", "sha256:nope", path);
    assert.equal(wrongPolicy.code, 1);
    assert.match(wrongPolicy.stdout, /E_AUDIT_ENVELOPE[\s\S]*E_POLICY_MISMATCH/);
    const narrowKinds = await replay("--kinds", "NEED,PROPOSE", path);
    assert.equal(narrowKinds.code, 1);
    assert.match(narrowKinds.stdout, /kind ATTEST_PLAN is not allowed here/);
    for (
      const [args, message] of [
        [[], /takes 1 to 1000 LOG argument/],
        [[`${root}/absent.log`], /No such audit log or directory/],
        [["--kinds", "STEAL", path], /--kinds must list protocol verbs/],
        [["--lamport", "loose", path], /--lamport must be one of strict, own/],
        [["--cas", `${root}/absent`, path], /--cas must name a content store directory/],
      ] as [string[], RegExp][]
    ) {
      const result = await replay(...args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});

Deno.test("identity creates a 0600 key once, prints the same DID after, and refuses an exposed key", async () => {
  const root = await Deno.makeTempDir({ prefix: "identity-cli-" });
  try {
    const permissions = ["--allow-read", "--allow-write"];
    const first = await cli(permissions, "identity", "--data-dir", root, "--json");
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assert.equal(report.created, true);
    assert.match(report.did, /^did:key:z6Mk/);
    assert.equal(report.document.id, report.did);
    assert.equal((await Deno.stat(`${root}/identity.key`)).mode! & 0o777, 0o600);
    const second = await cli(permissions, "identity", "--data-dir", root);
    assert.equal(second.code, 0);
    assert.match(second.stdout, new RegExp(`^${report.did}\\n`));
    await Deno.chmod(`${root}/identity.key`, 0o640);
    const exposed = await cli(permissions, "identity", "--data-dir", root);
    assert.equal(exposed.code, 1);
    assert.match(exposed.stderr, /readable by others: refusing to use it/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

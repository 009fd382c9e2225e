// Proves `run node` refuses bad network flags with a clear message and exit code 2, before starting anything.
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import { swarmSettings, withMemberRoles } from "../../cli/_node_swarm.ts";
import { SWARM_ROLES, writeMembers } from "../../cli/_swarm_members.ts";
import { loadNodeIdentity } from "../../cli/node_identity.ts";

async function exitCodeAndError(args: string[]): Promise<[number, string]> {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...parts: unknown[]) => errors.push(parts.join(" "));
  try {
    return [await main(args), errors.join("\n")];
  } finally {
    console.error = original;
  }
}

Deno.test("run node refuses an unknown transport, bad multiaddrs and bad switches with exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--transport", "carrier-pigeon"], /--transport must be one of inproc, libp2p/],
    [
      ["--transport", "libp2p", "--bootstrap", "127.0.0.1:4001"],
      /Invalid multiaddr '127.0.0.1:4001'/,
    ],
    [["--transport", "libp2p", "--listen", "/ip4/999.1.1.1/tcp/1"], /Invalid multiaddr/],
    [["--transport", "libp2p", "--mdns", "maybe"], /--mdns must be one of on, off/],
    [["--transport", "libp2p", "--network", "no spaces"], /--network must be/],
    [["--transport", "libp2p", "--max-connections", "0"], /--max-connections must be an integer/],
    [["--workload", "dance"], /--workload must be one of swarm, chatter, none/],
    [["--open-max", "0"], /--open-max must be an integer/],
    [["--open-max", "many"], /--open-max must be an integer/],
    [["--decide-retention-ms", "1000"], /--decide-retention-ms must be an integer between 30000/],
    [
      ["--data-retention-ms", "60000"],
      /--data-retention-ms must be 0 \(keep for good\) or at least 3600000/,
    ],
    [["--data-retention-ms", "a week"], /--data-retention-ms must be an integer between 0/],
  ];
  for (const [flags, message] of cases) {
    const [code, error] = await exitCodeAndError(["run", "node", ...flags]);
    assert.equal(code, 2, `${flags.join(" ")} → ${error}`);
    assert.match(error, message);
  }
});

Deno.test("run node plays the roles the members file lists, and refuses a --roles that disagrees with exit code 2", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const dataDir = `${directory}/n0`;
    const { identity } = await loadNodeIdentity(dataDir);
    const members = `${directory}/members.json`;
    await writeMembers(members, [{ node: "n0", did: identity.did, roles: ["verifier"] }]);
    const base = ["run", "node", "--node-id", "n0", "--data-dir", dataDir, "--members", members];
    const [code, error] = await exitCodeAndError([...base, "--roles", "worker,verifier"]);
    assert.equal(code, 2, error);
    assert.match(error, /--roles verifier,worker disagrees with the members file.*n0 as verifier/);

    const settings = swarmSettings({ members });
    assert.deepEqual(settings.roles, SWARM_ROLES, "all roles without a members file");
    const file = [{ node: "n0", did: identity.did, roles: ["verifier"] as const }];
    assert.deepEqual(withMemberRoles(settings, file, "n0").roles, ["verifier"]);
    const given = swarmSettings({ members, roles: "verifier" });
    assert.deepEqual(withMemberRoles(given, file, "n0").roles, ["verifier"], "an agreeing --roles");
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("run node keeps audit logs and artifacts for --data-retention-ms, a week by default, or for good with 0", () => {
  assert.equal(swarmSettings({}).dataRetentionMs, 7 * 24 * 3_600_000);
  assert.equal(swarmSettings({ "data-retention-ms": "0" }).dataRetentionMs, 0);
  assert.equal(swarmSettings({ "data-retention-ms": "3600000" }).dataRetentionMs, 3_600_000);
});

Deno.test("run node keeps decide-log records for --decide-retention-ms, an hour by default", () => {
  assert.equal(swarmSettings({}).decideRetentionMs, 3_600_000);
  assert.equal(swarmSettings({ "decide-retention-ms": "120000" }).decideRetentionMs, 120_000);
});

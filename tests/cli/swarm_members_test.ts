// Proves the members file, role lists and bucket shares of a multi-process swarm are read strictly: good ones round-trip, bad ones fail with typed errors naming the value, and the I/N shares split the 256 buckets exactly.
import assert from "node:assert/strict";
import fc from "fast-check";
import { apOwners } from "../../cli/_node_ap.ts";
import { UsageError } from "../../cli/args.ts";
import {
  bucketOwners,
  bucketsOf,
  checkSelf,
  loadMembers,
  MembersError,
  parseBuckets,
  parseMembers,
  parseRoles,
  SWARM_ROLES,
  writeMembers,
} from "../../cli/_swarm_members.ts";
import { testIdentity } from "../protocols/_fixtures.ts";

async function didOf(fill: number): Promise<string> {
  return (await testIdentity(fill)).did;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof MembersError, String(error));
    return error.code;
  }
  return undefined;
}

Deno.test("writeMembers() and loadMembers() round-trip a members file", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const members = [
      { node: "node-0", did: await didOf(1), roles: [...SWARM_ROLES] },
      { node: "node-1", did: await didOf(2), roles: ["planner", "verifier"] as const },
    ];
    await writeMembers(`${directory}/members.json`, members);
    assert.deepEqual(await loadMembers(`${directory}/members.json`), members);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("parseMembers() refuses a bad members file with E_MEMBERS_FILE naming the fault", async () => {
  const did = await didOf(1);
  const member = { node: "node-0", did, roles: ["worker"] };
  const cases: [string, RegExp][] = [
    ["{", /is not JSON/],
    [JSON.stringify({ v: 2, members: [member] }), /must be \{"v":1/],
    [JSON.stringify({ v: 1, members: [] }), /at least one member/],
    [JSON.stringify({ v: 1, members: [7] }), /member 0 must be an object/],
    [JSON.stringify({ v: 1, members: [{ ...member, stake: 1 }] }), /unknown field 'stake'/],
    [JSON.stringify({ v: 1, members: [{ ...member, node: "a b" }] }), /node must be 1-64/],
    [JSON.stringify({ v: 1, members: [{ ...member, did: "did:web:x" }] }), /member 0: /],
    [JSON.stringify({ v: 1, members: [{ ...member, roles: "worker" }] }), /roles must be a list/],
    [
      JSON.stringify({ v: 1, members: [member, { ...member, did: await didOf(2) }] }),
      /node-0 twice/,
    ],
    [JSON.stringify({ v: 1, members: [member, { ...member, node: "node-1" }] }), /did .* twice/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseMembers(text, "members.json"),
      (error: unknown) =>
        error instanceof MembersError && error.code === "E_MEMBERS_FILE" &&
        message.test(error.message),
      text,
    );
  }
  const badRole = JSON.stringify({ v: 1, members: [{ ...member, roles: ["king"] }] });
  assert.equal(codeOf(() => parseMembers(badRole, "members.json")), "E_MEMBERS_SPEC");
});

Deno.test("loadMembers() names a file it cannot read", async () => {
  await assert.rejects(
    loadMembers("/nonexistent/members.json"),
    (error: unknown) =>
      error instanceof MembersError && /Cannot read members file \/nonexistent/.test(error.message),
  );
});

Deno.test("checkSelf() refuses a node missing from the file or listed under another key", async () => {
  const members = parseMembers(
    JSON.stringify({ v: 1, members: [{ node: "node-0", did: await didOf(1), roles: [] }] }),
    "members",
  );
  checkSelf(members, "node-0", await didOf(1));
  assert.equal(codeOf(() => checkSelf(members, "node-1", "did:key:z")), "E_MEMBERS_SELF");
  assert.equal(codeOf(() => checkSelf(members, "node-0", "did:key:z")), "E_MEMBERS_SELF");
});

Deno.test("parseRoles() reads all or a list, in display order, and refuses unknown roles", () => {
  assert.deepEqual(parseRoles("all"), SWARM_ROLES);
  assert.deepEqual(parseRoles("verifier, planner"), ["planner", "verifier"]);
  assert.equal(codeOf(() => parseRoles("planner,boss")), "E_MEMBERS_SPEC");
});

Deno.test("parseBuckets() reads all, none, I/N and ranges, and refuses anything else", () => {
  assert.equal(parseBuckets("all").length, 256);
  assert.deepEqual(parseBuckets("none"), []);
  assert.deepEqual(parseBuckets("1/4").slice(0, 3), [1, 5, 9]);
  assert.deepEqual(parseBuckets("3-5, 1,4"), [1, 3, 4, 5]);
  for (const bad of ["4/4", "0/0", "0/257", "5-3", "256", "x", "1-", ""]) {
    assert.equal(codeOf(() => parseBuckets(bad)), "E_MEMBERS_SPEC", bad);
  }
});

Deno.test("the I/N shares of N nodes cover every bucket exactly once", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 256 }), (count) => {
    const owned = Array.from({ length: count }, (_, index) => bucketsOf(index, count)).flat();
    assert.equal(owned.length, 256);
    assert.equal(new Set(owned).size, 256);
  }));
});

Deno.test("a members file may give each member its buckets; AP mode reads the owners from it", async () => {
  const [a, b] = [await didOf(1), await didOf(2)];
  const members = parseMembers(
    JSON.stringify({
      v: 1,
      members: [
        { node: "n0", did: a, roles: ["verifier"], buckets: "0/2" },
        { node: "n1", did: b, roles: ["worker"], buckets: "1/2" },
      ],
    }),
    "file",
  );
  assert.equal(members[0].buckets, "0/2");
  const owners = bucketOwners(members);
  assert.equal(owners.size, 256);
  assert.equal(owners.get(0), "n0");
  assert.equal(owners.get(1), "n1");
  assert.deepEqual(apOwners(members, "n0", bucketsOf(0, 2)), owners);
  assert.throws(() => apOwners(members, "n0", bucketsOf(0, 1)), UsageError, "--buckets disagrees");
  const noBuckets = members.map(({ node, did, roles }) => ({ node, did, roles }));
  assert.throws(() => apOwners(noBuckets, "n0", bucketsOf(0, 2)), UsageError);
  assert.equal(apOwners([noBuckets[0]], "n0", [3]).get(3), "n0", "a node alone owns its own");
  const partial = apOwners([members[0], noBuckets[1]], "n0", bucketsOf(0, 2));
  assert.equal(partial.size, 256, "buckets nobody lists go to a listed decider");
  assert.ok([...partial.values()].every((owner) => owner === "n0"));
  const bad = (buckets: unknown) =>
    codeOf(() =>
      parseMembers(
        JSON.stringify({ v: 1, members: [{ node: "n0", did: a, roles: [], buckets }] }),
        "file",
      )
    );
  assert.equal(bad(7), "E_MEMBERS_FILE");
  assert.equal(bad("0/0"), "E_MEMBERS_FILE");
  assert.equal(
    codeOf(() => bucketOwners([{ ...members[0] }, { ...members[1], buckets: "0-3" }])),
    "E_MEMBERS_FILE",
    "one bucket given to two members",
  );
});

// Proves an operator can change a running node's policy: a capsule signed with `policy capsule` is posted to /policy/capsules, staged, put in force by POST /epoch, and NEEDs keep finishing under it; malformed capsules and wrong methods get typed errors.
import assert from "node:assert/strict";
import { freePort } from "../../tools/etcd_server.ts";
import { loadNodeIdentity } from "../../cli/node_identity.ts";
import { MAIN, runCli, until } from "./_cli.ts";

/** Posts a NEED and waits until the node reports it final. */
async function finishNeed(base: string, input: string): Promise<void> {
  const posted = await fetch(`${base}/needs`, {
    method: "POST",
    body: JSON.stringify({ op: "reverse", input }),
  });
  assert.equal(posted.status, 202);
  const { needId } = await posted.json();
  await until(async () => {
    const list = await (await fetch(`${base}/needs`)).json() as {
      needId: string;
      status: string;
    }[];
    return list.find((entry) => entry.needId === needId && entry.status === "final");
  }, 20_000);
}

Deno.test("run node: a capsule posted to /policy/capsules comes into force at POST /epoch", async () => {
  const root = await Deno.makeTempDir({ prefix: "can-swarm-http-policy-" });
  const authorDir = `${root}/author`;
  const author = (await loadNodeIdentity(authorDir)).identity;
  const signed = await runCli(["--allow-read", "--allow-write", "--allow-env"], [
    "policy",
    "capsule",
    "--data-dir",
    authorDir,
    "--activation-epoch",
    "1",
    "--out",
    `${root}/capsule.json`,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const port = freePort();
  const node = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "run", "node", "--data-dir", `${root}/node`, "--http", String(port)]
      .concat(["--challenge-window-ms", "50", "--capsule-authors", author.did]),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    const genesis = await until(async () => (await fetch(`${base}/policy`)).json(), 20_000);
    assert.equal(genesis.epoch, 0);
    assert.deepEqual(genesis.pending, []);
    await finishNeed(base, "under genesis");

    const offered = await fetch(`${base}/policy/capsules`, {
      method: "POST",
      body: await Deno.readTextFile(`${root}/capsule.json`),
    });
    assert.equal(offered.status, 202);
    const { capsule, activationEpoch, author: signer } = await offered.json();
    assert.equal(activationEpoch, 1);
    assert.equal(signer, author.did);
    await until(async () => {
      const status = await (await fetch(`${base}/policy`)).json();
      return status.pending.includes(capsule) ? status : undefined;
    }, 10_000);

    const advanced = await fetch(`${base}/epoch`, { method: "POST" });
    assert.equal(advanced.status, 200);
    assert.deepEqual(await advanced.json(), { epoch: 1 });
    const switched = await until(async () => {
      const status = await (await fetch(`${base}/policy`)).json();
      return status.activeHash === capsule ? status : undefined;
    }, 10_000);
    assert.equal(switched.switched, 1);
    await finishNeed(base, "under the new capsule");

    const refusals: [string, RequestInit, number, string][] = [
      ["/policy/capsules", { method: "POST", body: "{}" }, 400, "E_CAPSULE_MALFORMED"],
      ["/policy/capsules", { method: "POST", body: "not json" }, 400, "E_HTTP_JSON"],
      ["/policy/capsules", {}, 405, "E_HTTP_METHOD"],
      ["/epoch", {}, 405, "E_HTTP_METHOD"],
      ["/policy", { method: "POST", body: "{}" }, 405, "E_HTTP_METHOD"],
      ["/policy/elsewhere", {}, 404, "E_HTTP_NOT_FOUND"],
    ];
    for (const [path, init, status, code] of refusals) {
      const response = await fetch(`${base}${path}`, init);
      assert.equal(response.status, status, `${init.method ?? "GET"} ${path}`);
      assert.equal((await response.json()).error.code, code);
    }
  } finally {
    node.kill("SIGTERM");
    await node.output();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run node refuses a --capsule-authors entry that is not a did:key", async () => {
  const run = await runCli(["-A"], ["run", "node", "--capsule-authors", "did:web:example.com"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /did:key/);
});

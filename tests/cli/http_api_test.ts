// Proves a `run node` process serves its HTTP API: a NEED posted with POST /needs becomes FINAL, its escrow shows in the read-only ledger routes, and bad requests get typed JSON errors.
import assert from "node:assert/strict";
import { freePort } from "../../tools/etcd_server.ts";
import { MAIN, until } from "./_cli.ts";

Deno.test("run node: POST /needs goes to FINAL, GET shows it, bad requests are refused with codes", async () => {
  const dataDir = await Deno.makeTempDir();
  const port = freePort();
  const node = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "run",
      "node",
      "--data-dir",
      dataDir,
      "--http",
      String(port),
      "--challenge-window-ms",
      "50",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    const health = await until(async () => (await fetch(`${base}/health`)).json(), 20_000);
    assert.equal(health.status, "ok");
    assert.match(health.did, /^did:key:z6Mk/);

    const posted = await fetch(`${base}/needs`, {
      method: "POST",
      body: JSON.stringify({ op: "reverse", input: "hello swarm" }),
    });
    assert.equal(posted.status, 202);
    const { needId } = await posted.json();
    const final = await until(async () => {
      const list = await (await fetch(`${base}/needs`)).json() as {
        needId: string;
        status: string;
      }[];
      return list.find((entry) => entry.needId === needId && entry.status === "final");
    }, 20_000);
    assert.equal(final.status, "final");
    const thread = await (await fetch(`${base}/needs/${needId}`)).json();
    assert.equal(thread.phase, "FINAL");
    assert.equal(thread.tasks[0].status, "FINAL");
    assert.equal(thread.tasks[0].commits, 1);
    assert.equal(thread.tasks[0].lease.holder, health.did, "the lone node worked the task");

    const refusals: [RequestInit & { path?: string }, number, string][] = [
      [{ method: "POST", body: "not json" }, 400, "E_HTTP_JSON"],
      [{ method: "POST", body: JSON.stringify({ op: "explode", input: "x" }) }, 400, "E_PAYLOAD"],
      [{ method: "POST", body: JSON.stringify({ op: "reverse", input: 7 }) }, 400, "E_HTTP_FIELD"],
      [
        { method: "POST", body: JSON.stringify({ op: "reverse", input: "x", bounty: -1 }) },
        400,
        "E_HTTP_FIELD",
      ],
      [{ method: "POST", body: "x".repeat(70_000) }, 413, "E_HTTP_TOO_LARGE"],
      [{ method: "DELETE" }, 405, "E_HTTP_METHOD"],
      [{ path: "/nowhere" }, 404, "E_HTTP_NOT_FOUND"],
      [{ path: "/needs/unknown-need" }, 404, "E_HTTP_UNKNOWN_NEED"],
    ];
    for (const [init, status, code] of refusals) {
      const response = await fetch(`${base}${init.path ?? "/needs"}`, init);
      assert.equal(response.status, status, `${init.method ?? "GET"} ${init.path ?? "/needs"}`);
      assert.equal((await response.json()).error.code, code);
    }
    assert.equal(
      (await (await fetch(`${base}/health`)).json()).stats.finalNeeds,
      1,
      "refused requests posted nothing",
    );
    await assertLedgerRoutes(base, health.did, needId);
  } finally {
    node.kill("SIGTERM");
    const output = await node.output();
    assert.match(new TextDecoder().decode(output.stdout), /node node-0 stopped/);
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** The ledger routes: totals, the node's account, the NEED's settled escrow, and refusals. */
async function assertLedgerRoutes(base: string, did: string, needId: string) {
  const summary = await (await fetch(`${base}/ledger`)).json();
  assert.equal(summary.invariant, "ok");
  assert.equal(summary.supply, 10_000_000, "genesis minted the default allocation");
  assert.equal(summary.escrowsHeld, 0, "no escrow is stuck");
  assert.match(summary.digest, /^[0-9a-f]{64}$/);
  const account = await (await fetch(`${base}/ledger/accounts/${did}?limit=10`)).json();
  assert.equal(account.stake, 1_000);
  assert.equal(
    account.balance,
    9_999_000,
    "a lone node pays itself nothing: its own payouts are blocked and refunded",
  );
  assert.ok(account.history.length >= 2 && account.history.length <= 10);
  const escrows = await (await fetch(`${base}/ledger/escrows/${needId}`)).json();
  assert.equal(escrows.escrows.length, 1);
  assert.equal(escrows.escrows[0].status, "released");
  assert.equal(escrows.escrows[0].amount, 6, "bounty 5 plus the 20 % verify bounty");
  assert.ok(escrows.escrows[0].blocked.length >= 1);
  const refusals: [string, RequestInit, number, string][] = [
    [`/ledger/accounts/${did}?limit=lots`, {}, 400, "E_HTTP_FIELD"],
    ["/ledger/balances/x", {}, 404, "E_HTTP_NOT_FOUND"],
    ["/ledger/accounts", {}, 404, "E_HTTP_NOT_FOUND"],
    ["/ledger", { method: "POST", body: "{}" }, 405, "E_HTTP_METHOD"],
  ];
  for (const [path, init, status, code] of refusals) {
    const response = await fetch(`${base}${path}`, init);
    assert.equal(response.status, status, path);
    assert.equal((await response.json()).error.code, code);
  }
}

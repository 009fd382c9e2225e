// Proves a node scores down and bans a peer that sends malformed CBOR, oversized frames or floods, while it keeps serving honest peers.
import assert from "node:assert/strict";
import { chatterCount, counter, type NodeLine, NodeProcess } from "../../cli/node_process.ts";

const NETWORK = `hostile-${crypto.randomUUID().slice(0, 8)}`;
const HOSTILE = new URL("./_hostile_peer.ts", import.meta.url).pathname;

function args(dataRoot: string, nodeId: string, bootstrap: string[]): string[] {
  return [
    "--transport",
    "libp2p",
    "--data-dir",
    `${dataRoot}/${nodeId}`,
    "--mdns",
    "off",
    "--network",
    NETWORK,
    "--heartbeat-ms",
    "300",
    "--workload",
    "chatter",
    "--peers",
    "node-0,node-1",
    "--pause-max-ms",
    "20",
    ...(bootstrap.length > 0 ? ["--bootstrap", bootstrap.join(",")] : []),
  ];
}

async function runHostile(mode: string, target: string): Promise<Record<string, unknown>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", HOSTILE, mode, target, NETWORK],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(text.split("\n").at(-1)!);
}

const invalid = (line: NodeLine | undefined, code: string) =>
  ((line?.transport as { invalidByCode?: Record<string, number> })?.invalidByCode ?? {})[code] ?? 0;

Deno.test({
  name:
    "hostile peers (malformed CBOR, oversized frames, flood) are banned; honest traffic goes on",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataRoot = await Deno.makeTempDir({ prefix: "can-swarm-hostile-" });
    const target = NodeProcess.start("node-0", args(dataRoot, "node-0", []));
    let honest: NodeProcess | undefined;
    try {
      const ready = await target.waitFor("node-0 is ready", (line) => line.event === "ready");
      const address = (ready.addrs as string[])[0];
      honest = NodeProcess.start("node-1", args(dataRoot, "node-1", [address]));
      await honest.waitFor("honest traffic flows", (line) => counter(line, "directDelivered") > 10);
      const results = [];
      for (const mode of ["cbor", "oversize", "flood"]) {
        results.push(await runHostile(mode, address));
      }
      for (const result of results) {
        assert.ok((result.sent as number) > 0, `${result.mode} sent something`);
        assert.equal(result.redialRefused, true, `${result.mode} peer is refused after its ban`);
      }
      const banned = await target.waitFor(
        "node-0 banned three peers and counted each offence by code",
        (line) =>
          counter(line, "bans") >= 3 && invalid(line, "E_FRAME_CBOR") >= 4 &&
          invalid(line, "E_FRAME_TOO_LARGE") >= 4 && invalid(line, "E_PEER_FLOOD") >= 4,
      );
      const banEvents = target.lines.filter((line) => line.type === "peer-banned");
      assert.deepEqual(
        new Set(banEvents.map((line) => line.peer)),
        new Set(results.map((result) => result.peer)),
        "exactly the hostile peers were banned",
      );
      const before = counter(honest.last("status"), "directDelivered");
      const heardBefore = chatterCount(target.last("status"), "acknowledged");
      await honest.waitFor(
        "the honest peer keeps receiving from node-0",
        (line) => counter(line, "directDelivered") > before + 20,
      );
      await target.waitFor(
        "node-0 keeps serving the honest peer",
        (line) => chatterCount(line, "acknowledged") > heardBefore + 20,
      );
      assert.equal(counter(honest.last("status"), "bans"), 0);
      assert.ok(counter(banned, "bans") >= 3);
      assert.equal((await honest.stop()).code, 0);
      assert.equal((await target.stop()).code, 0);
    } finally {
      target.kill("SIGKILL");
      honest?.kill("SIGKILL");
      await target.exited();
      await honest?.exited();
      await Deno.remove(dataRoot, { recursive: true });
    }
  },
});

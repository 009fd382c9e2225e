// Proves 5 `run node --transport libp2p` processes find each other, exchange direct and topic messages, and recover from a SIGKILL.
import assert from "node:assert/strict";
import { chatterCount, counter, type NodeLine, NodeProcess } from "../../cli/node_process.ts";

const NODES = ["node-0", "node-1", "node-2", "node-3", "node-4"];
const NETWORK = `mp-${crypto.randomUUID().slice(0, 8)}`;

function nodeArgs(dataRoot: string, nodeId: string, bootstrap: string[]): string[] {
  return [
    "--transport",
    "libp2p",
    "--data-dir",
    `${dataRoot}/${nodeId}`,
    "--listen",
    "/ip4/127.0.0.1/tcp/0",
    "--mdns",
    "off",
    "--network",
    NETWORK,
    "--heartbeat-ms",
    "400",
    "--workload",
    "chatter",
    "--peers",
    NODES.join(","),
    "--actors-per-node",
    "2",
    "--pause-max-ms",
    "30",
    ...(bootstrap.length > 0 ? ["--bootstrap", bootstrap.join(",")] : []),
  ];
}

const knowsAll = (line: NodeLine) =>
  line.event === "status" && NODES.every((node) => (line.knownNodes as string[]).includes(node));

Deno.test({
  name:
    "5 node processes exchange direct and topic messages, and traffic resumes after SIGKILL + restart",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataRoot = await Deno.makeTempDir({ prefix: "can-swarm-mp-" });
    const processes = new Map<string, NodeProcess>();
    try {
      const first = NodeProcess.start("node-0", nodeArgs(dataRoot, "node-0", []));
      processes.set("node-0", first);
      const ready = await first.waitFor("node-0 is ready", (line) => line.event === "ready");
      const bootstrap = ready.addrs as string[];
      assert.ok(bootstrap.length > 0 && bootstrap[0].includes("/tcp/"));
      for (const node of NODES.slice(1)) {
        processes.set(node, NodeProcess.start(node, nodeArgs(dataRoot, node, bootstrap)));
      }
      for (const process of processes.values()) {
        await process.waitFor(
          "it knows all 5 nodes and has received direct and topic frames from others",
          (line) =>
            knowsAll(line) && counter(line, "directDelivered") > 20 &&
            counter(line, "topicDelivered") > 5 && chatterCount(line, "heard") > 5 &&
            chatterCount(line, "acknowledged") > 20,
          60_000,
        );
      }
      const victim = processes.get("node-3")!;
      const peerBefore = victim.last("ready")!.peer;
      victim.kill("SIGKILL");
      const killed = await victim.exited();
      assert.equal(killed.signal, "SIGKILL");
      const witness = processes.get("node-1")!;
      const lostBefore = counter(witness.last("status"), "directDelivered");
      await witness.waitFor(
        "node-1 keeps receiving from the live nodes",
        (line) => counter(line, "directDelivered") > lostBefore + 20,
      );
      const restarted = NodeProcess.start("node-3", nodeArgs(dataRoot, "node-3", bootstrap));
      processes.set("node-3", restarted);
      const again = await restarted.waitFor(
        "node-3 is ready again",
        (line) => line.event === "ready",
      );
      assert.equal(again.peer, peerBefore, "the key in the data dir keeps the PeerId");
      await restarted.waitFor(
        "the restarted node-3 is on its 2nd boot and gets direct and topic traffic again",
        (line) =>
          knowsAll(line) && line.boots === 2 && counter(line, "directDelivered") > 20 &&
          chatterCount(line, "heard") > 5,
        60_000,
      );
      for (const [node, process] of processes) {
        const status = await process.stop();
        assert.equal(status.code, 0, `${node} exits on its own after SIGTERM`);
        assert.equal(process.last("stopped")?.event, "stopped");
      }
    } finally {
      for (const process of processes.values()) process.kill("SIGKILL");
      await Promise.all([...processes.values()].map((process) => process.exited()));
      await Deno.remove(dataRoot, { recursive: true });
    }
  },
});

// Real etcd servers (Debian's etcd-server) on free loopback ports, for tests and benchmarks; always stopped by the caller.
import { Etcd3 } from "etcd3";

/** A running etcd member. */
export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly process: Deno.ChildProcess;
  /** Kills the member with SIGKILL and waits for it to exit. */
  kill(): Promise<void>;
}

/** A running etcd cluster. */
export interface EtcdCluster {
  readonly members: EtcdMember[];
  readonly endpoints: string[];
  /** Stops every member and removes the data directories. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitHealthy(endpoints: string[], timeoutMs: number): Promise<void> {
  const client = new Etcd3({ hosts: endpoints, dialTimeout: 1_000 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.put("/health-probe").value("ok");
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`etcd did not become healthy: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.close();
  }
}

/** Starts an etcd cluster of `size` members on loopback and waits until it serves writes. */
export async function startEtcd(size = 1): Promise<EtcdCluster> {
  const root = await Deno.makeTempDir({ prefix: "can-swarm-etcd-" });
  const specs = Array.from({ length: size }, (_, index) => ({
    name: `m${index}`,
    clientUrl: `http://127.0.0.1:${freePort()}`,
    peerUrl: `http://127.0.0.1:${freePort()}`,
  }));
  const initialCluster = specs.map((spec) => `${spec.name}=${spec.peerUrl}`).join(",");
  const members: EtcdMember[] = specs.map((spec) => {
    const process = new Deno.Command("etcd", {
      args: [
        `--name=${spec.name}`,
        `--data-dir=${root}/${spec.name}`,
        `--listen-client-urls=${spec.clientUrl}`,
        `--advertise-client-urls=${spec.clientUrl}`,
        `--listen-peer-urls=${spec.peerUrl}`,
        `--initial-advertise-peer-urls=${spec.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        "--initial-cluster-token=can-swarm-test",
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--log-level=error",
        // Old revisions (every write is one) are compacted away, so forgotten records free space.
        "--auto-compaction-mode=periodic",
        "--auto-compaction-retention=5m",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let exited = false;
    const status = process.status.then(() => void (exited = true));
    return {
      name: spec.name,
      clientUrl: spec.clientUrl,
      process,
      kill: async () => {
        if (!exited) process.kill("SIGKILL");
        await status;
      },
    };
  });
  const endpoints = members.map((member) => member.clientUrl);
  const stop = async () => {
    for (const member of members) await member.kill();
    await Deno.remove(root, { recursive: true });
  };
  try {
    await waitHealthy(endpoints, 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { members, endpoints, stop };
}

/**
 * A swarm of `run node` processes on this host, for `run swarm --processes`
 * and the multi-process tests: N nodes on libp2p (127.0.0.1, free ports,
 * bootstrapping from the first, mDNS off, a private network name), one
 * members file they share, one etcd as the CP decide log (a private one,
 * started here and stopped at the end, unless endpoints are given) or, in
 * AP mode, a decide-log replica in each node's data directory, each
 * node with an HTTP API on a free port. The driver posts NEEDs and reads
 * their outcomes through those APIs, and can kill, restart and partition
 * nodes.
 *
 * @module
 */

import type { NeedStatus } from "../actors/requester.ts";
import type { TaskSpec } from "../protocols/lifecycle/payloads.ts";
import { type NodeLine, NodeProcess } from "./node_process.ts";
import { loadNodeIdentity } from "./node_identity.ts";
import { SWARM_ROLES, type SwarmMember, type SwarmRole, writeMembers } from "./_swarm_members.ts";

/** What one node of the swarm does. */
export interface ProcessNodeLayout {
  readonly roles: readonly SwarmRole[];
  /** Its bucket share, as `--buckets` takes it. */
  readonly buckets: string;
}

/** Options of {@linkcode ProcessSwarm.start}. */
export interface ProcessSwarmOptions {
  /** One entry per process; see {@linkcode evenLayout}. */
  readonly layout: readonly ProcessNodeLayout[];
  /** Root of the nodes' data directories; a temporary one (removed at stop) when absent. */
  readonly dataDir?: string;
  /** etcd client URLs; a private etcd is started (and stopped at stop) when absent. */
  readonly etcdEndpoints?: readonly string[];
  /** `etcd` (CP, default) or `ap` (a replica per node; no etcd). */
  readonly consensus?: "etcd" | "ap";
  readonly challengeWindowMs: number;
  readonly policy?: boolean;
  /** Serve /admin/partition on every node (partition tests). */
  readonly admin?: boolean;
  readonly heartbeatMs?: number;
  /** Give up waiting for the nodes to find each other after this long. Default 60 s. */
  readonly readyTimeoutMs?: number;
}

/** Every process plays every role and decides 1/N of the buckets. */
export function evenLayout(processes: number): ProcessNodeLayout[] {
  return Array.from(
    { length: processes },
    (_, index) => ({ roles: SWARM_ROLES, buckets: `${index}/${processes}` }),
  );
}

/** A running multi-process swarm. */
export class ProcessSwarm {
  readonly nodeIds: readonly string[];
  readonly members: readonly SwarmMember[];
  readonly etcdEndpoints: readonly string[];
  readonly dataRoot: string;
  readonly #options: ProcessSwarmOptions;
  readonly #processes: NodeProcess[] = [];
  readonly #ports: number[] = [];
  readonly #network = `swarm-${crypto.randomUUID().slice(0, 8)}`;
  readonly #stopEtcd: (() => Promise<void>) | undefined;
  readonly #ownsDataRoot: boolean;
  #bootstrap: string[] = [];

  private constructor(
    options: ProcessSwarmOptions,
    dataRoot: string,
    members: SwarmMember[],
    etcd: { endpoints: readonly string[]; stop?: () => Promise<void> },
  ) {
    this.#options = options;
    this.dataRoot = dataRoot;
    this.#ownsDataRoot = options.dataDir === undefined;
    this.members = members;
    this.nodeIds = members.map((member) => member.node);
    this.etcdEndpoints = etcd.endpoints;
    this.#stopEtcd = etcd.stop;
  }

  /** Creates the nodes' keys and members file, starts etcd if needed, then every node. */
  static async start(options: ProcessSwarmOptions): Promise<ProcessSwarm> {
    const dataRoot = options.dataDir ?? await Deno.makeTempDir({ prefix: "can-swarm-procs-" });
    const members = await Promise.all(options.layout.map(async (layout, index) => {
      const node = `node-${index}`;
      const { identity } = await loadNodeIdentity(`${dataRoot}/${node}`);
      return { node, did: identity.did, roles: layout.roles, buckets: layout.buckets };
    }));
    await writeMembers(`${dataRoot}/members.json`, members);
    const etcd = options.consensus === "ap"
      ? { endpoints: [] }
      : options.etcdEndpoints !== undefined
      ? { endpoints: options.etcdEndpoints }
      : await (await import("../tools/etcd_server.ts")).startEtcd(1);
    const swarm = new ProcessSwarm(options, dataRoot, members, etcd);
    try {
      await swarm.#startAll();
    } catch (error) {
      await swarm.stop();
      throw error;
    }
    return swarm;
  }

  /** The process of node `index` (undefined while it is down). */
  process(index: number): NodeProcess | undefined {
    return this.#processes[index];
  }

  /** Base URL of node `index`'s HTTP API. */
  url(index: number): string {
    return `http://127.0.0.1:${this.#ports[index]}`;
  }

  /** Indexes of the nodes that take NEEDs. */
  get requesters(): number[] {
    return this.members.flatMap((member, index) =>
      member.roles.includes("requester") ? [index] : []
    );
  }

  /** Posts a NEED at node `index`; resolves with its id. */
  async post(index: number, task: TaskSpec, deadlineInMs = 120_000): Promise<string> {
    const reply = await this.#call(index, "/needs", { ...task, deadlineInMs }) as {
      needId: string;
    };
    return reply.needId;
  }

  /** NEEDs node `index` posted, in flight and recently ended. */
  async needs(index: number): Promise<NeedStatus[]> {
    return await this.#call(index, "/needs") as NeedStatus[];
  }

  /** Node `index`'s /health: core, decider and network counters. */
  async health(index: number): Promise<Record<string, unknown>> {
    return await this.#call(index, "/health") as Record<string, unknown>;
  }

  /** Kills node `index` with SIGKILL and waits until it is gone. */
  async kill(index: number): Promise<Deno.CommandStatus> {
    const process = this.#processes[index];
    process.kill("SIGKILL");
    return await process.exited();
  }

  /** Starts node `index` again from its data directory and waits until it is back in the swarm. */
  async restart(index: number): Promise<void> {
    await this.#startNode(index);
    await this.#untilConnected([index], this.#options.readyTimeoutMs ?? 60_000);
  }

  /**
   * Splits the swarm: each node blocks every node outside its group. Nodes
   * in no group are left alone.
   */
  async partition(groups: readonly (readonly number[])[]): Promise<void> {
    for (const group of groups) {
      const outside = groups.filter((other) => other !== group).flat().map((index) =>
        this.nodeIds[index]
      );
      for (const index of group) await this.#call(index, "/admin/partition", { block: outside });
    }
  }

  /** Ends a partition and waits until every node knows every other again. */
  async heal(): Promise<void> {
    for (let index = 0; index < this.nodeIds.length; index++) {
      await this.#call(index, "/admin/partition", { block: [] });
    }
    await this.#untilPeersConnected(this.#options.readyTimeoutMs ?? 60_000);
  }

  /**
   * Stops every node (SIGTERM), then etcd; resolves with the nodes' exit
   * statuses. With `keep`, each node's output is saved as
   * `<dataRoot>/<node>.log` and the data root (keys, stores, audit logs)
   * stays on disk even when it is a temporary one, for a post-mortem.
   */
  async stop(options?: { readonly keep?: boolean }): Promise<Deno.CommandStatus[]> {
    const statuses = await Promise.all(this.#processes.map((process) => process.stop()));
    await this.#stopEtcd?.();
    if (options?.keep === true) {
      await Promise.all(
        this.#processes.map((process) =>
          process.saveOutput(`${this.dataRoot}/${process.nodeId}.log`)
        ),
      );
    } else if (this.#ownsDataRoot) {
      await Deno.remove(this.dataRoot, { recursive: true }).catch(() => {});
    }
    return statuses;
  }

  async #startAll(): Promise<void> {
    await this.#startNode(0);
    const others = this.nodeIds.map((_, index) => index).slice(1);
    await Promise.all(others.map((index) => this.#startNode(index)));
    await this.#untilConnected(
      this.nodeIds.map((_, index) => index),
      this.#options.readyTimeoutMs ?? 60_000,
    );
  }

  async #startNode(index: number): Promise<void> {
    const node = this.nodeIds[index];
    const process = NodeProcess.start(node, this.#args(index));
    this.#processes[index] = process;
    const ready = await process.waitFor(
      `${node} is ready`,
      (line) => line.event === "ready",
      this.#options.readyTimeoutMs ?? 60_000,
    );
    if (index === 0) this.#bootstrap = ready.addrs as string[];
    const swarm = await process.waitFor(
      `${node} runs the swarm`,
      (line) => line.event === "swarm",
      this.#options.readyTimeoutMs ?? 60_000,
    );
    this.#ports[index] = swarm.http as number;
  }

  #args(index: number): string[] {
    const options = this.#options;
    const layout = options.layout[index];
    return [
      "--transport=libp2p",
      `--data-dir=${this.dataRoot}/${this.nodeIds[index]}`,
      "--listen=/ip4/127.0.0.1/tcp/0",
      "--mdns=off",
      `--network=${this.#network}`,
      `--heartbeat-ms=${options.heartbeatMs ?? 250}`,
      "--workload=swarm",
      "--http=0",
      ...(options.consensus === "ap"
        ? ["--consensus=ap"]
        : ["--consensus=etcd", `--etcd=${this.etcdEndpoints.join(",")}`]),
      `--members=${this.dataRoot}/members.json`,
      `--roles=${layout.roles.join(",")}`,
      `--buckets=${layout.buckets}`,
      `--challenge-window-ms=${options.challengeWindowMs}`,
      `--policy=${options.policy === false ? "off" : "on"}`,
      ...(options.admin ? ["--admin"] : []),
      ...(index > 0 ? [`--bootstrap=${this.#bootstrap.join(",")}`] : []),
    ];
  }

  /** Waits until the nodes `indexes` report every node known and connected. */
  async #untilConnected(indexes: readonly number[], timeoutMs: number): Promise<void> {
    const count = this.nodeIds.length;
    const connected = (line: NodeLine) =>
      line.event === "status" && (line.knownNodes as string[] | undefined)?.length === count &&
      (line.peers as number) >= count - 1;
    await Promise.all(
      indexes.map((index) =>
        this.#processes[index].waitFor("it knows every node", connected, timeoutMs)
      ),
    );
  }

  async #untilPeersConnected(timeoutMs: number): Promise<void> {
    const count = this.nodeIds.length;
    const deadline = performance.now() + timeoutMs;
    for (const process of this.#processes) {
      await process.waitFor(
        "it is connected to every node again",
        (line) => line.event === "status" && (line.peers as number) >= count - 1,
        Math.max(1, deadline - performance.now()),
        process.lines.length,
      );
    }
  }

  async #call(index: number, path: string, body?: unknown): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    try {
      const response = await fetch(`${this.url(index)}${path}`, {
        method: body === undefined ? "GET" : "POST",
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      const reply = await response.json();
      if (!response.ok) {
        throw new Error(`${this.nodeIds[index]} ${path}: ${JSON.stringify(reply.error ?? reply)}`);
      }
      return reply;
    } finally {
      clearTimeout(timer);
    }
  }
}

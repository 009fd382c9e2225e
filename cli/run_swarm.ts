/**
 * `can-swarm run swarm` (and `deno task start`): a local swarm of N nodes in
 * this process on the real clock takes M NEEDs through the whole protocol
 * (NEED, PROPOSE, ATTEST_PLAN, DECIDE, CLAIM, COMMIT, ATTEST, FINALIZE) with
 * signatures on, shows progress, and prints a summary ending in
 * `finalised: X/M`. With `--processes N` the nodes are N `run node`
 * processes on libp2p deciding through etcd instead.
 *
 * @module
 */

import type { NeedOutcome } from "../actors/requester.ts";
import type { LedgerSummary } from "../protocols/economics/mod.ts";
import { swarmParams } from "../protocols/params.ts";
import { checkTaskSpec, WORK_OPERATIONS } from "../protocols/work.ts";
import { choiceFlag, type CommandSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";
import { LocalSwarm } from "./local_swarm.ts";
import { participantsFor, readParticipantsFile } from "./participants_file.ts";
import { ProgressBar } from "./progress.ts";

/** Flags of `run swarm`. */
export const RUN_SWARM_SPEC: CommandSpec = {
  name: "run swarm",
  summary: "Run a local swarm in this process and take NEEDs to FINAL through the whole protocol.",
  flags: {
    processes: {
      type: "string",
      value: "N",
      description: "Run N node processes on libp2p (127.0.0.1) deciding through etcd instead",
      default: "0",
    },
    nodes: {
      type: "string",
      value: "N",
      description: "Nodes (each a planner, verifier, worker and decider)",
      default: "3",
    },
    needs: { type: "string", value: "M", description: "NEEDs to post", default: "200" },
    consensus: {
      type: "string",
      value: "NAME",
      description:
        "Decide log: kv (embedded Deno KV), etcd, or ap (with --processes: a replica per process)",
      default: "kv",
    },
    etcd: {
      type: "string",
      value: "URLS",
      description:
        "etcd client URLs, comma-separated (with --processes: default a private etcd started and stopped here)",
      default: "http://127.0.0.1:2379",
    },
    "data-dir": {
      type: "string",
      value: "DIR",
      description:
        "Keys, stores, audit logs and artifacts (with --processes: default a temporary dir)",
      default: "./.swarm",
    },
    "challenge-window-ms": {
      type: "string",
      value: "MS",
      description: "Challenge window before FINALIZE",
      default: "500",
    },
    op: {
      type: "string",
      value: "NAME",
      description: `Work: ${WORK_OPERATIONS.join(", ")}`,
      default: "sha256",
    },
    rounds: { type: "string", value: "N", description: "Rounds of work per task", default: "1" },
    "timeout-ms": {
      type: "string",
      value: "MS",
      description: "Deadline of each NEED",
      default: "120000",
    },
    policy: {
      type: "string",
      value: "on|off",
      description: "Run the Cedar policy gates (preflight and ingress) on every node",
      default: "on",
    },
    participants: {
      type: "string",
      value: "FILE",
      description:
        "JSON list of economy participants (org, asn, region, entity, genesis) by node index",
    },
    json: { type: "boolean", description: "Print the summary as JSON" },
  },
  notes: [
    "With --consensus etcd an etcd must listen at --etcd (Debian: apt-get install etcd-server).",
    "With --processes N the run needs the etcd binary (Debian etcd-server) unless --etcd is given.",
  ].join("\n"),
};

/** What a swarm run did. */
export interface SwarmRunSummary {
  readonly nodes: number;
  readonly needs: number;
  readonly finalised: number;
  readonly expired: number;
  readonly other: number;
  readonly latencyMsP50: number;
  readonly latencyMsP95: number;
  readonly wallMs: number;
  readonly needsPerSecond: number;
  readonly decides: number;
  readonly conflicts: number;
  /** ATTESTs the verifiers sent. */
  readonly attests: number;
  /** ATTESTs whose verdict or evaluation digest differed from another verifier's own. */
  readonly digestDivergences: number;
  readonly envelopesSigned: number;
  readonly envelopesAccepted: number;
  /** Peers' envelopes refused, by code, over all nodes. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Own emits refused before they were sent (a losing bid, a late vote), by code. */
  readonly declined: Readonly<Record<string, number>>;
  /** The credit economy after the run, as every node's ledger reports it. */
  readonly ledger?: LedgerRunSummary;
  /**
   * Where the nodes' data (audit logs, stores) and output were kept because
   * not every NEED became final (process swarms).
   */
  readonly keptDataDir?: string;
}

/** What the nodes' ledgers say after a run. */
export interface LedgerRunSummary {
  /** Credits. */
  readonly supply: number;
  readonly burned: number;
  readonly escrowsHeld: number;
  /** Nodes whose ledger digest equals node 0's, and whose supply invariant holds. */
  readonly nodesAgreeing: number;
}

/** Runs the swarm; resolves with the exit code (1 unless every NEED was finalised). */
export async function runSwarm(flags: ParsedFlags): Promise<number> {
  const processes = integerFlag(flags, "processes", 0, 0, 64);
  const nodes = integerFlag(flags, "nodes", 3, 1, 64);
  const needs = integerFlag(flags, "needs", 200, 1, 1_000_000);
  const consensus = choiceFlag(flags, "consensus", ["kv", "etcd", "ap"] as const, "kv");
  if (consensus === "ap" && processes === 0) {
    throw new UsageError(
      "--consensus ap keeps a decide-log replica per process: add --processes N",
    );
  }
  const policy = choiceFlag(flags, "policy", ["on", "off"] as const, "on") === "on";
  const task = {
    op: typeof flags.op === "string" ? flags.op : "sha256",
    input: "",
    rounds: integerFlag(flags, "rounds", 1, 1, 100_000),
  };
  try {
    checkTaskSpec(task);
  } catch (error) {
    throw new UsageError(`--op: ${(error as Error).message}`);
  }
  if (processes > 0) return await runProcesses(flags, processes, needs, task);
  const params = swarmParams({
    challengeWindowMs: integerFlag(flags, "challenge-window-ms", 500, 0, 3_600_000),
  });
  const participantsFile = typeof flags.participants === "string"
    ? await readParticipantsFile(flags.participants)
    : undefined;
  if (participantsFile !== undefined) {
    // Validate against placeholder DIDs now, so a bad file is a usage error before anything starts.
    const placeholders = Array.from({ length: nodes }, (_, index) => `did:placeholder:${index}`);
    const byNode = participantsFile.filter((entry) => entry?.did === undefined);
    participantsFor(byNode, placeholders, params.economics);
  }
  const swarm = await LocalSwarm.start({
    nodes,
    // `ap` was refused above without --processes.
    consensus: consensus as "kv" | "etcd",
    policy,
    etcdEndpoints: typeof flags.etcd === "string"
      ? flags.etcd.split(",").map((url) => url.trim())
      : undefined,
    dataDir: typeof flags["data-dir"] === "string" ? flags["data-dir"] : "./.swarm",
    params,
    participants: participantsFile === undefined
      ? undefined
      : (dids) => participantsFor(participantsFile, dids, params.economics),
  });
  const json = flags.json === true;
  if (!json) {
    console.log(
      `swarm: ${nodes} nodes, ${needs} needs (${task.op} × ${task.rounds}), decide log ${consensus}`,
    );
  }
  const progress = new ProgressBar(needs, json);
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from(
      { length: needs },
      (_, index) =>
        swarm.post({ ...task, input: `need ${index} at ${started}` }, {
          deadlineInMs: integerFlag(flags, "timeout-ms", 120_000, 1_000),
        }).then((outcome) => {
          progress.tick(outcome.status === "final");
          return outcome;
        }),
    ),
  );
  const wallMs = performance.now() - started;
  progress.done();
  const summary = await summarise(swarm, outcomes, nodes, wallMs);
  await swarm.stop();
  console.log(json ? JSON.stringify(summary) : renderSummary(summary));
  return summary.finalised === needs ? 0 : 1;
}

async function runProcesses(
  flags: ParsedFlags,
  processes: number,
  needs: number,
  task: { op: string; rounds: number },
): Promise<number> {
  if (flags.consensus === "kv") {
    throw new UsageError("--processes decides through etcd: --consensus kv is one process's store");
  }
  if (flags.nodes !== undefined) {
    throw new UsageError("--processes N sets the node count: leave out --nodes");
  }
  if (flags.participants !== undefined) {
    throw new UsageError("--participants is for in-process swarms; processes use default metadata");
  }
  const json = flags.json === true;
  const { runSwarmProcesses } = await import("./_run_swarm_processes.ts");
  const summary = await runSwarmProcesses({
    processes,
    needs,
    task,
    deadlineInMs: integerFlag(flags, "timeout-ms", 120_000, 1_000),
    challengeWindowMs: integerFlag(flags, "challenge-window-ms", 500, 0, 3_600_000),
    policy: choiceFlag(flags, "policy", ["on", "off"] as const, "on") === "on",
    etcdEndpoints: typeof flags.etcd === "string"
      ? flags.etcd.split(",").map((url) => url.trim())
      : undefined,
    dataDir: typeof flags["data-dir"] === "string" ? flags["data-dir"] : undefined,
    consensus: flags.consensus === "ap" ? "ap" : "etcd",
    json,
    onStarted: (etcd) => {
      if (json) return;
      console.log(
        `swarm: ${processes} node processes on libp2p, ${needs} needs (${task.op} × ${task.rounds}), decide log ${etcd}`,
      );
    },
  });
  console.log(json ? JSON.stringify(summary) : renderSummary(summary));
  return summary.finalised === needs ? 0 : 1;
}

async function summarise(
  swarm: LocalSwarm,
  outcomes: NeedOutcome[],
  nodes: number,
  wallMs: number,
): Promise<SwarmRunSummary> {
  const stats = await swarm.stats();
  return runSummary({
    nodes,
    outcomes,
    wallMs,
    counters: stats,
    decides: swarm.deciderStats.decided,
    conflicts: swarm.deciderStats.conflicts,
    attests: swarm.verifierStats.attested,
    digestDivergences: swarm.verifierStats.divergences,
    ledger: await ledgerSummary(swarm, nodes),
  });
}

/** What a run summary adds up: the NEEDs' outcomes and every node's counters. */
export interface RunTotals {
  readonly nodes: number;
  readonly outcomes: readonly { readonly status: string; readonly latencyMs?: number }[];
  readonly wallMs: number;
  /** Each node's core counters. */
  readonly counters: readonly {
    readonly emitted: number;
    readonly accepted: number;
    readonly rejected: Readonly<Record<string, number>>;
    readonly declined?: Readonly<Record<string, number>>;
  }[];
  readonly decides: number;
  readonly conflicts: number;
  readonly attests: number;
  readonly digestDivergences: number;
  readonly ledger?: LedgerRunSummary;
}

/** The summary of a run (in process or across processes) from its totals. */
export function runSummary(totals: RunTotals): SwarmRunSummary {
  const { outcomes, wallMs, counters } = totals;
  const latencies = outcomes.filter((outcome) => outcome.status === "final")
    .map((outcome) => outcome.latencyMs ?? 0).sort((left, right) => left - right);
  const at = (fraction: number) =>
    latencies.length === 0
      ? 0
      : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))];
  const rejected = sumCodes(counters.map((each) => each.rejected));
  const declined = sumCodes(counters.map((each) => each.declined ?? {}));
  const finalised = latencies.length;
  const expired = outcomes.filter((outcome) => outcome.status === "expired").length;
  return {
    nodes: totals.nodes,
    needs: outcomes.length,
    finalised,
    expired,
    other: outcomes.length - finalised - expired,
    latencyMsP50: Math.round(at(0.5)),
    latencyMsP95: Math.round(at(0.95)),
    wallMs: Math.round(wallMs),
    needsPerSecond: Math.round(finalised / (wallMs / 1000)),
    decides: totals.decides,
    conflicts: totals.conflicts,
    attests: totals.attests,
    digestDivergences: totals.digestDivergences,
    envelopesSigned: counters.reduce((sum, each) => sum + each.emitted, 0),
    envelopesAccepted: counters.reduce((sum, each) => sum + each.accepted, 0),
    rejected,
    declined,
    ledger: totals.ledger,
  };
}

/** Counts by code, added up. */
function sumCodes(each: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const counts of each) {
    for (const [code, count] of Object.entries(counts)) total[code] = (total[code] ?? 0) + count;
  }
  return total;
}

/** Counts by code as `CODE n, ...`, most first. */
function renderCodes(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).sort((left, right) => right[1] - left[1])
    .map(([code, count]) => `${code} ${count}`).join(", ") || "none";
}

/** Node 0's ledger totals and how many nodes agree with it (waiting up to 2 s for stragglers). */
async function ledgerSummary(swarm: LocalSwarm, nodes: number) {
  const deadline = performance.now() + 2_000;
  for (;;) {
    const summaries = (await Promise.all(
      Array.from({ length: nodes }, (_, index) => swarm.ledger(index, { kind: "summary" })),
    )).filter((answer): answer is LedgerSummary => answer?.kind === "summary");
    const first = summaries[0];
    if (first === undefined) return undefined;
    const agreeing = summaries.filter((each) =>
      each.digest === first.digest && each.invariant === "ok"
    ).length;
    if ((agreeing === nodes && first.escrowsHeld === 0) || performance.now() > deadline) {
      return {
        supply: first.supply,
        burned: first.burned,
        escrowsHeld: first.escrowsHeld,
        nodesAgreeing: agreeing,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The summary as a table, ending with `finalised: X/M`. */
export function renderSummary(summary: SwarmRunSummary): string {
  const rows: [string, string][] = [
    ["nodes", String(summary.nodes)],
    ["needs posted", String(summary.needs)],
    ["expired / other", `${summary.expired} / ${summary.other}`],
    ["latency NEED→FINAL", `p50 ${summary.latencyMsP50} ms · p95 ${summary.latencyMsP95} ms`],
    ["throughput", `${summary.needsPerSecond} needs/s over ${summary.wallMs} ms`],
    ["decides / conflicts", `${summary.decides} / ${summary.conflicts}`],
    ["attests / digest divergences", `${summary.attests} / ${summary.digestDivergences}`],
    [
      "envelopes",
      `${summary.envelopesSigned} signed · ${summary.envelopesAccepted} accepted (all nodes)`,
    ],
    ["refused from peers", renderCodes(summary.rejected)],
    ["own emits declined", renderCodes(summary.declined)],
  ];
  const ledger = summary.ledger;
  if (ledger !== undefined) {
    rows.push([
      "ledger",
      `supply ${ledger.supply} · burned ${ledger.burned} · escrows held ${ledger.escrowsHeld} · ` +
      `${ledger.nodesAgreeing}/${summary.nodes} nodes agree`,
    ]);
  }
  if (summary.keptDataDir !== undefined) {
    rows.push(["kept for inspection", `${summary.keptDataDir} (node logs, audit logs)`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return [
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`),
    `finalised: ${summary.finalised}/${summary.needs}`,
  ]
    .join("\n");
}

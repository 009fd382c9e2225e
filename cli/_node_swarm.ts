/**
 * The protocol workload of a `run node` process: its flags, this node's
 * decide log (Deno KV in the data directory, or etcd), content store and
 * audit log, and the swarm node actors on the node's actor system, playing
 * the roles and deciding the bucket share it was given.
 *
 * @module
 */

import type { ActorSystem } from "../runtime/system.ts";
import type { DecideLog } from "../runtime/store/decide_log.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import { DenoKvStore } from "../runtime/store/deno_kv_store.ts";
import { StoreDecideLog } from "../runtime/store/store_decide_log.ts";
import { FileContentStore } from "../runtime/store/file_content_store.ts";
import { FileFrameLogDirectory } from "../runtime/store/file_frame_log.ts";
import { SignedAuditLog } from "../protocols/audit/mod.ts";
import {
  type Identity,
  publicKeyFromDidKey,
  type SignatureVerifier,
} from "../protocols/identity/mod.ts";
import { SWARM_PARAMS_DEFAULT, swarmParams } from "../protocols/params.ts";
import type { DeciderStats } from "../actors/decider.ts";
import type { VerifierStats } from "../actors/verifier.ts";
import type { RetentionStats, RetentionTarget } from "../actors/retention_sweeper.ts";
import {
  SWARM_NODE_SUPERVISION,
  swarmNode,
  type SwarmNodeMessage,
  type SwarmNodeRefs,
} from "../actors/swarm_node.ts";
import { choiceFlag, type FlagSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";
import { connectEtcd, POLICY_NONE } from "./local_swarm.ts";
import type { CryptoThread } from "../runtime/crypto_thread.ts";
import { loadBasePolicy } from "./_node_policy.ts";
import {
  checkSelf,
  didsWithRole,
  parseBuckets,
  parseRoles,
  SWARM_ROLES,
  type SwarmMember,
  type SwarmRole,
} from "./_swarm_members.ts";

/** Where the node core lives in a node's actor tree (peers address sync replies to it). */
export const SWARM_CORE_PATH = "/user/node/core";

/**
 * Thread logs a node's audit log keeps open. A node sees every NEED of the
 * swarm in flight (hundreds at once), and a log closed under the bound is
 * reopened at its thread's next envelope. Deno raises the soft descriptor
 * limit to the hard one when it starts (4,096 or more on current Linux), and
 * `run node` is one node per process; in-process swarms keep the audit log's
 * smaller default per node.
 */
export const NODE_AUDIT_OPEN_LOGS = 1_024;

/** Default `--data-retention-ms`: 7 days. */
export const DATA_RETENTION_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000;
/** The shortest `--data-retention-ms` but 0: an artifact must outlive the checks and fetches of its result. */
const DATA_RETENTION_MS_MIN = 60 * 60 * 1000;
/** The longest `--data-retention-ms`: 10 years. */
const DATA_RETENTION_MS_MAX = 3_650 * 24 * 60 * 60 * 1000;

/** Flags of the protocol workload of `run node`. */
export const SWARM_FLAGS: Readonly<Record<string, FlagSpec>> = {
  http: {
    type: "string",
    value: "PORT",
    description: "swarm: serve /health and /needs on 127.0.0.1:PORT (0 = a free port)",
    default: "8080",
  },
  "no-http": { type: "boolean", description: "swarm: serve no HTTP API" },
  admin: {
    type: "boolean",
    description: "swarm: also serve /admin/partition (block peers: partition tests)",
  },
  consensus: {
    type: "string",
    value: "NAME",
    description:
      "swarm: decide log: kv (Deno KV in the data dir), etcd (CP), or ap (a replica per node)",
    default: "kv",
  },
  etcd: {
    type: "string",
    value: "URLS",
    description: "swarm: etcd client URLs, comma-separated",
    default: "http://127.0.0.1:2379",
  },
  members: {
    type: "string",
    value: "FILE",
    description: "swarm: the members file (node ids, DIDs, roles) every node of the swarm shares",
    default: "this node alone",
  },
  roles: {
    type: "string",
    value: "LIST",
    description: `swarm: roles this node plays: all, or some of ${
      SWARM_ROLES.join(",")
    } (with --members: its entry's)`,
    default: "all",
  },
  buckets: {
    type: "string",
    value: "SPEC",
    description: "swarm: decide buckets this node owns: all, none, I/N (share I of N), or 0-63,…",
    default: "all",
  },
  "challenge-window-ms": {
    type: "string",
    value: "MS",
    description: "swarm: challenge window before FINALIZE",
    default: "2000",
  },
  policy: {
    type: "string",
    value: "on|off",
    description: "swarm: run the Cedar policy gates",
    default: "on",
  },
  "capsule-authors": {
    type: "string",
    value: "DIDS",
    description: "swarm: DIDs whose signed policy capsules this node installs (comma-separated)",
  },
  "decide-retention-ms": {
    type: "string",
    value: "MS",
    description:
      "swarm: how long past a NEED's deadline the decide log keeps its decision and leases " +
      "(more than the clock skew between nodes)",
    default: String(SWARM_PARAMS_DEFAULT.decideRetentionMs),
  },
  "data-retention-ms": {
    type: "string",
    value: "MS",
    description:
      "swarm: how long audit logs and artifacts are kept after their last write, at least 1 h " +
      "(0 keeps them for good)",
    default: String(DATA_RETENTION_MS_DEFAULT),
  },
  "open-max": {
    type: "string",
    value: "N",
    description:
      "swarm: most of this node's posted NEEDs open in the swarm at once; later posts wait in line",
    default: "256",
  },
};

/** The longest `--decide-retention-ms`: 30 days. */
const RETENTION_MS_MAX = 30 * 24 * 60 * 60 * 1000;

/** The protocol workload's settings, read from the flags. */
export interface SwarmSettings {
  /** HTTP port; undefined serves no API. */
  readonly httpPort: number | undefined;
  readonly admin: boolean;
  readonly consensus: "kv" | "etcd" | "ap";
  readonly etcdEndpoints: readonly string[];
  readonly membersPath: string | undefined;
  readonly roles: readonly SwarmRole[];
  /** Whether `--roles` was given (else the roles are the members file's, or all). */
  readonly rolesGiven: boolean;
  readonly buckets: readonly number[];
  /** Whether `--buckets` was given (else the members file's, or all). */
  readonly bucketsGiven: boolean;
  readonly challengeWindowMs: number;
  /** How long past a NEED's deadline its decide-log records are kept (`decideRetentionMs`). */
  readonly decideRetentionMs: number;
  /** How long audit logs and artifacts are kept after their last write; 0 keeps them. */
  readonly dataRetentionMs: number;
  /** Run the Cedar policy gates. */
  readonly policy: boolean;
  /** DIDs whose capsules the node installs. */
  readonly capsuleAuthors: readonly string[];
  /** Most of the node's posted NEEDs open at once. */
  readonly openMax: number;
}

/** Reads and checks the workload flags. */
export function swarmSettings(flags: ParsedFlags): SwarmSettings {
  const string = (name: string, fallback: string) =>
    typeof flags[name] === "string" ? flags[name] as string : fallback;
  return {
    httpPort: flags["no-http"] === true ? undefined : integerFlag(flags, "http", 8080, 0, 65_535),
    admin: flags.admin === true,
    consensus: choiceFlag(flags, "consensus", ["kv", "etcd", "ap"] as const, "kv"),
    etcdEndpoints: string("etcd", "http://127.0.0.1:2379").split(",").map((url) => url.trim()),
    membersPath: typeof flags.members === "string" ? flags.members : undefined,
    roles: usage(() => parseRoles(string("roles", "all"))),
    rolesGiven: typeof flags.roles === "string",
    buckets: usage(() => parseBuckets(string("buckets", "all"))),
    bucketsGiven: typeof flags.buckets === "string",
    challengeWindowMs: integerFlag(flags, "challenge-window-ms", 2_000, 0, 3_600_000),
    decideRetentionMs: integerFlag(
      flags,
      "decide-retention-ms",
      SWARM_PARAMS_DEFAULT.decideRetentionMs,
      SWARM_PARAMS_DEFAULT.needExpiryGraceMs,
      RETENTION_MS_MAX,
    ),
    dataRetentionMs: dataRetentionFlag(flags),
    policy: choiceFlag(flags, "policy", ["on", "off"] as const, "on") === "on",
    capsuleAuthors: usage(() => parseDids(string("capsule-authors", ""))),
    openMax: integerFlag(flags, "open-max", 256, 1, 1_000_000),
  };
}

/**
 * The settings with this node's roles as the members file lists them: the
 * file is what every other node assumes (committees, preferred planners and
 * workers), so a node plays exactly its listed roles. Without `--roles` they
 * are taken from the file; a `--roles` that disagrees with it is refused.
 * The same goes for the buckets, when the file lists them.
 *
 * @throws {UsageError} naming both role lists.
 */
export function withMemberRoles(
  settings: SwarmSettings,
  members: readonly SwarmMember[],
  nodeId: string,
): SwarmSettings {
  const member = members.find((entry) => entry.node === nodeId);
  if (member?.buckets !== undefined && !settings.bucketsGiven) {
    settings = { ...settings, buckets: usage(() => parseBuckets(member.buckets as string)) };
  }
  const listed = member?.roles;
  if (listed === undefined) return settings;
  if (!settings.rolesGiven) return { ...settings, roles: listed };
  if (listed.join(",") !== settings.roles.join(",")) {
    throw new UsageError(
      `--roles ${settings.roles.join(",")} disagrees with the members file, which lists ` +
        `${nodeId} as ${listed.join(",") || "no roles"}; leave out --roles to take the file's`,
    );
  }
  return settings;
}

/** A comma-separated list of `did:key`s (empty for none); throws for one that is not. */
function parseDids(text: string): string[] {
  const dids = text.split(",").map((did) => did.trim()).filter((did) => did !== "");
  for (const did of dids) publicKeyFromDidKey(did);
  return dids;
}

/** `--data-retention-ms`: 0, or a time within bounds. */
function dataRetentionFlag(flags: ParsedFlags): number {
  const value = integerFlag(
    flags,
    "data-retention-ms",
    DATA_RETENTION_MS_DEFAULT,
    0,
    DATA_RETENTION_MS_MAX,
  );
  if (value !== 0 && value < DATA_RETENTION_MS_MIN) {
    throw new UsageError(
      `--data-retention-ms must be 0 (keep for good) or at least ${DATA_RETENTION_MS_MIN}, got ${value}`,
    );
  }
  return value;
}

/** Runs a flag parser, turning its error into a usage error (exit code 2). */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** What a node's protocol workload runs on. */
export interface NodeSwarmOptions {
  readonly nodeId: string;
  readonly dataDir: string;
  readonly identity: Identity;
  readonly settings: SwarmSettings;
  /** The swarm's members; undefined: this node alone, in every role. */
  readonly members?: readonly SwarmMember[];
  /** Content store; default files in the data directory. */
  readonly cas?: ContentStore;
  /** The verifier's waits before rechecking a commit whose artifact was out of reach. */
  readonly artifactRecheckMs?: readonly number[];
  /** Shared with the transport's ingress, so each signature is verified once. */
  readonly signatureVerifier?: SignatureVerifier;
  /** The decide log when the caller opened it (AP mode); else from `settings.consensus`. */
  readonly decideLog?: DecideLog;
  /** Where the node's signatures are made; default inline, on the main thread. */
  readonly cryptoThread?: CryptoThread;
}

/** A running protocol workload. */
export interface NodeSwarm {
  readonly refs: SwarmNodeRefs;
  readonly did: string;
  readonly deciderStats: DeciderStats;
  readonly verifierStats: VerifierStats;
  /** Undefined when the node keeps its files for good (`--data-retention-ms 0`). */
  readonly retentionStats: RetentionStats | undefined;
  close(): Promise<void>;
}

/** Opens the node's adapters and spawns the swarm node actors. */
export async function startNodeSwarm(
  system: ActorSystem,
  options: NodeSwarmOptions,
): Promise<NodeSwarm> {
  const { settings, nodeId } = options;
  // Envelopes and audit records are signed on the crypto thread, beside the actors.
  const identity = options.cryptoThread === undefined
    ? options.identity
    : await options.identity.offloaded(options.cryptoThread);
  const members = options.members ??
    [{ node: nodeId, did: identity.did, roles: settings.roles }];
  checkSelf(members, nodeId, identity.did);
  const decideLog: DecideLog = options.decideLog ??
    (settings.consensus === "etcd"
      ? await connectEtcd(settings.etcdEndpoints)
      : new StoreDecideLog(await DenoKvStore.open(`${options.dataDir}/decide.kv`), true));
  const audit = new SignedAuditLog(
    await FileFrameLogDirectory.open(`${options.dataDir}/audit`),
    identity,
    { openThreadsMax: NODE_AUDIT_OPEN_LOGS },
  );
  const ownCas = options.cas === undefined
    ? await FileContentStore.open(`${options.dataDir}/cas`)
    : undefined;
  const cas = options.cas ?? ownCas as ContentStore;
  const retentionTargets: RetentionTarget[] = [{ name: "audit", store: audit }];
  if (ownCas !== undefined) retentionTargets.push({ name: "cas", store: ownCas });
  const policy = settings.policy ? await loadBasePolicy() : undefined;
  const deciderStats: DeciderStats = { decided: 0, conflicts: 0, failures: 0 };
  const verifierStats: VerifierStats = { attested: 0, compared: 0, divergences: 0 };
  const retentionStats: RetentionStats = { examined: 0, removed: 0, passes: 0, failures: 0 };
  const plays = (role: SwarmRole) => settings.roles.includes(role);
  const parent = system.spawn<SwarmNodeMessage>(() =>
    swarmNode({
      nodeId,
      identity,
      roles: {
        planner: plays("planner"),
        verifier: plays("verifier"),
        worker: plays("worker"),
        requester: plays("requester"),
        challenger: plays("challenger"),
        deciderBuckets: settings.buckets,
      },
      verifiers: didsWithRole(members, "verifier"),
      workers: didsWithRole(members, "worker"),
      planners: didsWithRole(members, "planner"),
      // Every node must run the same economy: every member, with default metadata.
      participants: members.map((member) => ({ did: member.did })),
      decideLog,
      cas,
      params: swarmParams({
        challengeWindowMs: settings.challengeWindowMs,
        decideRetentionMs: settings.decideRetentionMs,
      }),
      policyHash: policy?.capsuleHash ?? POLICY_NONE,
      policy: policy?.gates(),
      capsules: policy === undefined
        ? undefined
        : { runtime: policy.runtime, trustedAuthors: settings.capsuleAuthors },
      audit,
      signatureVerifier: options.signatureVerifier,
      deciderStats,
      verifierStats,
      artifactRecheckMs: options.artifactRecheckMs,
      decideMode: settings.consensus === "ap" ? "ap" : "cp",
      requesterOpenMax: settings.openMax,
      retention: settings.dataRetentionMs === 0 ? undefined : {
        retentionMs: settings.dataRetentionMs,
        targets: retentionTargets,
        stats: retentionStats,
      },
    }), { name: "node", supervision: SWARM_NODE_SUPERVISION });
  const refs = await system.ask<SwarmNodeMessage, SwarmNodeRefs>(
    parent,
    (replyTo) => ({ type: "refs", replyTo }),
  );
  if (refs.core.address.path !== SWARM_CORE_PATH) {
    throw new Error(`The node core lives at ${refs.core.address.path}, not ${SWARM_CORE_PATH}`);
  }
  return {
    refs,
    did: identity.did,
    deciderStats,
    verifierStats,
    retentionStats: settings.dataRetentionMs === 0 ? undefined : retentionStats,
    close: async () => {
      await audit.close();
      await decideLog.close();
    },
  };
}

/**
 * Builds realistic recorded threads for replay benchmarks and tests: a
 * node and a few peers exchange NEED → PROPOSE → ATTEST_PLAN → DECIDE →
 * CLAIM → COMMIT → ATTEST → FINALIZE envelopes on one thread, and the node
 * audits everything it publishes and delivers. Deterministic: simulation
 * identities, seeded nonces, a counting clock.
 *
 * @module
 */

import { SignedAuditLog } from "../../protocols/audit/audit_log.ts";
import { EnvelopeSigner } from "../../protocols/envelope/create.ts";
import { LamportClock } from "../../protocols/envelope/lamport.ts";
import type { SignedEnvelope } from "../../protocols/envelope/types.ts";
import type { Verb } from "../../protocols/envelope/verbs.ts";
import { type Identity, simulationIdentity } from "../../protocols/identity/identity.ts";
import type { FrameLogDirectory } from "../../runtime/store/frame_log.ts";
import { MemoryStore } from "../../runtime/store/memory_store.ts";
import { SeededRandom } from "../../sim/seeded_random.ts";

/** The policy hash every fixture envelope carries. */
export const FIXTURE_POLICY = "sha256:" + "ab".repeat(32);

/** Options of {@linkcode writeAuditThread}. */
export interface AuditThreadOptions {
  /** Where the log goes. */
  readonly directory: FrameLogDirectory;
  readonly thread?: string;
  /** Records to write. */
  readonly events: number;
  /** Peers besides the logging node. */
  readonly peers?: number;
  readonly seed?: number;
}

/** What was written. */
export interface AuditThread {
  readonly node: Identity;
  readonly thread: string;
  readonly envelopes: SignedEnvelope[];
  readonly log: SignedAuditLog;
}

const LIFECYCLE: readonly Verb[] = [
  "NEED",
  "PROPOSE",
  "ATTEST_PLAN",
  "DECIDE",
  "CLAIM",
  "HEARTBEAT",
  "COMMIT",
  "ATTEST",
  "FINALIZE",
];

/**
 * Writes `events` audit records for one thread: the node publishes every
 * third envelope and has the others delivered from its peers. Each
 * lifecycle round uses a fresh need id, so there is one DECIDE per NEED.
 */
export async function writeAuditThread(options: AuditThreadOptions): Promise<AuditThread> {
  const seed = options.seed ?? 1;
  const thread = options.thread ?? "thread-fixture";
  const peerCount = options.peers ?? 3;
  const participants = await Promise.all(
    Array.from({ length: peerCount + 1 }, async (_, index) => {
      const identity = await simulationIdentity(seed, `node-${index}`);
      const clock = await LamportClock.open(new MemoryStore());
      return { identity, clock, signer: new EnvelopeSigner(identity, clock) };
    }),
  );
  const node = participants[0];
  const log = new SignedAuditLog(options.directory, node.identity);
  const random = new SeededRandom(seed);
  let nowNs = 1_700_000_000_000_000_000n;
  const entropy = { now: () => (nowNs += 1_000_000n), randomBytes: (n: number) => random.bytes(n) };
  const envelopes: SignedEnvelope[] = [];
  let peerTurn = 0;
  for (let index = 0; index < options.events; index++) {
    const sender = participants[index % 3 === 0 ? 0 : 1 + (peerTurn++ % peerCount)];
    const kind = LIFECYCLE[index % LIFECYCLE.length];
    const round = Math.floor(index / LIFECYCLE.length);
    const envelope = await sender.signer.sign({
      kind,
      thread,
      payload: payloadFor(kind, round),
      policy: FIXTURE_POLICY,
      ...(kind === "DECIDE" ? { epoch: 1 } : {}),
    }, entropy);
    if (sender !== node) await node.clock.observe(envelope.lamport);
    await log.append(envelope, sender === node ? "out" : "in");
    envelopes.push(envelope);
  }
  return { node: node.identity, thread, envelopes, log };
}

function payloadFor(kind: Verb, round: number): Record<string, string | number> {
  const needId = `need-${round}`;
  switch (kind) {
    case "NEED":
      return { needId, budget: 100, bounty: 10, deadlineMs: 3_600_000 };
    case "PROPOSE":
    case "ATTEST_PLAN":
      return { needId, proposalId: `proposal-${round}`, verdict: "approve", cost: 5 };
    case "DECIDE":
      return { needId, proposalId: `proposal-${round}`, epoch: 1, kPlan: 1 };
    default:
      return { task_id: `task-${round}`, commit_id: `commit-${round}`, lease_ttl: 60_000 };
  }
}

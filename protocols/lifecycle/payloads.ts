/**
 * Payloads of the coordination verbs (DESIGN.md §5) and their validation.
 * Every payload that arrives from a peer goes through {@linkcode parsePayload}
 * before the lifecycle looks at it; anything malformed is refused with
 * `E_PAYLOAD` and the field that is wrong.
 *
 * @module
 */

import type { DecideRecord } from "../../runtime/store/decide_log.ts";
import type { BountyClass, ProofType } from "../economics/params.ts";
import {
  CHALLENGE_VERDICTS,
  type Field,
  FIELD_CHECKS,
  PAYLOAD_LIST_MAX,
  PAYLOAD_STRING_MAX,
  payloadError,
} from "./_fields.ts";
import { ProtocolError } from "./errors.ts";

export { CHALLENGE_VERDICTS, PAYLOAD_LIST_MAX, PAYLOAD_STRING_MAX };

/** A unit of deterministic work, re-executable by verifiers. */
export interface TaskSpec {
  /** Operation name from the work catalogue (`protocols/work.ts`). */
  readonly op: string;
  readonly input: string;
  /** Repetitions or size knobs of the operation. */
  readonly rounds: number;
}

/** A plan operation carried by PROPOSE and UPDATE_PLAN. */
export type PatchOp =
  | { readonly op: "ADD_TASK"; readonly taskId: string; readonly spec: TaskSpec }
  | { readonly op: "REQUIRES"; readonly taskId: string; readonly dependsOn: string };

/** Resource telemetry reported with a COMMIT. */
export interface Telemetry {
  readonly costUnits: number;
  readonly timeMs: number;
  readonly memoryBytes: number;
}

/** NEED: a requester asks for work and escrows a bounty. */
export interface NeedPayload {
  readonly needId: string;
  readonly epoch: number;
  readonly requires: readonly string[];
  readonly produces: readonly string[];
  readonly budget: number;
  readonly bounty: number;
  /** Absolute node time (ms) after which the NEED expires. */
  readonly deadlineMs: number;
  readonly task: TaskSpec;
  /** Caps the bounty and scales challenge bonds; default SIMPLE. */
  readonly bountyClass?: BountyClass;
  /** The plan committee, pinned by the requester's node at posting. */
  readonly committee?: readonly string[];
}

/** PROPOSE: a planner's plan for a NEED. */
export interface ProposePayload {
  readonly needId: string;
  readonly proposalId: string;
  readonly ballot: number;
  readonly patch: readonly PatchOp[];
  readonly cost: number;
  readonly etaMs: number;
  readonly shardDependencies: readonly number[];
}

/** ATTEST_PLAN: a verifier's vote on a proposal. */
export interface AttestPlanPayload {
  readonly needId: string;
  readonly proposalId: string;
  readonly verdict: "approve" | "reject";
}

/** DECIDE: the decision written through the decide log, with the approvers that carried it. */
export interface DecidePayload extends DecideRecord {
  readonly approvers: readonly string[];
  /** The result committee of the NEED's tasks, pinned by the decider. */
  readonly committee?: readonly string[];
}

/** CLAIM: a worker took a lease on a task (the lease is already in the decide log). */
export interface ClaimPayload {
  readonly needId: string;
  readonly taskId: string;
  readonly leaseId: string;
  readonly leaseTtlMs: number;
  readonly grantedAtMs: number;
  readonly cost: number;
  readonly etaMs: number;
  readonly heartbeatIntervalMs: number;
  /**
   * The lease this one follows on the task: the newest the worker's node had
   * seen (ended) when it bid; absent for the task's first lease. A node
   * applies the CLAIM only once it has seen that lease, so every node takes
   * a task's leases in the order the decide log granted them.
   */
  readonly after?: string;
}

/** HEARTBEAT: the holder extends its lease. */
export interface HeartbeatPayload {
  readonly needId: string;
  readonly taskId: string;
  readonly leaseId: string;
  readonly expiresAtMs: number;
}

/** YIELD (by the holder) and RELEASE (by a lease monitor): the task returns to DRAFT. */
export interface LeaseEndPayload {
  readonly needId: string;
  readonly taskId: string;
  readonly leaseId: string;
  readonly reason: string;
}

/** COMMIT: a worker's result; its id is the envelope id. */
export interface CommitPayload {
  readonly needId: string;
  readonly taskId: string;
  readonly leaseId: string;
  readonly artifacts: readonly string[];
  readonly outputDigest: string;
  readonly verifyBounty: number;
  readonly telemetry: Telemetry;
}

/** ATTEST: a verifier's verdict on a commit. */
export interface AttestPayload {
  readonly needId: string;
  readonly taskId: string;
  readonly commitId: string;
  readonly verdict: "pass" | "fail";
  readonly evalDigest: string;
}

/** FINALIZE: the result stands after the challenge window. */
export interface FinalizePayload {
  readonly needId: string;
  readonly taskId: string;
  readonly commitId: string;
  readonly attesters: readonly string[];
  readonly kResult: number;
}

/** CHALLENGE: a bonded claim that a commit is wrong, with typed proof (or its withdrawal). */
export interface ChallengePayload {
  readonly needId: string;
  readonly taskId: string;
  readonly commitId: string;
  readonly proofType: ProofType;
  /** CID of the evidence in the content store. */
  readonly evidence: string;
  /** Size of the evidence, at most the evidence limit (10 KB by default). */
  readonly evidenceBytes: number;
  /** Bond in credits: the proof type's base bond × the NEED's complexity multiplier. */
  readonly bond: number;
  /** When present, this message withdraws the challenge with this id (the challenger's own). */
  readonly withdraws?: string;
}

/** How a challenge was resolved. */
export type ChallengeVerdict = typeof CHALLENGE_VERDICTS[number];

/** A stake slashed by an upheld challenge, in micro-credits. */
export interface SlashPayload {
  readonly account: string;
  readonly amount: number;
}

/**
 * INVALIDATE of a challenge: the decider's resolution. UPHELD invalidates
 * the commit (the task reopens for a larger committee); any other verdict
 * invalidates the challenge.
 */
export interface InvalidateChallengePayload {
  readonly target: "CHALLENGE";
  readonly needId: string;
  readonly taskId: string;
  readonly commitId: string;
  readonly challengeId: string;
  readonly verdict: ChallengeVerdict;
  /** Why (an error code for REFUSED and REJECTED, `OK` for UPHELD). */
  readonly code: string;
  /** Severity 0..10 of a policy breach. */
  readonly severity: number;
  /** K_result for the reopened task (UPHELD), else the task's current K_result. */
  readonly kResult: number;
  /** The reopened task's committee (UPHELD), else empty. */
  readonly committee: readonly string[];
  /** The commit's approvals as the decider saw them (a rejected bond pays them and the worker). */
  readonly attesters: readonly string[];
  /** The commit's rejections as the decider saw them (they share the honest part of a slash). */
  readonly dissenters: readonly string[];
  /** Stake slashed from the attesters (and a policy-breaching worker). */
  readonly slashes: readonly SlashPayload[];
  /** The challenger's reward, micro-credits. */
  readonly reward: number;
}

/** INVALIDATE of a NEED: its deadline passed before it was final; its escrow is refunded. */
export interface InvalidateNeedPayload {
  readonly target: "NEED";
  readonly needId: string;
  readonly code: string;
}

/** INVALIDATE: a decider's ruling on a challenge or on a lapsed NEED. */
export type InvalidatePayload = InvalidateChallengePayload | InvalidateNeedPayload;

/** UPDATE_PLAN: more plan operations for a decided NEED. */
export interface UpdatePlanPayload {
  readonly needId: string;
  readonly patch: readonly PatchOp[];
}

/**
 * One task leased on both sides of a partition (AP mode): the merge of the
 * decide log kept one lease and dropped the other.
 */
export interface LeaseDrop {
  readonly needId: string;
  readonly taskId: string;
  /** The lease the merged log holds. */
  readonly kept: string;
  /** The lease it dropped: its work is set aside on every node that holds it. */
  readonly dropped: string;
}

/**
 * RECONCILE: a partition healed; the epoch moves on. `orphaned` names the
 * NEEDs decided differently on two sides; `leases`, the tasks leased on
 * both (AP mode).
 */
export interface ReconcilePayload {
  readonly fromEpoch: number;
  readonly toEpoch: number;
  readonly orphaned: readonly string[];
  readonly leases?: readonly LeaseDrop[];
}

/** A message the lifecycle accepts: an opened envelope's essentials. */
export interface LifecycleMessage<V extends LifecycleVerb = LifecycleVerb> {
  /** Content id of the envelope (COMMIT ids are envelope ids). */
  readonly id: string;
  readonly kind: V;
  readonly thread: string;
  /** DID of the signer. */
  readonly sender: string;
  readonly lamport: number;
  readonly payload: PayloadOf[V];
  /**
   * Set only on a message replayed from a peer's archive (a sync reply), not
   * received live: when its sender made it (the envelope's signing time, ms).
   * Lease checks judge such a message as of then (`leaseLapsed`): this node
   * was not there when it happened, and a restarted node would otherwise
   * refuse every COMMIT whose lease ran out while it was away.
   */
  readonly replayedMadeAtMs?: number;
}

/** Payload type by verb. */
export interface PayloadOf {
  NEED: NeedPayload;
  PROPOSE: ProposePayload;
  ATTEST_PLAN: AttestPlanPayload;
  DECIDE: DecidePayload;
  CLAIM: ClaimPayload;
  HEARTBEAT: HeartbeatPayload;
  YIELD: LeaseEndPayload;
  RELEASE: LeaseEndPayload;
  COMMIT: CommitPayload;
  ATTEST: AttestPayload;
  FINALIZE: FinalizePayload;
  CHALLENGE: ChallengePayload;
  INVALIDATE: InvalidatePayload;
  UPDATE_PLAN: UpdatePlanPayload;
  RECONCILE: ReconcilePayload;
}

/** The verbs the lifecycle handles. */
export type LifecycleVerb = keyof PayloadOf;

type Schema = Readonly<Record<string, Field>>;

const SCHEMAS: { readonly [V in LifecycleVerb]: Schema } = {
  NEED: {
    needId: "string",
    epoch: "integer",
    requires: "strings",
    produces: "strings",
    budget: "number",
    bounty: "number",
    deadlineMs: "number",
    task: "spec",
  },
  PROPOSE: {
    needId: "string",
    proposalId: "string",
    ballot: "integer",
    patch: "patch",
    cost: "number",
    etaMs: "number",
    shardDependencies: "integers",
  },
  ATTEST_PLAN: { needId: "string", proposalId: "string", verdict: "planVerdict" },
  DECIDE: {
    needId: "string",
    proposalId: "string",
    epoch: "integer",
    lamport: "integer",
    kPlan: "integer",
    decider: "string",
    fence: "integer",
    decidedAtMs: "number",
    approvers: "strings",
  },
  CLAIM: {
    needId: "string",
    taskId: "string",
    leaseId: "string",
    leaseTtlMs: "number",
    grantedAtMs: "number",
    cost: "number",
    etaMs: "number",
    heartbeatIntervalMs: "number",
  },
  HEARTBEAT: { needId: "string", taskId: "string", leaseId: "string", expiresAtMs: "number" },
  YIELD: { needId: "string", taskId: "string", leaseId: "string", reason: "string" },
  RELEASE: { needId: "string", taskId: "string", leaseId: "string", reason: "string" },
  COMMIT: {
    needId: "string",
    taskId: "string",
    leaseId: "string",
    artifacts: "strings",
    outputDigest: "string",
    verifyBounty: "number",
    telemetry: "telemetry",
  },
  ATTEST: {
    needId: "string",
    taskId: "string",
    commitId: "string",
    verdict: "resultVerdict",
    evalDigest: "string",
  },
  FINALIZE: {
    needId: "string",
    taskId: "string",
    commitId: "string",
    attesters: "strings",
    kResult: "integer",
  },
  CHALLENGE: {
    needId: "string",
    taskId: "string",
    commitId: "string",
    proofType: "proofType",
    evidence: "string",
    evidenceBytes: "integer",
    bond: "number",
  },
  INVALIDATE: { target: "invalidateTarget", needId: "string", code: "string" },
  UPDATE_PLAN: { needId: "string", patch: "patch" },
  RECONCILE: { fromEpoch: "integer", toEpoch: "integer", orphaned: "strings" },
};

/** Fields a payload may leave out. */
const OPTIONAL: { readonly [V in LifecycleVerb]?: Schema } = {
  NEED: { bountyClass: "bountyClass", committee: "strings" },
  DECIDE: { committee: "strings" },
  CLAIM: { after: "string" },
  CHALLENGE: { withdraws: "string" },
  RECONCILE: { leases: "leaseDrops" },
};

/** INVALIDATE of a challenge carries the resolution on top of the common fields. */
const INVALIDATE_CHALLENGE: Schema = {
  ...SCHEMAS.INVALIDATE,
  taskId: "string",
  commitId: "string",
  challengeId: "string",
  verdict: "challengeVerdict",
  severity: "integer",
  kResult: "integer",
  committee: "strings",
  attesters: "strings",
  dissenters: "strings",
  slashes: "slashes",
  reward: "integer",
};

/** Whether `kind` is a verb this module validates. */
export function isLifecycleVerb(kind: string): kind is LifecycleVerb {
  return Object.hasOwn(SCHEMAS, kind);
}

/**
 * Checks a payload against its verb's schema: every required field present
 * with the right type, optional fields typed when present, no extra fields,
 * bounded lists and strings.
 */
export function parsePayload<V extends LifecycleVerb>(kind: V, payload: unknown): PayloadOf[V] {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw payloadError(kind, "payload", "an object", payload);
  }
  const record = payload as Record<string, unknown>;
  const schema = kind === "INVALIDATE" && record.target === "CHALLENGE"
    ? INVALIDATE_CHALLENGE
    : SCHEMAS[kind];
  const optional: Schema = OPTIONAL[kind] ?? {};
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(schema, key) && !Object.hasOwn(optional, key)) {
      throw new ProtocolError("E_PAYLOAD", `${kind} payload has an unknown field ${key}`);
    }
  }
  for (const [key, field] of Object.entries(schema)) checkField(kind, key, field, record[key]);
  for (const [key, field] of Object.entries(optional)) {
    if (record[key] !== undefined) checkField(kind, key, field, record[key]);
  }
  return payload as PayloadOf[V];
}

function checkField(kind: string, key: string, field: Field, value: unknown): void {
  const ok = FIELD_CHECKS[field](value);
  if (ok !== true) throw payloadError(kind, key, ok, value);
}

/**
 * Payloads of the coordination verbs (DESIGN.md §5) and their validation.
 * Every payload that arrives from a peer goes through {@linkcode parsePayload}
 * before the lifecycle looks at it; anything malformed is refused with
 * `E_PAYLOAD` and the field that is wrong.
 *
 * @module
 */

import type { DecideRecord } from "../../runtime/store/decide_log.ts";
import { ProtocolError } from "./errors.ts";

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

/** UPDATE_PLAN: more plan operations for a decided NEED. */
export interface UpdatePlanPayload {
  readonly needId: string;
  readonly patch: readonly PatchOp[];
}

/** RECONCILE: a partition healed; the epoch moves on. */
export interface ReconcilePayload {
  readonly fromEpoch: number;
  readonly toEpoch: number;
  readonly orphaned: readonly string[];
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
  UPDATE_PLAN: UpdatePlanPayload;
  RECONCILE: ReconcilePayload;
}

/** The verbs the lifecycle handles. */
export type LifecycleVerb = keyof PayloadOf;

/** Limits on collections in payloads. */
export const PAYLOAD_LIST_MAX = 256;
/** Longest identifier or string field. */
export const PAYLOAD_STRING_MAX = 4096;

type Field =
  | "string"
  | "number"
  | "integer"
  | "strings"
  | "integers"
  | "spec"
  | "patch"
  | "telemetry"
  | "planVerdict"
  | "resultVerdict";

const SCHEMAS: { readonly [V in LifecycleVerb]: Readonly<Record<string, Field>> } = {
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
  UPDATE_PLAN: { needId: "string", patch: "patch" },
  RECONCILE: { fromEpoch: "integer", toEpoch: "integer", orphaned: "strings" },
};

/** Whether `kind` is a verb this module validates. */
export function isLifecycleVerb(kind: string): kind is LifecycleVerb {
  return Object.hasOwn(SCHEMAS, kind);
}

/**
 * Checks a payload against its verb's schema: every field present with the
 * right type, no extra fields, bounded lists and strings.
 */
export function parsePayload<V extends LifecycleVerb>(kind: V, payload: unknown): PayloadOf[V] {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw payloadError(kind, "payload", "an object", payload);
  }
  const schema = SCHEMAS[kind];
  for (const key of Object.keys(payload)) {
    if (!Object.hasOwn(schema, key)) {
      throw new ProtocolError("E_PAYLOAD", `${kind} payload has an unknown field ${key}`);
    }
  }
  for (const [key, field] of Object.entries(schema)) {
    checkField(kind, key, field, (payload as Record<string, unknown>)[key]);
  }
  return payload as PayloadOf[V];
}

function checkField(kind: string, key: string, field: Field, value: unknown): void {
  const ok = FIELD_CHECKS[field](value);
  if (ok !== true) throw payloadError(kind, key, ok, value);
}

const isString = (value: unknown) =>
  typeof value === "string" && value.length > 0 && value.length <= PAYLOAD_STRING_MAX;
const isNumber = (value: unknown) =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;
const isInteger = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isList = (value: unknown, item: (entry: unknown) => boolean) =>
  Array.isArray(value) && value.length <= PAYLOAD_LIST_MAX && value.every(item);

function isSpec(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const spec = value as Record<string, unknown>;
  return Object.keys(spec).length === 3 && isString(spec.op) && typeof spec.input === "string" &&
    spec.input.length <= PAYLOAD_STRING_MAX && isInteger(spec.rounds) &&
    (spec.rounds as number) <= 1_000_000;
}

function isPatchOp(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const op = value as Record<string, unknown>;
  if (op.op === "ADD_TASK") {
    return Object.keys(op).length === 3 && isString(op.taskId) && isSpec(op.spec);
  }
  if (op.op === "REQUIRES") {
    return Object.keys(op).length === 3 && isString(op.taskId) && isString(op.dependsOn);
  }
  return false;
}

function isTelemetry(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const telemetry = value as Record<string, unknown>;
  return Object.keys(telemetry).length === 3 && isNumber(telemetry.costUnits) &&
    isNumber(telemetry.timeMs) &&
    isNumber(telemetry.memoryBytes);
}

const FIELD_CHECKS: Record<Field, (value: unknown) => true | string> = {
  string: (value) =>
    isString(value) || `a non-empty string of at most ${PAYLOAD_STRING_MAX} characters`,
  number: (value) => isNumber(value) || "a finite number >= 0",
  integer: (value) => isInteger(value) || "an integer >= 0",
  strings: (value) => isList(value, isString) || `a list of at most ${PAYLOAD_LIST_MAX} strings`,
  integers: (value) => isList(value, isInteger) || `a list of at most ${PAYLOAD_LIST_MAX} integers`,
  spec: (value) => isSpec(value) || "a task spec {op, input, rounds}",
  patch: (value) =>
    isList(value, isPatchOp) || `a list of at most ${PAYLOAD_LIST_MAX} plan operations`,
  telemetry: (value) => isTelemetry(value) || "telemetry {costUnits, timeMs, memoryBytes}",
  planVerdict: (value) => value === "approve" || value === "reject" || '"approve" or "reject"',
  resultVerdict: (value) => value === "pass" || value === "fail" || '"pass" or "fail"',
};

function payloadError(kind: string, key: string, expected: string, value: unknown): ProtocolError {
  return new ProtocolError(
    "E_PAYLOAD",
    `${kind} payload field ${key} must be ${expected}, got ${describe(value)}`,
  );
}

/** Names a peer-supplied value without calling anything on it (a hostile toString cannot run). */
function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.slice(0, 40));
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      return String(value);
    case "object":
      if (value === null) return "null";
      return Array.isArray(value) ? `a list of ${value.length}` : "an object";
    default:
      return `a ${typeof value}`;
  }
}

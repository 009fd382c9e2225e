/**
 * The wire of the AP decide service between `run node --consensus ap`
 * processes: the requests a node serves to its peers and how each body is
 * checked. Every field is checked and copied (unknown fields never reach the
 * replica); anything else is refused with an {@linkcode ApRequestError}
 * (`E_AP_REQUEST`), which the server counts and answers, never crashing.
 *
 * Methods (libp2p request/response, `runtime/transport/_rpc.ts`):
 *
 * - `ap-call` `{op, …}`: one decide-log call for a bucket this node is the
 *   home of (decide, get, fence, current-fence, fence-holder, lease,
 *   get-lease, renew, mark, final, release). The reply is `{ok: true, value}` or
 *   `{ok: false, error}`, where a stale epoch or fence keeps its numbers, so
 *   the caller's decider sees the same typed error as with a local log.
 * - `ap-push` (a partial snapshot): records the home just wrote, replicated
 *   to every connected peer; the peer absorbs them.
 * - `ap-sync` `{after}`: one page of this node's replica (epoch, fences, and
 *   decisions and leases after the cursor), for a peer catching up after a
 *   partition or a restart.
 *
 * @module
 */

import { SwarmError } from "../runtime/errors.ts";
import type { WireValue } from "../runtime/wire.ts";
import {
  bucketOf,
  checkBucket,
  checkDecideRecord,
  checkLeaseRecord,
  type DecideRecord,
  DecideRecordError,
  type FenceToken,
  LEASE_ENVELOPE_CHARS_MAX,
  type LeaseRecord,
  StaleEpochError,
  StaleFenceError,
} from "../runtime/store/decide_log.ts";
import type { ReplicaSnapshot } from "../protocols/consensus/ap_replica.ts";

/** The AP request methods. */
export const AP_METHODS = { call: "ap-call", push: "ap-push", sync: "ap-sync" } as const;

/** Records per `ap-sync` page (a page stays far below the transport's frame limit). */
export const AP_SYNC_PAGE = 1_000;
/** Records one `ap-push` may carry. */
export const AP_PUSH_MAX = 1_000;

/** Raised for an AP request that is not well formed (code `E_AP_REQUEST`), or a caller that is not a member (`E_AP_NOT_MEMBER`). */
export class ApRequestError extends SwarmError {
  constructor(message: string, code = "E_AP_REQUEST") {
    super(code, message);
  }
}

/** One decide-log call, as `ap-call` carries it. */
export type ApCall =
  | { readonly op: "decide"; readonly record: DecideRecord }
  | { readonly op: "get"; readonly needId: string }
  | { readonly op: "fence"; readonly bucket: number; readonly holder: string }
  | { readonly op: "current-fence"; readonly bucket: number }
  | { readonly op: "fence-holder"; readonly bucket: number }
  | { readonly op: "lease"; readonly lease: LeaseRecord }
  | { readonly op: "get-lease"; readonly taskId: string }
  | {
    readonly op: "renew";
    readonly taskId: string;
    readonly leaseId: string;
    readonly expiresAtMs: number;
  }
  | {
    readonly op: "mark";
    readonly taskId: string;
    readonly leaseId: string;
    readonly commit: string;
  }
  | { readonly op: "final"; readonly taskId: string; readonly leaseId: string }
  | {
    readonly op: "release";
    readonly taskId: string;
    readonly leaseId: string;
    /** Release a lease that carries a COMMIT too. */
    readonly force?: boolean;
  };

/** A page of a replica, as `ap-sync` answers. */
export interface ApSyncPage extends ReplicaSnapshot {
  /** Cursor of the next page; null on the last. */
  readonly next: string | null;
}

type Fields = Record<string, unknown>;

function object(value: unknown, what: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApRequestError(`${what} must be an object, got ${describe(value)}`);
  }
  return value as Fields;
}

function text(fields: Fields, key: string, what: string): string {
  const value = fields[key];
  if (typeof value !== "string" || value.length === 0 || value.length > 256) {
    throw new ApRequestError(`${what}.${key} must be a string of 1-256 characters`);
  }
  return value;
}

function integer(fields: Fields, key: string, what: string): number {
  const value = fields[key];
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ApRequestError(`${what}.${key} must be an integer >= 0, got ${describe(value)}`);
  }
  return value as number;
}

function finite(fields: Fields, key: string, what: string): number {
  const value = fields[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ApRequestError(`${what}.${key} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

function flag(fields: Fields, key: string, what: string): boolean {
  const value = fields[key];
  if (typeof value !== "boolean") {
    throw new ApRequestError(`${what}.${key} must be true or false, got ${describe(value)}`);
  }
  return value;
}

/** A signed envelope a lease carries (base64), as long as a lease may hold. */
function leaseEnvelope(fields: Fields, key: string, what: string): string {
  const value = fields[key];
  if (typeof value !== "string" || value.length === 0 || value.length > LEASE_ENVELOPE_CHARS_MAX) {
    throw new ApRequestError(
      `${what}.${key} must be a string of 1-${LEASE_ENVELOPE_CHARS_MAX} characters`,
    );
  }
  return value;
}

/** `{ [key]: read() }` when the field is present, else nothing. */
function optional<T>(fields: Fields, key: string, read: () => T): Record<string, T> {
  return fields[key] === undefined ? {} : { [key]: read() };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  return value === null ? "null" : typeof value === "string" ? "a string" : typeof value;
}

/** Runs a record check, turning its error into a request error. */
function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof DecideRecordError) throw new ApRequestError(error.message);
    throw error;
  }
}

/** Reads a decision record (known fields only). */
export function parseDecideRecord(value: unknown): DecideRecord {
  const fields = object(value, "record");
  const record: DecideRecord = {
    needId: text(fields, "needId", "record"),
    proposalId: text(fields, "proposalId", "record"),
    epoch: integer(fields, "epoch", "record"),
    lamport: integer(fields, "lamport", "record"),
    kPlan: integer(fields, "kPlan", "record"),
    decider: text(fields, "decider", "record"),
    fence: integer(fields, "fence", "record"),
    decidedAtMs: finite(fields, "decidedAtMs", "record"),
    ...optional(fields, "retainUntilMs", () => integer(fields, "retainUntilMs", "record")),
  };
  return checked(() => checkDecideRecord(record));
}

/** Reads a lease (known fields only). */
export function parseLease(value: unknown): LeaseRecord {
  const fields = object(value, "lease");
  const lease: LeaseRecord = {
    taskId: text(fields, "taskId", "lease"),
    leaseId: text(fields, "leaseId", "lease"),
    holder: text(fields, "holder", "lease"),
    grantedAtMs: finite(fields, "grantedAtMs", "lease"),
    expiresAtMs: finite(fields, "expiresAtMs", "lease"),
    epoch: integer(fields, "epoch", "lease"),
    ...optional(fields, "needId", () => text(fields, "needId", "lease")),
    // Their type and length are checked with the lease.
    ...optional(fields, "claim", () => fields.claim as string),
    ...optional(fields, "commit", () => fields.commit as string),
    ...optional(fields, "final", () => fields.final as true),
    ...optional(fields, "retainUntilMs", () => integer(fields, "retainUntilMs", "lease")),
  };
  return checked(() => checkLeaseRecord(lease));
}

/** Reads a fence token (a snapshot's, or a `fence-holder` answer). */
export function parseFence(value: unknown): FenceToken {
  const fields = object(value, "fence");
  const bucket = checked(() => checkBucket(integer(fields, "bucket", "fence")));
  return {
    bucket,
    token: integer(fields, "token", "fence"),
    holder: text(fields, "holder", "fence"),
  };
}

function bucketField(fields: Fields): number {
  return checked(() => checkBucket(integer(fields, "bucket", "call")));
}

/** Reads an `ap-call` body. */
export function parseApCall(body: unknown): ApCall {
  const fields = object(body, "call");
  switch (fields.op) {
    case "decide":
      return { op: "decide", record: parseDecideRecord(fields.record) };
    case "get":
      return { op: "get", needId: text(fields, "needId", "call") };
    case "fence":
      return { op: "fence", bucket: bucketField(fields), holder: text(fields, "holder", "call") };
    case "current-fence":
      return { op: "current-fence", bucket: bucketField(fields) };
    case "fence-holder":
      return { op: "fence-holder", bucket: bucketField(fields) };
    case "lease":
      return { op: "lease", lease: parseLease(fields.lease) };
    case "get-lease":
      return { op: "get-lease", taskId: text(fields, "taskId", "call") };
    case "renew":
      return {
        op: "renew",
        taskId: text(fields, "taskId", "call"),
        leaseId: text(fields, "leaseId", "call"),
        expiresAtMs: finite(fields, "expiresAtMs", "call"),
      };
    case "mark":
      return {
        op: "mark",
        taskId: text(fields, "taskId", "call"),
        leaseId: text(fields, "leaseId", "call"),
        commit: leaseEnvelope(fields, "commit", "call"),
      };
    case "final":
      return {
        op: "final",
        taskId: text(fields, "taskId", "call"),
        leaseId: text(fields, "leaseId", "call"),
      };
    case "release":
      return {
        op: "release",
        taskId: text(fields, "taskId", "call"),
        leaseId: text(fields, "leaseId", "call"),
        ...optional(fields, "force", () => flag(fields, "force", "call")),
      };
    default:
      throw new ApRequestError(
        `call.op must be a decide-log operation, got ${describe(fields.op)}`,
      );
  }
}

function list<T>(value: unknown, what: string, max: number, parse: (item: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new ApRequestError(`${what} must be a list`);
  if (value.length > max) {
    throw new ApRequestError(`${what} must hold at most ${max} entries, got ${value.length}`);
  }
  return value.map(parse);
}

/** Reads a snapshot (an `ap-push` body, or an `ap-sync` page). */
export function parseSnapshot(body: unknown, max = AP_PUSH_MAX): ReplicaSnapshot {
  const fields = object(body, "snapshot");
  return {
    epoch: integer(fields, "epoch", "snapshot"),
    fences: list(fields.fences, "snapshot.fences", 256, parseFence),
    decisions: list(fields.decisions, "snapshot.decisions", max, parseDecideRecord),
    leases: list(fields.leases, "snapshot.leases", max, parseLease),
  };
}

/** Reads an `ap-sync` page (a snapshot and its next cursor). */
export function parseSyncPage(body: unknown): ApSyncPage {
  const snapshot = parseSnapshot(body, AP_SYNC_PAGE);
  const next = (body as Fields).next;
  if (next !== null && typeof next !== "string") {
    throw new ApRequestError(`page.next must be a string or null, got ${describe(next)}`);
  }
  return { ...snapshot, next };
}

/** Reads an `ap-sync` body: the cursor after which the page starts. */
export function parseSyncRequest(body: unknown): string | null {
  const after = object(body, "sync").after;
  if (after !== null && (typeof after !== "string" || after.length > 300)) {
    throw new ApRequestError(`sync.after must be a cursor string or null, got ${describe(after)}`);
  }
  return after;
}

/** An error as `ap-call` answers it: stale epochs and fences keep their numbers. */
export function encodeApError(error: unknown): WireValue {
  const code = error instanceof SwarmError ? error.code : "E_AP_FAILED";
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StaleFenceError) {
    return { code, message, bucket: error.bucket, given: error.given, current: error.current };
  }
  if (error instanceof StaleEpochError) {
    return { code, message, given: error.given, current: error.current };
  }
  return { code, message };
}

/** The error an `ap-call` answered, rebuilt as the type a local log would throw. */
export function decodeApError(value: unknown): Error {
  const fields = typeof value === "object" && value !== null ? value as Fields : {};
  const number = (key: string) => Number.isSafeInteger(fields[key]) ? fields[key] as number : -1;
  const message = typeof fields.message === "string" ? fields.message : "no message";
  switch (fields.code) {
    case "E_STALE_FENCE":
      return new StaleFenceError(number("bucket"), number("given"), number("current"));
    case "E_STALE_EPOCH":
      return new StaleEpochError(number("given"), number("current"));
    case "E_DECIDE_RECORD":
      return new DecideRecordError(message);
    default:
      return new ApRequestError(
        `The home node refused the call: ${message}`,
        typeof fields.code === "string" ? fields.code : "E_AP_FAILED",
      );
  }
}

/** The bucket a call is about (its need's, its task's, or the bucket it names). */
export function bucketOfCall(call: ApCall): number {
  switch (call.op) {
    case "decide":
      return bucketOf(call.record.needId);
    case "get":
      return bucketOf(call.needId);
    case "fence":
    case "current-fence":
    case "fence-holder":
      return call.bucket;
    case "lease":
      return bucketOf(call.lease.taskId);
    default:
      return bucketOf(call.taskId);
  }
}

/** One page of a snapshot: the epoch and fences, and decisions then leases after the cursor. */
export function syncPage(snapshot: ReplicaSnapshot, after: string | null): ApSyncPage {
  const entries = [
    ...snapshot.decisions.map((record) => ({ key: `d:${record.needId}`, record })),
    ...snapshot.leases.map((lease) => ({ key: `l:${lease.taskId}`, lease })),
  ].filter((entry) => after === null || entry.key > after)
    .sort((left, right) => left.key < right.key ? -1 : left.key > right.key ? 1 : 0);
  const page = entries.slice(0, AP_SYNC_PAGE);
  return {
    epoch: snapshot.epoch,
    fences: snapshot.fences,
    decisions: page.flatMap((entry) => "record" in entry ? [entry.record] : []),
    leases: page.flatMap((entry) => "lease" in entry ? [entry.lease] : []),
    next: entries.length > AP_SYNC_PAGE ? page[page.length - 1].key : null,
  };
}

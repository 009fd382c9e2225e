/**
 * Field checks of payload validation (private to the lifecycle): each field
 * type is a predicate that answers true or what it expected, and nothing a
 * peer sends is ever called or stringified.
 *
 * @module
 */

import { BOUNTY_CLASSES, PROOF_TYPES } from "../economics/params.ts";
import { ProtocolError } from "./errors.ts";

/** Limits on collections in payloads. */
export const PAYLOAD_LIST_MAX = 256;
/** Longest identifier or string field. */
export const PAYLOAD_STRING_MAX = 4096;

/** Verdicts of a challenge's resolution. */
export const CHALLENGE_VERDICTS = [
  "UPHELD",
  "REJECTED",
  "WITHDRAWN",
  "UNPROVEN",
  "REFUSED",
] as const;

/** The type of one payload field. */
export type Field =
  | "string"
  | "number"
  | "integer"
  | "strings"
  | "integers"
  | "spec"
  | "patch"
  | "telemetry"
  | "planVerdict"
  | "resultVerdict"
  | "bountyClass"
  | "proofType"
  | "challengeVerdict"
  | "slashes"
  | "invalidateTarget"
  | "leaseDrops";

const isString = (value: unknown) =>
  typeof value === "string" && value.length > 0 && value.length <= PAYLOAD_STRING_MAX;
const isNumber = (value: unknown) =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;
const isInteger = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isList = (value: unknown, item: (entry: unknown) => boolean) =>
  Array.isArray(value) && value.length <= PAYLOAD_LIST_MAX && value.every(item);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function isSpec(value: unknown): boolean {
  if (!isRecord(value)) return false;
  return Object.keys(value).length === 3 && isString(value.op) &&
    typeof value.input === "string" && value.input.length <= PAYLOAD_STRING_MAX &&
    isInteger(value.rounds) && (value.rounds as number) <= 1_000_000;
}

function isPatchOp(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (value.op === "ADD_TASK") {
    return Object.keys(value).length === 3 && isString(value.taskId) && isSpec(value.spec);
  }
  if (value.op === "REQUIRES") {
    return Object.keys(value).length === 3 && isString(value.taskId) && isString(value.dependsOn);
  }
  return false;
}

function isTelemetry(value: unknown): boolean {
  if (!isRecord(value)) return false;
  return Object.keys(value).length === 3 && isNumber(value.costUnits) &&
    isNumber(value.timeMs) && isNumber(value.memoryBytes);
}

function isSlash(value: unknown): boolean {
  if (!isRecord(value)) return false;
  return Object.keys(value).length === 2 && isString(value.account) && isInteger(value.amount);
}

function isLeaseDrop(value: unknown): boolean {
  if (!isRecord(value)) return false;
  return Object.keys(value).length === 4 && isString(value.needId) && isString(value.taskId) &&
    isString(value.kept) && isString(value.dropped) && value.kept !== value.dropped;
}

const oneOf = (values: readonly string[]) => (value: unknown) =>
  typeof value === "string" && values.includes(value) ||
  values.map((each) => JSON.stringify(each)).join(" or ");

/** Each field type's check: true, or what was expected. */
export const FIELD_CHECKS: Record<Field, (value: unknown) => true | string> = {
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
  planVerdict: oneOf(["approve", "reject"]),
  resultVerdict: oneOf(["pass", "fail"]),
  bountyClass: oneOf(BOUNTY_CLASSES),
  proofType: oneOf(PROOF_TYPES),
  challengeVerdict: oneOf(CHALLENGE_VERDICTS),
  slashes: (value) =>
    isList(value, isSlash) || `a list of at most ${PAYLOAD_LIST_MAX} {account, amount} slashes`,
  invalidateTarget: oneOf(["CHALLENGE", "NEED"]),
  leaseDrops: (value) =>
    isList(value, isLeaseDrop) ||
    `a list of at most ${PAYLOAD_LIST_MAX} {needId, taskId, kept, dropped} lease drops`,
};

/** `E_PAYLOAD` naming the field, what it should be, and (safely) what it was. */
export function payloadError(
  kind: string,
  key: string,
  expected: string,
  value: unknown,
): ProtocolError {
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

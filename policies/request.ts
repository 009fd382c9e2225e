/**
 * Policy requests: the engine-neutral question "may `principal` do `action`
 * on `resource`, given `context`?", and its checked, canonical form.
 *
 * Contexts are flat on purpose: strings, integers and booleans only. That
 * keeps the canonical encoding trivial, keeps the WebAssembly boundary cheap
 * and makes the request size bounded by construction.
 *
 * @module
 */

import { canonicalJson } from "./hash.ts";
import { PolicyRequestError } from "./errors.ts";

/** A value in a request context. Numbers are integers in [0, 2^48). */
export type ContextValue = string | number | boolean;

/** A question to the policy engine. */
export interface PolicyRequest {
  /** Who asks: the sender's DID. */
  readonly principal: string;
  /** What: the envelope kind. Unknown kinds are not an error; the policy denies them. */
  readonly action: string;
  /** On what: the thread id. */
  readonly resource: string;
  /** Facts the rules look at. */
  readonly context: Readonly<Record<string, ContextValue>>;
}

/** A request that passed {@linkcode checkPolicyRequest}, with its canonical encoding. */
export interface CheckedRequest {
  readonly request: PolicyRequest;
  /** Canonical JSON of the request; the input of the evaluation digest. */
  readonly canonical: string;
}

/** Bounds every request must respect. */
export const REQUEST_LIMITS = {
  /** Longest principal, action or resource id, in UTF-16 code units. */
  idLengthMax: 512,
  /** Most context attributes. */
  contextFieldsMax: 32,
  /** Longest context string value. */
  stringLengthMax: 256,
  /** Largest context number (exclusive): products with percentages stay far from 2^63. */
  numberLimit: 2 ** 48,
  /** Largest canonical encoding of a whole request, bytes. */
  requestBytesMax: 4_096,
} as const;

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/**
 * Checks a request's shape, types and size and encodes it canonically.
 * Throws {@linkcode PolicyRequestError} naming the first offending value.
 *
 * @example
 * ```ts
 * const checked = checkPolicyRequest({ principal: "did:key:z6Mk…", action: "NEED",
 *   resource: "thread-1", context: { payloadBytes: 10 } });
 * ```
 */
export function checkPolicyRequest(request: PolicyRequest): CheckedRequest {
  if (typeof request !== "object" || request === null) {
    throw requestError(`Policy request must be an object, got ${describe(request)}`);
  }
  checkId("principal", request.principal);
  checkId("action", request.action);
  checkId("resource", request.resource);
  checkContext(request.context);
  const canonical = canonicalJson(request as unknown as Parameters<typeof canonicalJson>[0]);
  const size = new TextEncoder().encode(canonical).length;
  if (size > REQUEST_LIMITS.requestBytesMax) {
    throw new PolicyRequestError(
      "E_POLICY_REQUEST_TOO_LARGE",
      `Policy request is ${size} bytes, the limit is ${REQUEST_LIMITS.requestBytesMax}`,
    );
  }
  return { request, canonical };
}

/**
 * Parses a canonical request received from a peer (e.g. the input quoted in
 * an ATTEST) and checks it; the text must be exactly canonical.
 */
export function parseCanonicalRequest(text: string): CheckedRequest {
  if (typeof text !== "string" || text.length > REQUEST_LIMITS.requestBytesMax) {
    throw new PolicyRequestError(
      "E_POLICY_REQUEST_TOO_LARGE",
      `Canonical policy request must be a string of at most ${REQUEST_LIMITS.requestBytesMax} characters`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw requestError(
      `Canonical policy request is not JSON: ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  const record = parsed as Record<string, unknown>;
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    throw requestError(`Canonical policy request must be an object, got ${describe(parsed)}`);
  }
  const keys = Object.keys(record).sort().join(",");
  if (keys !== "action,context,principal,resource") {
    throw requestError(
      `Canonical policy request has fields [${keys}], expected action, context, principal, resource`,
    );
  }
  const checked = checkPolicyRequest(record as unknown as PolicyRequest);
  if (checked.canonical !== text) {
    throw requestError("Policy request text is not in canonical form");
  }
  return checked;
}

function checkId(name: string, value: unknown): void {
  if (typeof value !== "string" || value.length === 0) {
    throw requestError(`Policy request ${name} must be a non-empty string, got ${describe(value)}`);
  }
  if (value.length > REQUEST_LIMITS.idLengthMax) {
    throw requestError(
      `Policy request ${name} is ${value.length} characters, the limit is ${REQUEST_LIMITS.idLengthMax}`,
    );
  }
}

function checkContext(context: unknown): void {
  if (typeof context !== "object" || context === null || Array.isArray(context)) {
    throw requestError(`Policy request context must be an object, got ${describe(context)}`);
  }
  const entries = Object.entries(context);
  if (entries.length > REQUEST_LIMITS.contextFieldsMax) {
    throw requestError(
      `Policy request context has ${entries.length} fields, the limit is ${REQUEST_LIMITS.contextFieldsMax}`,
    );
  }
  for (const [name, value] of entries) {
    if (!FIELD_NAME.test(name)) {
      throw requestError(
        `Policy request context field name ${JSON.stringify(name)} is not allowed`,
      );
    }
    checkContextValue(name, value);
  }
}

function checkContextValue(name: string, value: unknown): void {
  switch (typeof value) {
    case "boolean":
      return;
    case "string":
      if (value.length > REQUEST_LIMITS.stringLengthMax) {
        throw requestError(
          `Policy request context.${name} is ${value.length} characters, the limit is ${REQUEST_LIMITS.stringLengthMax}`,
        );
      }
      return;
    case "number":
      if (!Number.isSafeInteger(value) || value < 0 || value >= REQUEST_LIMITS.numberLimit) {
        throw requestError(
          `Policy request context.${name} must be an integer in [0, 2^48), got ${value}`,
        );
      }
      return;
    default:
      throw requestError(
        `Policy request context.${name} must be a string, integer or boolean, got ${
          describe(value)
        }`,
      );
  }
}

function requestError(message: string): PolicyRequestError {
  return new PolicyRequestError("E_POLICY_REQUEST", message);
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return value.length > 40 ? `"${value.slice(0, 40)}…"` : JSON.stringify(value);
  }
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

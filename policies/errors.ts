/**
 * Typed errors of the policy layer. Each has a stable `code`; errors that
 * come from the Cedar engine carry its diagnostics, so an operator sees the
 * engine's own words (message, help, source location) for a bad policy.
 *
 * @module
 */

import { SwarmError } from "../runtime/errors.ts";

/** One diagnostic reported by the policy engine (parser, validator, evaluator). */
export interface PolicyDiagnostic {
  /** The engine's message. */
  readonly message: string;
  /** The engine's hint, when it gave one. */
  readonly help?: string;
  /** The policy the diagnostic is about, when known. */
  readonly policyId?: string;
  /** Byte offsets into the source text, when known. */
  readonly start?: number;
  readonly end?: number;
}

/**
 * A policy set or schema could not be loaded: it failed to parse or to
 * validate, or exceeds a size limit. Codes: `E_POLICY_PARSE`,
 * `E_POLICY_SCHEMA`, `E_POLICY_INVALID`, `E_POLICY_TOO_LARGE`,
 * `E_POLICY_PARAMETER`, `E_POLICY_ID`.
 */
export class PolicyLoadError extends SwarmError {
  /** What the engine said, one entry per problem. */
  readonly diagnostics: readonly PolicyDiagnostic[];

  constructor(code: string, message: string, diagnostics: readonly PolicyDiagnostic[] = []) {
    super(code, message);
    this.diagnostics = diagnostics;
  }
}

/**
 * A request cannot be evaluated: a field is missing, of the wrong type, out
 * of range, or the request is too large. Codes: `E_POLICY_REQUEST`,
 * `E_POLICY_REQUEST_TOO_LARGE`.
 */
export class PolicyRequestError extends SwarmError {}

/**
 * The WebAssembly engine itself failed: it could not be instantiated, a
 * second, different engine binary was offered in the same process, or an
 * evaluation call failed. Codes: `E_POLICY_ENGINE`, `E_POLICY_ENGINE_MISMATCH`.
 */
export class PolicyEngineError extends SwarmError {
  readonly diagnostics: readonly PolicyDiagnostic[];

  constructor(code: string, message: string, diagnostics: readonly PolicyDiagnostic[] = []) {
    super(code, message);
    this.diagnostics = diagnostics;
  }
}

/** A gate refused an envelope (code `E_POLICY_DENIED`); `reasons` are the rule ids. */
export class PolicyDeniedError extends SwarmError {
  readonly reasons: readonly string[];

  constructor(kind: string, reasons: readonly string[]) {
    super(
      "E_POLICY_DENIED",
      `Policy denies ${kind} envelope: ${reasons.join(", ")}`,
    );
    this.reasons = reasons;
  }
}

/**
 * An envelope names a policy capsule other than the one this node runs
 * (code `E_POLICY_CAPSULE_MISMATCH`).
 */
export class PolicyCapsuleMismatchError extends SwarmError {
  constructor(readonly envelopeCapsule: string, readonly nodeCapsule: string) {
    super(
      "E_POLICY_CAPSULE_MISMATCH",
      `Cannot accept envelope: it was evaluated under policy capsule ${
        short(envelopeCapsule)
      }, this node runs ${short(nodeCapsule)}`,
    );
  }
}

/**
 * A capsule was refused. Codes: `E_CAPSULE_MALFORMED`, `E_CAPSULE_AUTHOR`,
 * `E_CAPSULE_SIGNATURE`, `E_CAPSULE_TAMPERED`, `E_CAPSULE_ENGINE`,
 * `E_CAPSULE_POLICY`, `E_CAPSULE_CONFORMANCE`, `E_CAPSULE_STALE`,
 * `E_CAPSULE_PENDING_FULL`, `E_CAPSULE_EPOCH`.
 */
export class CapsuleError extends SwarmError {
  readonly diagnostics: readonly PolicyDiagnostic[];

  constructor(
    code: string,
    message: string,
    diagnostics: readonly PolicyDiagnostic[] = [],
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.diagnostics = diagnostics;
  }
}

/** The first 12 hex digits of a hash, for messages. */
export function short(hash: string): string {
  return hash.length > 12 ? `${hash.slice(0, 12)}…` : hash || "(none)";
}

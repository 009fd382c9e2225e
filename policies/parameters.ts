/**
 * Policy parameters: the numbers an operator may tune (payload cap, thread
 * budgets, telemetry allowance) without writing Cedar. They are filled into
 * the `{{name}}` placeholders of `base.cedar` before it is parsed, so the
 * hashed, signed policy text is exactly the text that runs, and a change of
 * any parameter is a new policy hash and needs a new capsule.
 *
 * Each parameter has a range; the conformance suite relies on the ranges
 * (for instance it expects a 64 MiB payload to be refused under any cap).
 *
 * @module
 */

import { PolicyLoadError } from "./errors.ts";

/** The tunable numbers of the base policy. */
export interface PolicyParameters {
  /** Largest payload of any envelope, bytes. Default 1 MiB; at most 16 MiB. */
  readonly payloadBytesMax: number;
  /** Envelopes admitted per thread. Default 10,000. */
  readonly threadMessagesMax: number;
  /** Retries (envelopes with attempt > 0) admitted per thread. Default 16. */
  readonly threadRetriesMax: number;
  /** Largest cost one PROPOSE, CLAIM or COMMIT may declare. Default 1,000,000. */
  readonly costPerMessageMax: number;
  /**
   * How far actual telemetry may exceed the claim before a COMMIT counts as
   * understated, as a percentage of the claim: 110 allows 10 % over. Default 110.
   */
  readonly telemetryAllowancePercent: number;
  /** Largest CHALLENGE payload, bytes (DESIGN.md §5: 10 KB). Default 10,240. */
  readonly challengeBytesMax: number;
}

/** The defaults. */
export const DEFAULT_POLICY_PARAMETERS: PolicyParameters = {
  payloadBytesMax: 1_048_576,
  threadMessagesMax: 10_000,
  threadRetriesMax: 16,
  costPerMessageMax: 1_000_000,
  telemetryAllowancePercent: 110,
  challengeBytesMax: 10_240,
};

/** Inclusive ranges of each parameter. */
export const POLICY_PARAMETER_RANGES: Readonly<
  Record<keyof PolicyParameters, readonly [number, number]>
> = {
  payloadBytesMax: [1_024, 16 * 1_048_576],
  threadMessagesMax: [1, 1_000_000],
  threadRetriesMax: [0, 1_000],
  costPerMessageMax: [1, 1_000_000_000_000],
  telemetryAllowancePercent: [100, 1_000],
  challengeBytesMax: [256, 1_048_576],
};

/**
 * Checks `overrides` and merges them over the defaults.
 *
 * @example
 * ```ts
 * const parameters = policyParameters({ payloadBytesMax: 4 * 1_048_576 });
 * ```
 */
export function policyParameters(overrides: Partial<PolicyParameters> = {}): PolicyParameters {
  const merged: Record<string, unknown> = { ...DEFAULT_POLICY_PARAMETERS };
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in POLICY_PARAMETER_RANGES)) {
      throw new PolicyLoadError("E_POLICY_PARAMETER", `Unknown policy parameter '${name}'`);
    }
    if (value !== undefined) merged[name] = value;
  }
  for (const [name, [low, high]] of Object.entries(POLICY_PARAMETER_RANGES)) {
    const value = merged[name];
    if (!Number.isSafeInteger(value) || (value as number) < low || (value as number) > high) {
      throw new PolicyLoadError(
        "E_POLICY_PARAMETER",
        `Policy parameter ${name} must be an integer in [${low}, ${high}], got ${String(value)}`,
      );
    }
  }
  return merged as unknown as PolicyParameters;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

/**
 * Fills the `{{name}}` placeholders of a policy template. An unknown
 * placeholder is an error, so a typo cannot leave a rule unparsed or silently
 * different.
 */
export function renderPolicyTemplate(template: string, parameters: PolicyParameters): string {
  const values = parameters as unknown as Record<string, number>;
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new PolicyLoadError(
        "E_POLICY_PARAMETER",
        `Policy template names unknown parameter '{{${name}}}'`,
      );
    }
    return String(value);
  });
}

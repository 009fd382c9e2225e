/**
 * The policy sources shipped with CAN Swarm: `base.cedar` (a template, see
 * `parameters.ts`) and `schema.cedarschema`, imported as text so the policy
 * layer needs no file I/O and every node built from this tree starts from
 * the same bytes.
 *
 * @module
 */

import baseTemplate from "./base.cedar" with { type: "text" };
import schemaText from "./schema.cedarschema" with { type: "text" };
import { type PolicyParameters, policyParameters, renderPolicyTemplate } from "./parameters.ts";

/** Version of the schema in `schema.cedarschema`; part of every capsule. */
export const SCHEMA_VERSION = "can-swarm/policy-schema/1";

/** Everything a policy engine loads: the policy text, the schema and its version. */
export interface PolicySources {
  /** Cedar policy text, parameters already filled in. */
  readonly policyText: string;
  /** Cedar schema, human-readable format. */
  readonly schemaText: string;
  /** Version label of the schema. */
  readonly schemaVersion: string;
}

/** The shipped `base.cedar` template, placeholders unfilled. */
export const BASE_POLICY_TEMPLATE: string = baseTemplate;

/** The shipped schema text. */
export const BASE_SCHEMA_TEXT: string = schemaText;

/**
 * The shipped policy with `overrides` applied to the default parameters.
 *
 * @example
 * ```ts
 * const sources = basePolicySources({ payloadBytesMax: 2 * 1_048_576 });
 * ```
 */
export function basePolicySources(overrides: Partial<PolicyParameters> = {}): PolicySources {
  return {
    policyText: renderPolicyTemplate(BASE_POLICY_TEMPLATE, policyParameters(overrides)),
    schemaText: BASE_SCHEMA_TEXT,
    schemaVersion: SCHEMA_VERSION,
  };
}

/**
 * `can-swarm policy check` and `can-swarm policy eval`: load the Cedar
 * engine and a policy (the shipped base policy, or files), print its hashes
 * and conformance run, or evaluate envelope views through the commit-gate
 * digest path. Both print JSON.
 *
 * @module
 */

import { readCedarWasm } from "../runtime/cedar_wasm_file.ts";
import { SwarmError } from "../runtime/errors.ts";
import {
  BASE_CONFORMANCE_SUITE,
  BASE_POLICY_TEMPLATE,
  BASE_SCHEMA_TEXT,
  CedarEngine,
  checkPolicyRequest,
  type EnvelopeView,
  evaluationDigest,
  loadCedarRuntime,
  type NodeFacts,
  PolicyLoadError,
  type PolicyParameters,
  policyParameters,
  renderPolicyTemplate,
  runConformance,
  SCHEMA_VERSION,
  toPolicyRequest,
} from "../policies/mod.ts";
import { type CommandSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";

/** Flags that choose a policy: template, schema and parameters. */
export const POLICY_FLAGS: CommandSpec["flags"] = {
  policy: {
    type: "string",
    value: "FILE",
    description: "Cedar policy template (default: the shipped base.cedar)",
  },
  schema: {
    type: "string",
    value: "FILE",
    description: "Cedar schema (default: the shipped schema.cedarschema)",
  },
  "payload-bytes-max": {
    type: "string",
    value: "N",
    description: "Payload size cap, bytes",
    default: "1048576",
  },
  "thread-messages-max": {
    type: "string",
    value: "N",
    description: "Envelopes per thread",
    default: "10000",
  },
};

/** Flags of `policy check`. */
export const POLICY_CHECK_SPEC: CommandSpec = {
  name: "policy check",
  summary: "Load a policy into Cedar, run the conformance suite, print hashes as JSON.",
  flags: POLICY_FLAGS,
  notes: "Exits 1 when the policy does not load or fails a conformance vector.",
};

/** Flags of `policy eval`. */
export const POLICY_EVAL_SPEC: CommandSpec = {
  name: "policy eval",
  summary: "Evaluate envelope views from a JSON file; print decisions and digests.",
  flags: {
    ...POLICY_FLAGS,
    input: {
      type: "string",
      value: "FILE",
      description: 'JSON: {"view": {...}, "facts": {...}} or an array of them (required)',
    },
  },
};

/** Loads the policy the flags name (or the shipped one) into the Cedar engine. */
export async function loadPolicyEngine(flags: ParsedFlags): Promise<CedarEngine> {
  const parameters: Partial<PolicyParameters> = {
    payloadBytesMax: integerFlag(flags, "payload-bytes-max", 1_048_576, 0),
    threadMessagesMax: integerFlag(flags, "thread-messages-max", 10_000, 0),
  };
  const template = typeof flags.policy === "string"
    ? await readText(flags.policy)
    : BASE_POLICY_TEMPLATE;
  const schemaText = typeof flags.schema === "string"
    ? await readText(flags.schema)
    : BASE_SCHEMA_TEXT;
  const runtime = await loadCedarRuntime(await readCedarWasm());
  return await CedarEngine.load(runtime, {
    policyText: renderPolicyTemplate(template, policyParameters(parameters)),
    schemaText,
    schemaVersion: SCHEMA_VERSION,
  }, { clock: () => performance.now() });
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Prints a load error with Cedar's diagnostics; resolves with the exit code. */
export function reportLoadError(error: unknown): number {
  if (!(error instanceof PolicyLoadError)) throw error;
  console.log(
    JSON.stringify(
      { error: error.code, message: error.message, diagnostics: error.diagnostics },
      null,
      2,
    ),
  );
  return 1;
}

/** Runs `policy check`. */
export async function policyCheckCommand(flags: ParsedFlags): Promise<number> {
  let engine: CedarEngine;
  try {
    engine = await loadPolicyEngine(flags);
  } catch (error) {
    return reportLoadError(error);
  }
  const report = runConformance(engine, BASE_CONFORMANCE_SUITE);
  console.log(JSON.stringify(
    {
      engine: engine.engineName,
      engineHash: engine.engineHash,
      policyHash: engine.policyHash,
      policyTextHash: engine.policyTextHash,
      schemaHash: engine.schemaHash,
      schemaVersion: engine.sources.schemaVersion,
      rules: engine.ruleIds,
      warnings: engine.warnings,
      conformance: { passed: report.passed.length, failed: report.failed },
      metrics: engine.metrics.snapshot(),
    },
    null,
    2,
  ));
  return report.failed.length === 0 ? 0 : 1;
}

/** Runs `policy eval`. */
export async function policyEvalCommand(flags: ParsedFlags): Promise<number> {
  if (typeof flags.input !== "string") throw new UsageError("--input FILE is required");
  const text = await readText(flags.input);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flags.input} is not JSON: ${(error as Error).message}`);
  }
  let engine: CedarEngine;
  try {
    engine = await loadPolicyEngine(flags);
  } catch (error) {
    return reportLoadError(error);
  }
  const items = (Array.isArray(parsed) ? parsed : [parsed]) as {
    view?: EnvelopeView;
    facts?: NodeFacts;
  }[];
  const results = [];
  for (const [index, item] of items.entries()) {
    try {
      const checked = checkPolicyRequest(toPolicyRequest(item?.view as EnvelopeView, item?.facts));
      const decision = engine.evaluateChecked(checked);
      results.push({
        allowed: decision.allowed,
        reasons: decision.reasons,
        policyHash: decision.policyHash,
        evalInput: checked.canonical,
        evalDigest: await evaluationDigest(
          checked.canonical,
          decision.allowed,
          decision.policyHash,
        ),
      });
    } catch (error) {
      if (!(error instanceof SwarmError)) throw error;
      results.push({ index, error: error.code, message: error.message });
    }
  }
  console.log(JSON.stringify(Array.isArray(parsed) ? results : results[0], null, 2));
  return results.some((result) => "error" in result) ? 1 : 0;
}

/**
 * The policy a node runs: the shipped base Cedar policy on the Cedar wasm
 * engine, loaded once per process and shared by the nodes in it, each with
 * its own preflight and ingress gates (and thread budgets).
 *
 * @module
 */

import { readCedarWasm } from "../runtime/cedar_wasm_file.ts";
import {
  basePolicySources,
  CedarEngine,
  CommitGate,
  fixedPolicy,
  IngressGate,
  loadCedarRuntime,
  PreflightGate,
  sha256Hex,
  ThreadBudgetLedger,
} from "../policies/mod.ts";
import type { NodePolicy } from "../actors/node_core.ts";

/** A loaded policy and the hash envelopes under it carry. */
export interface LoadedPolicy {
  /** Hash of the engine and policy: what every envelope's `policy` field names. */
  readonly capsuleHash: string;
  readonly engine: CedarEngine;
  /** Fresh gates for one node. */
  gates(log?: (message: string, fields: Record<string, unknown>) => void): NodePolicy;
}

let loading: Promise<LoadedPolicy> | undefined;

/** Loads the base policy (once per process). */
export function loadBasePolicy(): Promise<LoadedPolicy> {
  loading ??= (async () => {
    const runtime = await loadCedarRuntime(await readCedarWasm());
    const engine = await CedarEngine.load(runtime, basePolicySources());
    const capsuleHash = await sha256Hex(`${engine.engineHash}\n${engine.policyHash}`);
    const source = fixedPolicy(engine, capsuleHash);
    return {
      capsuleHash,
      engine,
      gates: (log) => {
        const budgets = new ThreadBudgetLedger();
        return {
          preflight: new PreflightGate(source),
          ingress: new IngressGate(source, { ledger: budgets, log }),
          commit: new CommitGate(source),
          budgets,
        };
      },
    };
  })();
  return loading;
}

/**
 * The policy a node runs: the shipped base Cedar policy on the Cedar wasm
 * engine, loaded once per process as the genesis capsule. Each node gets its
 * own capsule registry (the genesis capsule in force, newer ones staged by
 * its capsule distributor until their epoch) and its own preflight, ingress
 * and commit gates reading the policy in force from that registry.
 *
 * @module
 */

import { readCedarWasm } from "../runtime/cedar_wasm_file.ts";
import {
  basePolicySources,
  CapsuleRegistry,
  CedarEngine,
  type CedarRuntime,
  CommitGate,
  genesisCapsule,
  IngressGate,
  type InstalledCapsule,
  loadCedarRuntime,
  PreflightGate,
  ThreadBudgetLedger,
} from "../policies/mod.ts";
import type { NodePolicy } from "../actors/node_core.ts";

/** A loaded policy and the hash envelopes under it carry. */
export interface LoadedPolicy {
  /** Hash of the genesis capsule: what every envelope's `policy` field names until a switch. */
  readonly capsuleHash: string;
  readonly engine: CedarEngine;
  /** The Cedar engine, for loading capsules received later. */
  readonly runtime: CedarRuntime;
  readonly genesis: InstalledCapsule;
  /** Fresh gates and capsule registry for one node. */
  gates(log?: (message: string, fields: Record<string, unknown>) => void): NodePolicy;
}

let loading: Promise<LoadedPolicy> | undefined;

/** Loads the base policy (once per process). */
export function loadBasePolicy(): Promise<LoadedPolicy> {
  loading ??= (async () => {
    const runtime = await loadCedarRuntime(await readCedarWasm());
    const engine = await CedarEngine.load(runtime, basePolicySources());
    const genesis = await genesisCapsule(engine);
    return {
      capsuleHash: genesis.hash,
      engine,
      runtime,
      genesis,
      gates: (log) => {
        const capsules = new CapsuleRegistry(genesis);
        const budgets = new ThreadBudgetLedger();
        return {
          capsules,
          preflight: new PreflightGate(capsules),
          ingress: new IngressGate(capsules, { ledger: budgets, log }),
          commit: new CommitGate(capsules),
          budgets,
        };
      },
    };
  })();
  return loading;
}

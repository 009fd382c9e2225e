/**
 * CAN Swarm policies: binding, default-deny rules in Cedar (WebAssembly),
 * evaluated by every node with the same engine, identified by hash
 * (DESIGN.md §6). The three gates (preflight on the sender, ingress on
 * every receiver, the commit gate on verifiers), evaluation digests, and
 * signed capsules distributed and switched at epoch boundaries.
 *
 * Typical wiring on a node:
 *
 * ```ts
 * const runtime = await loadCedarRuntime(await readCedarWasm()); // runtime/cedar_wasm_file.ts
 * const genesis = await verifyCapsule(genesisPackage, { runtime, verify, trustedAuthors });
 * const registry = new CapsuleRegistry(genesis);
 * const ingress = new IngressGate(registry, { ledger: new ThreadBudgetLedger(), log });
 * const verdict = ingress.admit(view, { committeeMember, nowMs, challengeWindow });
 * ```
 *
 * @module
 */

export * from "./capsule.ts";
export * from "./capsule_registry.ts";
export * from "./capsule_json.ts";
export * from "./cedar_engine.ts";
export * from "./cedar_runtime.ts";
export * from "./commit_gate.ts";
export * from "./conformance.ts";
export * from "./digest.ts";
export * from "./engine.ts";
export * from "./envelope_view.ts";
export * from "./errors.ts";
export * from "./hash.ts";
export * from "./ingress_gate.ts";
export * from "./kinds.ts";
export * from "./metrics.ts";
export * from "./parameters.ts";
export * from "./policy_source.ts";
export * from "./preflight_gate.ts";
export * from "./request.ts";
export * from "./sources.ts";
export * from "./thread_budgets.ts";

/**
 * Swarm simulation: whole swarms of protocol nodes on virtual time, under
 * load and nemeses, with every run's history checked against the protocol's
 * properties and every failure reproducible from its seed.
 *
 * @example
 * ```ts
 * import { runSwarmSimulation, SWARM_PRESETS } from "./sim/swarm/mod.ts";
 * const result = await runSwarmSimulation({ scenario: SWARM_PRESETS["partition-cp"], seed: 7 });
 * console.log(result.traceHash, result.ok);
 * ```
 *
 * @module
 */

export * from "./scenario.ts";
export * from "./nemesis_spec.ts";
export * from "./presets.ts";
export * from "./knobs.ts";
export * from "./recipe.ts";
export * from "./cast.ts";
export * from "./history.ts";
export * from "./run.ts";
export * from "./shrink.ts";
export * from "./report_text.ts";
export * from "./report_html.ts";
export { type HarnessOptions, SIM_POLICY, SwarmHarness } from "./harness.ts";
export { SharedSignatureVerifier } from "./shared_verifier.ts";
export { DecideService, DecideUnavailableError } from "./decide_service.ts";
export { ApReplica } from "../../protocols/consensus/ap_replica.ts";

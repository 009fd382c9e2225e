/**
 * The credit economy (DESIGN.md §5): a durable ledger of accounts and
 * escrows, stake with unbonding, weighted and diversity-capped committee
 * selection, bounties escrowed at NEED and paid at FINALIZE, bonded
 * challenges with mechanically checked proofs, slashing and reputation, all
 * driven by the lifecycle messages a node accepts.
 *
 * @module
 */

export * from "./amounts.ts";
export * from "./bonds.ts";
export * from "./economy.ts";
export * from "./journal.ts";
export * from "./judge.ts";
export * from "./ledger.ts";
export * from "./ledger_types.ts";
export * from "./params.ts";
export * from "./payouts.ts";
export * from "./queries.ts";
export * from "./rate_limiter.ts";
export * from "./recency.ts";
export * from "./registry.ts";
export * from "./reputation.ts";
export * from "./selection.ts";

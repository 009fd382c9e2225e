/**
 * The signed audit log and its replay: every envelope a node publishes or
 * delivers, per thread, hash-chained and node-signed; and the checker that
 * re-verifies a recorded thread (`deno task replay`).
 *
 * @example
 * ```ts
 * import { SignedAuditLog } from "./protocols/audit/mod.ts";
 * const audit = new SignedAuditLog(frameLogs, identity);
 * await audit.append(envelope, "out");
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./record.ts";
export * from "./audit_log.ts";
export * from "./replay.ts";

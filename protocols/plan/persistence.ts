/**
 * What the plan store needs from durable storage: one append-only log of
 * binary records per thread, compacted into a snapshot now and then. The
 * store never touches files or databases itself (DESIGN.md §2); the node
 * hands it an adapter, such as the runtime's `BlobLogs` over the node's
 * `Store` (Deno KV in production, the simulated disk in simulation).
 *
 * @module
 */

/** One thread's durable log. */
export interface PlanLog {
  /** The records present when the log was opened: a snapshot, then increments, in order. */
  readonly records: readonly Uint8Array[];
  /** Appends one record; resolves once it is durable. */
  append(record: Uint8Array): Promise<void>;
  /** Atomically replaces every record with `snapshot`; resolves once durable. */
  compact(snapshot: Uint8Array): Promise<void>;
}

/** The set of thread logs of one node. */
export interface PlanPersistence {
  /** Names (thread ids) of every log that holds records. */
  names(): Promise<string[]>;
  /** Opens (creating if needed) the log named `name`. */
  open(name: string): Promise<PlanLog>;
}

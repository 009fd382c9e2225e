/**
 * The plan store: an Automerge op-log per thread, derived task and graph
 * views, peer sync and persistence through injected logs (DESIGN.md §5, §6).
 *
 * @module
 */

export * from "./authoring.ts";
export * from "./errors.ts";
export * from "./graph_view.ts";
export * from "./jsonl.ts";
export * from "./op.ts";
export * from "./persistence.ts";
export * from "./plan_store.ts";
export * from "./plan_sync.ts";
export * from "./plan_views.ts";
export * from "./task_state.ts";
export * from "./task_view.ts";
export * from "./thread_writer.ts";
export { BUCKET_COUNT, bucketOf, isActorId, type PlanSyncState } from "./thread_doc.ts";
export * from "./verify.ts";

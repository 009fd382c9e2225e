/**
 * The CAN Swarm actor runtime: supervised actors with bounded mailboxes over a
 * pluggable transport, on an environment that is either the real host or the
 * deterministic simulator. It knows nothing of the swarm domain.
 *
 * @module
 */

export type {
  ActorContext,
  ActorLogger,
  ActorRef,
  AskOptions,
  Behavior,
  BehaviorFactory,
  PublishOptions,
  ScheduleOptions,
  Signal,
  SpawnOptions,
} from "./actor.ts";
export * from "./env.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./executor.ts";
export * from "./log.ts";
export * from "./mailbox.ts";
export * from "./real_env.ts";
export * from "./supervisor.ts";
export * from "./system.ts";
export * from "./wire.ts";
export { ActorContextError } from "./_context.ts";
export { sameActor } from "./_refs.ts";
export * from "./store/store.ts";
export * from "./store/deno_kv_store.ts";
export * from "./store/memory_store.ts";
export * from "./store/content_store.ts";
export * from "./store/file_content_store.ts";
export * from "./store/memory_content_store.ts";
export * from "./store/frame_log.ts";
export * from "./store/file_frame_log.ts";
export * from "./store/memory_frame_log.ts";
export * from "./store/key_file.ts";
export * from "./transport/mod.ts";

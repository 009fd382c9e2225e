/**
 * Transports between nodes: the {@linkcode Transport} interface, the
 * in-process hub, the frame rules and binary codec every transport shares,
 * topic naming, and the ingress hook. The libp2p transport lives in
 * `libp2p.ts` beside this file (imported on its own, as it loads libp2p).
 *
 * @module
 */

export * from "./transport.ts";
export * from "./inproc.ts";
export * from "./frame_check.ts";
export * from "./frame_codec.ts";
export * from "./length_prefix.ts";
export * from "./topics.ts";
export * from "./ingress.ts";
export * from "./transport_stats.ts";
export * from "./peer_score.ts";
export * from "./node_directory.ts";

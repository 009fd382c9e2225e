/**
 * The libp2p transport's public surface: start a node's transport, load its
 * identity, and call other nodes. Import this module (not `mod.ts`) where a
 * real network is wanted; it installs the Deno shim before libp2p loads.
 *
 * @example
 * ```ts
 * import { Libp2pTransport, loadOrCreateIdentity } from "./runtime/transport/libp2p.ts";
 * const identity = await loadOrCreateIdentity("./data/node-0");
 * const transport = await Libp2pTransport.start({ nodeId: "node-0", identity, mdns: false });
 * ```
 *
 * @module
 */

import "./_deno_shim.ts";

export * from "./libp2p_transport.ts";
export * from "./libp2p_node.ts";
export * from "./node_identity.ts";
export { RPC_PROTOCOL, type RpcCaller, RpcError, type RpcHandler } from "./_rpc.ts";

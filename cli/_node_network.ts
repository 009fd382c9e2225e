/**
 * The network side of `run node --transport libp2p`: flags, the node's
 * persistent identity, and starting the libp2p transport.
 *
 * @module
 */

import { multiaddr } from "@multiformats/multiaddr";
import type {
  Libp2pTransport,
  Libp2pTransportOptions,
  TransportEvent,
} from "../runtime/transport/libp2p_transport.ts";
import { choiceFlag, type FlagSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";

/** Flags of the libp2p transport, shared by `run node` and `run swarm --processes`. */
export const NETWORK_FLAGS: Readonly<Record<string, FlagSpec>> = {
  transport: {
    type: "string",
    value: "KIND",
    description: "inproc (this process only) or libp2p (real network)",
    default: "inproc",
  },
  listen: {
    type: "string",
    value: "ADDRS",
    description: "libp2p: comma-separated listen multiaddrs (use /ip4/0.0.0.0/tcp/4001 for a LAN)",
    default: "/ip4/127.0.0.1/tcp/0",
  },
  bootstrap: {
    type: "string",
    value: "ADDRS",
    description: "libp2p: comma-separated multiaddrs (with /p2p/<id>) of nodes to join",
  },
  network: {
    type: "string",
    value: "NAME",
    description: "libp2p: swarm name; peers of other swarms are disconnected",
    default: "can-swarm",
  },
  mdns: {
    type: "string",
    value: "on|off",
    description: "libp2p: mDNS LAN discovery",
    default: "on",
  },
  dht: {
    type: "string",
    value: "on|off",
    description: "libp2p: Kademlia DHT (LAN mode)",
    default: "on",
  },
  relay: {
    type: "string",
    value: "on|off",
    description: "libp2p: circuit relay v2 (serve, and fall back to it when a dial fails)",
    default: "on",
  },
  "relay-reserve": {
    type: "string",
    value: "on|off",
    description: "libp2p: hold relay reservations so peers that cannot dial us reach us via relays",
    default: "off",
  },
  "max-connections": {
    type: "string",
    value: "N",
    description: "libp2p: most open connections",
    default: "64",
  },
};

/** Network settings read from the flags. */
export interface NetworkSettings {
  readonly transport: "inproc" | "libp2p";
  readonly listen: string[];
  readonly bootstrap: string[];
  readonly network: string;
  readonly mdns: boolean;
  readonly dht: boolean;
  readonly relay: boolean;
  readonly relayReserve: boolean;
  readonly maxConnections: number;
}

/** Reads and checks the network flags. */
export function networkSettings(flags: ParsedFlags): NetworkSettings {
  const list = (name: string) =>
    typeof flags[name] === "string"
      ? (flags[name] as string).split(",").map((item) => item.trim()).filter((item) => item !== "")
      : [];
  const listen = list("listen");
  for (const address of [...listen, ...list("bootstrap")]) checkMultiaddr(address);
  const network = typeof flags.network === "string" ? flags.network : "can-swarm";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(network)) {
    throw new UsageError(
      `--network must be 1-64 letters, digits or -_. characters, got '${network}'`,
    );
  }
  return {
    transport: choiceFlag(flags, "transport", ["inproc", "libp2p"] as const, "inproc"),
    listen: listen.length > 0 ? listen : ["/ip4/127.0.0.1/tcp/0"],
    bootstrap: list("bootstrap"),
    network,
    mdns: choiceFlag(flags, "mdns", ["on", "off"] as const, "on") === "on",
    dht: choiceFlag(flags, "dht", ["on", "off"] as const, "on") === "on",
    relay: choiceFlag(flags, "relay", ["on", "off"] as const, "on") === "on",
    relayReserve: choiceFlag(flags, "relay-reserve", ["on", "off"] as const, "off") === "on",
    maxConnections: integerFlag(flags, "max-connections", 64, 1, 100_000),
  };
}

/**
 * Starts the libp2p transport of node `nodeId` with the node's key: `seed`
 * is the node's one Ed25519 seed (`identity.key`), so its PeerId and its
 * `did:key` name the same key. `extra` adds transport options (the swarm
 * workload's ingress validator and message ids).
 */
export async function startNetwork(
  nodeId: string,
  seed: Uint8Array,
  settings: NetworkSettings,
  onEvent: (event: TransportEvent) => void,
  extra: Partial<Libp2pTransportOptions> = {},
): Promise<Libp2pTransport> {
  // libp2p is loaded only when a node joins a real network, so every other command starts fast.
  const { identityFromSeed } = await import("../runtime/transport/node_identity.ts");
  const { Libp2pTransport } = await import("../runtime/transport/libp2p_transport.ts");
  return await Libp2pTransport.start({
    ...extra,
    nodeId,
    identity: await identityFromSeed(seed),
    network: settings.network,
    listen: settings.listen,
    bootstrap: settings.bootstrap,
    mdns: settings.mdns ? { serviceTag: `_${settings.network}._udp.local` } : false,
    dht: settings.dht,
    relayServer: settings.relay,
    relayClient: settings.relay,
    relayReserve: settings.relayReserve,
    maxConnections: settings.maxConnections,
    onEvent,
  });
}

function checkMultiaddr(address: string): void {
  try {
    if (!address.startsWith("/")) throw new Error("it must start with '/'");
    multiaddr(address);
  } catch (error) {
    throw new UsageError(`Invalid multiaddr '${address}': ${(error as Error).message}`);
  }
}

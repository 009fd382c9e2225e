/**
 * The two ways a node learns which PeerId serves which node id: the `hello`
 * exchanged on every new connection (its body names the network and node),
 * and announcements on `/swarm/nodes` (node, PeerId, addresses). Both are
 * parsed strictly here: a peer of another network is told apart from a
 * malformed message.
 *
 * @module
 */

import type { WireValue } from "../wire.ts";

/** Addresses taken from one announcement, at most. */
export const ANNOUNCED_ADDRESSES_MAX = 16;

/** The body of a hello: who this node is. */
export function helloBody(network: string, node: string, addrs: string[]): WireValue {
  return { network, node, addrs };
}

/** A parsed hello: the node id, `foreign` for another network, `invalid` otherwise. */
export function parseHello(body: WireValue, network: string): string | "foreign" | "invalid" {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "invalid";
  const hello = body as Record<string, WireValue>;
  if (typeof hello.node !== "string" || typeof hello.network !== "string") return "invalid";
  return hello.network === network ? hello.node : "foreign";
}

/** An announcement of a node. */
export interface Announcement {
  readonly node: string;
  readonly peer: string;
  readonly addrs: string[];
}

/** The payload of an announcement. */
export function announcementBody(network: string, announcement: Announcement): WireValue {
  return { network, ...announcement };
}

/** A parsed announcement, `foreign` for another network, or undefined when malformed. */
export function parseAnnouncement(
  payload: WireValue,
  network: string,
): Announcement | "foreign" | undefined {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined;
  const { network: theirs, node, peer, addrs } = payload as Record<string, WireValue>;
  if (typeof node !== "string" || typeof peer !== "string" || !Array.isArray(addrs)) {
    return undefined;
  }
  if (theirs !== network) return "foreign";
  const strings = addrs.filter((address): address is string =>
    typeof address === "string" && address.startsWith("/")
  );
  return { node, peer, addrs: strings.slice(0, ANNOUNCED_ADDRESSES_MAX) };
}

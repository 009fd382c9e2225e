/**
 * The protocol workload of a `run node` process on libp2p: what joins the
 * node core to the other processes of its swarm.
 *
 * - the transport's ingress validator and message ids (`_swarm_wire.ts`);
 * - artifacts: the node serves its content store's blocks (`cas-get`
 *   requests) and fetches blocks it lacks from its peers, so a verifier
 *   reads the artifact a worker in another process committed;
 * - catching up: when a peer says hello (it joined, restarted, or a
 *   partition healed) the node asks that peer's core for its open threads,
 *   since gossipsub does not replay what a node missed;
 * - membership: the DID of every peer that says hello (derived from its
 *   authenticated libp2p key) is checked against the members file;
 * - a partition gate an operator (or a test) can set through the HTTP API.
 *
 * @module
 */

import { CID } from "multiformats/cid";
import { ConcurrencyLimit } from "../runtime/concurrency_limit.ts";
import { SwarmError } from "../runtime/errors.ts";
import { WireRef } from "../runtime/wire.ts";
import { checkBlock, checkContentCid, type ContentStore } from "../runtime/store/content_store.ts";
import type { BlockFetcher } from "../runtime/store/fetching_content_store.ts";
import type {
  Libp2pTransport,
  Libp2pTransportOptions,
  TransportEvent,
} from "../runtime/transport/libp2p_transport.ts";
import { publicKeyOfPeer } from "../runtime/transport/node_identity.ts";
import type { SignatureVerifier } from "../protocols/identity/identity.ts";
import { didKeyFromPublicKey } from "../protocols/identity/did_key.ts";
import { envelopeMessageId, swarmIngress } from "./_swarm_wire.ts";
import { SWARM_CORE_PATH } from "./_node_swarm.ts";
import type { SwarmMember } from "./_swarm_members.ts";

/** The request method that fetches a content-store block by CID. */
export const BLOCK_METHOD = "cas-get";

/** Raised for partition requests that name unknown nodes. */
export class PartitionError extends SwarmError {}

/** Transport options of a swarm node: envelope-CID message ids and the envelope ingress check. */
export function swarmTransportOptions(
  verifier: SignatureVerifier,
): Partial<Libp2pTransportOptions> {
  return { ingress: swarmIngress(verifier, SWARM_CORE_PATH), messageId: envelopeMessageId };
}

/** Serves this node's blocks to peers: `cas-get` with a CID string answers the bytes or null. */
export function serveBlocks(transport: Libp2pTransport, local: ContentStore): void {
  transport.handle(BLOCK_METHOD, async (body) => {
    if (typeof body !== "string" || body.length > 256) {
      throw new SwarmError("E_CAS_CID", "A block request must be a CID string");
    }
    const cid = checkContentCid(CID.parse(body));
    return (await local.get(cid)) ?? null;
  });
}

/**
 * Fetches a block from the node's peers: asks the known nodes in a random
 * order, two at a time, and takes the first answer that hashes to the CID;
 * goes round `attempts` times, backing off, since a block may be asked for
 * before its holder is known or while it is busy. Asking everyone at once
 * would multiply the streams every holder serves by the swarm's size. At
 * most `asksMax` asks are out at once (the rest wait their turn): a burst of
 * commits to verify would otherwise open more streams than a peer serves
 * (256 each), and every ask past that fails at once.
 */
export function networkBlockFetcher(
  transport: Libp2pTransport,
  options: { attempts?: number; timeoutMs?: number; fanOut?: number; asksMax?: number } = {},
): BlockFetcher {
  const attempts = options.attempts ?? 4;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const fanOut = options.fanOut ?? 2;
  const asks = new ConcurrencyLimit(options.asksMax ?? 64);
  const ask = (node: string, cid: CID) =>
    asks.run(() => transport.request(node, BLOCK_METHOD, cid.toString(), { timeoutMs })).then(
      (reply) => validBlock(cid, reply),
      () => undefined,
    );
  return async (cid) => {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const nodes = shuffled(
        transport.directory.nodes().filter((node) => node !== transport.nodeId),
      );
      for (let next = 0; next < nodes.length; next += fanOut) {
        const wave = nodes.slice(next, next + fanOut).map((node) => ask(node, cid));
        const found = await firstValid(wave);
        if (found !== undefined) return found;
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
    return undefined;
  };
}

function shuffled<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other], items[index]];
  }
  return items;
}

function validBlock(cid: CID, reply: unknown): Uint8Array | undefined {
  if (!(reply instanceof Uint8Array)) return undefined;
  try {
    return checkBlock(cid, reply);
  } catch {
    return undefined;
  }
}

/** The first promise to resolve with a value; undefined once all resolved without one. */
function firstValid<T>(promises: Promise<T | undefined>[]): Promise<T | undefined> {
  if (promises.length === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let pending = promises.length;
    for (const promise of promises) {
      void promise.then((value) => {
        pending--;
        if (value !== undefined) resolve(value);
        else if (pending === 0) resolve(undefined);
      });
    }
  });
}

/**
 * Catches the node up with peers that say hello: a sync request goes
 * straight to each such peer's core (not to the whole swarm), answered with
 * the envelopes of that peer's open threads. A node that just started
 * learns what it missed this way (its boot-time request went out before it
 * had peers), and so do both sides of a healed partition. Requests are
 * batched a little (gossipsub needs a moment with a new peer) and sent to
 * each peer at most once per `intervalMs`.
 */
export class HelloResync {
  readonly #transport: Libp2pTransport;
  readonly #delayMs: number;
  readonly #intervalMs: number;
  readonly #pending = new Set<string>();
  readonly #askedAtMs = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #requests = 0;

  constructor(transport: Libp2pTransport, options: { delayMs?: number; intervalMs?: number } = {}) {
    this.#transport = transport;
    this.#delayMs = options.delayMs ?? 500;
    this.#intervalMs = options.intervalMs ?? 2_000;
  }

  /** Node `node` said hello. */
  onHello(node: string): void {
    if (node === this.#transport.nodeId) return;
    this.#pending.add(node);
    this.#timer ??= setTimeout(() => this.#flush(), this.#delayMs);
  }

  /** Sync requests sent so far. */
  get requests(): number {
    return this.#requests;
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    const self = this.#transport.nodeId;
    const nowMs = performance.now();
    for (const node of this.#pending) {
      const last = this.#askedAtMs.get(node);
      if (last !== undefined && nowMs - last < this.#intervalMs) continue;
      this.#askedAtMs.set(node, nowMs);
      this.#requests++;
      this.#transport.send({
        kind: "direct",
        to: { node, path: SWARM_CORE_PATH },
        from: { node: self, path: SWARM_CORE_PATH },
        payload: { type: "sync-request", replyTo: new WireRef(self, SWARM_CORE_PATH) },
      });
    }
    this.#pending.clear();
  }
}

/**
 * Checks a hello against the members file: the peer's DID (from its
 * authenticated key) must be the DID listed for the node id it claims.
 * Returns a warning for a mismatch, undefined otherwise.
 */
export function memberMismatch(
  members: readonly SwarmMember[],
  event: Extract<TransportEvent, { type: "node-hello" }>,
): string | undefined {
  const listed = members.find((member) => member.node === event.node);
  if (listed === undefined) return `node ${event.node} (peer ${event.peer}) is not a member`;
  let did: string;
  try {
    did = didKeyFromPublicKey(publicKeyOfPeer(event.peer));
  } catch (error) {
    return `node ${event.node} has an unusable key: ${(error as Error).message}`;
  }
  return did === listed.did
    ? undefined
    : `node ${event.node} has key ${did}, but the members file lists ${listed.did}`;
}

/** A node's view of a partition: which peers it blocks. */
export interface PartitionState {
  readonly blocked: readonly { readonly node: string | undefined; readonly peer: string }[];
}

/** Blocks and unblocks peers by node id (or PeerId) on the transport. */
export interface PartitionControl {
  /** Blocks exactly `targets` (node ids or PeerIds); an empty list heals. */
  block(targets: readonly string[]): PartitionState;
  state(): PartitionState;
}

/** The partition gate of a node's transport. */
export function partitionControl(transport: Libp2pTransport): PartitionControl {
  const state = (): PartitionState => ({
    blocked: transport.blockedPeers().map((peer) => ({
      node: transport.directory.nodeOf(peer),
      peer,
    })),
  });
  return {
    block(targets) {
      const peers = targets.map((target) => {
        const peer = transport.directory.peerOf(target) ??
          (transport.directory.nodeOf(target) !== undefined ? target : undefined);
        if (peer === undefined) {
          throw new PartitionError(
            "E_PARTITION_UNKNOWN_NODE",
            `Cannot block ${target.slice(0, 80)}: no such node or peer is known`,
          );
        }
        return peer;
      });
      transport.setBlocked(peers);
      return state();
    },
    state,
  };
}

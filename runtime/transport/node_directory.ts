/**
 * Which PeerId serves which node id. Actor addresses name nodes
 * (`node-3/user/worker`); libp2p dials PeerIds. Bindings come from the
 * `hello` exchange on a connection (authenticated: the PeerId is the noise
 * key of that connection) or from announcements on `/swarm/nodes`
 * (unauthenticated hints). An authenticated binding replaces a hint; a hint
 * never replaces an authenticated binding, so a peer cannot take over
 * another node's id by announcing it.
 *
 * @module
 */

/** Bindings kept at most; the oldest hint is forgotten first. */
export const DIRECTORY_SIZE_MAX = 65_536;

interface Binding {
  peer: string;
  authenticated: boolean;
}

/** Node id ↔ PeerId bindings of one node. */
export class NodeDirectory {
  readonly #byNode = new Map<string, Binding>();
  readonly #byPeer = new Map<string, string>();

  constructor(selfNode: string, selfPeer: string) {
    this.#byNode.set(selfNode, { peer: selfPeer, authenticated: true });
    this.#byPeer.set(selfPeer, selfNode);
  }

  /** The PeerId of `node`, if known. */
  peerOf(node: string): string | undefined {
    return this.#byNode.get(node)?.peer;
  }

  /** The node id of `peer`, if known. */
  nodeOf(peer: string): string | undefined {
    return this.#byPeer.get(peer);
  }

  /** Every known node id. */
  nodes(): string[] {
    return [...this.#byNode.keys()];
  }

  /**
   * Binds `node` to `peer`; returns true when the binding changed. A hint
   * (`authenticated` false) never overrides an authenticated binding.
   */
  bind(node: string, peer: string, authenticated: boolean): boolean {
    const current = this.#byNode.get(node);
    if (current !== undefined) {
      if (current.peer === peer) {
        current.authenticated ||= authenticated;
        return false;
      }
      if (current.authenticated && !authenticated) return false;
      this.#byPeer.delete(current.peer);
    }
    const previousNode = this.#byPeer.get(peer);
    if (previousNode !== undefined && previousNode !== node) this.#byNode.delete(previousNode);
    this.#byNode.set(node, { peer, authenticated });
    this.#byPeer.set(peer, node);
    this.#evict();
    return true;
  }

  #evict(): void {
    if (this.#byNode.size <= DIRECTORY_SIZE_MAX) return;
    for (const [node, binding] of this.#byNode) {
      if (!binding.authenticated) {
        this.#byNode.delete(node);
        this.#byPeer.delete(binding.peer);
        return;
      }
    }
  }
}

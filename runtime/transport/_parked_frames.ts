/**
 * Direct frames for nodes whose PeerId is not known yet. They wait (bounded
 * per node and in node count, drop-newest beyond) until a hello or an
 * announcement binds the node, or are dropped after a time-to-live.
 *
 * @module
 */

/** Nodes with frames waiting, at most. */
export const PARKED_NODES_MAX = 1_024;
/** Frames waiting per node, at most. */
export const PARKED_FRAMES_MAX = 1_024;
/** How long frames wait for an unknown node. */
export const PARKED_TTL_MS = 10_000;

/** Frames waiting for their node's PeerId. */
export class ParkedFrames {
  readonly #entries = new Map<string, { frames: Uint8Array[]; sinceMs: number }>();

  /** Parks an encoded frame for `node`; false when the bounds are reached (dropped). */
  park(node: string, bytes: Uint8Array, nowMs: number): boolean {
    let entry = this.#entries.get(node);
    if (entry === undefined) {
      if (this.#entries.size >= PARKED_NODES_MAX) return false;
      this.#entries.set(node, entry = { frames: [], sinceMs: nowMs });
    }
    if (entry.frames.length >= PARKED_FRAMES_MAX) return false;
    entry.frames.push(bytes);
    return true;
  }

  /**
   * Releases the frames of nodes `peerOf` now resolves, in order; with
   * `nowMs`, also drops frames older than the time-to-live. Returns how many
   * were dropped.
   */
  release(
    peerOf: (node: string) => string | undefined,
    send: (peer: string, bytes: Uint8Array) => void,
    nowMs?: number,
  ): number {
    let dropped = 0;
    for (const [node, entry] of this.#entries) {
      const peer = peerOf(node);
      if (peer !== undefined) {
        this.#entries.delete(node);
        for (const bytes of entry.frames) send(peer, bytes);
      } else if (nowMs !== undefined && nowMs - entry.sinceMs > PARKED_TTL_MS) {
        this.#entries.delete(node);
        dropped += entry.frames.length;
      }
    }
    return dropped;
  }

  /** Frames waiting. */
  get size(): number {
    let count = 0;
    for (const entry of this.#entries.values()) count += entry.frames.length;
    return count;
  }
}

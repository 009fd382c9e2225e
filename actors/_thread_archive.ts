/**
 * The envelopes a node has accepted, by thread, as the bytes that travelled:
 * what the node hands to a peer that missed them (a restarted node, a node
 * that heard of a thread late). Bounded per thread; a thread's envelopes go
 * when the core forgets the thread.
 *
 * @module
 */

/** Most envelopes kept per thread; later ones are not archived (and counted by the caller). */
export const ARCHIVE_ENVELOPES_PER_THREAD_MAX = 4_096;

const NONE: ReadonlySet<string> = new Set();

/** Accepted envelope bytes by thread and id, in acceptance order. */
export class ThreadArchive {
  readonly #byThread = new Map<string, Map<string, Uint8Array>>();

  /** Whether the envelope `id` of `thread` was archived. */
  has(thread: string, id: string): boolean {
    return this.#byThread.get(thread)?.has(id) ?? false;
  }

  /** Archives an accepted envelope; false when the thread is full. */
  add(thread: string, id: string, bytes: Uint8Array): boolean {
    let envelopes = this.#byThread.get(thread);
    if (envelopes === undefined) this.#byThread.set(thread, envelopes = new Map());
    if (envelopes.size >= ARCHIVE_ENVELOPES_PER_THREAD_MAX) return false;
    envelopes.set(id, bytes);
    return true;
  }

  /** The ids archived for `thread`, in acceptance order (at most `limit`). */
  ids(thread: string, limit: number): string[] {
    const ids: string[] = [];
    for (const id of this.#byThread.get(thread)?.keys() ?? []) {
      if (ids.length >= limit) break;
      ids.push(id);
    }
    return ids;
  }

  /** Drops a thread. */
  forget(thread: string): void {
    this.#byThread.delete(thread);
  }

  /**
   * The envelopes of `threads`, in acceptance order, cut into chunks of at
   * most `chunkSize`; those whose id is in `skip` (what the asker holds) are
   * left out.
   */
  chunks(
    threads: Iterable<string>,
    chunkSize: number,
    skip: ReadonlySet<string> = NONE,
  ): Uint8Array[][] {
    const chunks: Uint8Array[][] = [];
    let chunk: Uint8Array[] = [];
    for (const thread of threads) {
      for (const [id, bytes] of this.#byThread.get(thread) ?? []) {
        if (skip.has(id)) continue;
        chunk.push(bytes);
        if (chunk.length < chunkSize) continue;
        chunks.push(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks;
  }
}

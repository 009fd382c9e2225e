/**
 * A deadline on a host timer that does not blame a peer for this process's
 * own delay.
 *
 * A timer that fires late was held up by this process, busy with other
 * work; an answer that arrived in time may be waiting to be read behind that
 * work, and failing the call then blames a peer (etcd, a libp2p node) for
 * nothing. So a deadline that fires late waits as long again as it was late
 * (at most one more timeout) before it expires. One that fires on time
 * expires at once. (An etcd decide log busy 1.5 s with a 1 s timeout failed
 * all 100 calls it had in flight, every one answered.)
 *
 * @module
 */

/** How much later than due a timer must fire to count as held up by this process. */
export const HOST_DEADLINE_LATE_MS = 50;

/** A running deadline. */
export interface HostDeadline {
  /** Stops it (the call settled). */
  clear(): void;
}

/** Calls `expire` after `timeoutMs`, or later by as long as this process held its timer up. */
export function hostDeadline(timeoutMs: number, expire: () => void): HostDeadline {
  const startedMs = performance.now();
  let timer = setTimeout(() => {
    const lateMs = performance.now() - startedMs - timeoutMs;
    if (lateMs < HOST_DEADLINE_LATE_MS) return expire();
    timer = setTimeout(expire, Math.min(lateMs, timeoutMs));
  }, timeoutMs);
  return { clear: () => clearTimeout(timer) };
}

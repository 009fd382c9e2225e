/**
 * Closing a libp2p stream without waiting on its peer for good. A graceful
 * `close()` waits until the stream's queued bytes have reached the
 * connection, and a peer that stopped reading (a process starved of CPU
 * under load) can hold that wait forever: every RPC that ends with such a
 * close then never settles, its inbound stream is never freed, and once a
 * peer's 256 RPC streams are taken every new request to it fails.
 *
 * @module
 */

import type { Stream } from "@libp2p/interface";

/**
 * Closes `stream`'s writable end gracefully, or aborts the stream (with
 * `reason`) when the close fails or has not finished within `timeoutMs`.
 * Settles within `timeoutMs` whatever the peer does.
 */
export async function closeWithin(
  stream: Stream,
  timeoutMs: number,
  reason: string,
): Promise<void> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`close took over ${timeoutMs} ms`));
      resolve("late");
    }, timeoutMs);
  });
  const closing = stream.close({ signal: controller.signal }).then(
    () => "closed" as const,
    () => "failed" as const,
  );
  try {
    if ((await Promise.race([closing, late])) !== "closed") stream.abort(new Error(reason));
  } finally {
    clearTimeout(timer);
  }
}

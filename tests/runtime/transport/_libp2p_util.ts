// Helpers for tests that start real libp2p nodes in this process.
/**
 * Helpers for tests that run libp2p nodes in the test process: polling on
 * the real clock, waiting out libp2p's post-stop timers, and a warm-up that
 * creates libp2p's process-wide lock channel before the first test, so
 * Deno's sanitizers see no resource appear inside a test.
 *
 * @module
 */

import { Libp2pTransport } from "../../../runtime/transport/libp2p_transport.ts";
import { ephemeralIdentity } from "../../../runtime/transport/node_identity.ts";

/** Polls `done` on the real clock until it holds or `limitMs` passes. */
export async function waitFor(done: () => boolean, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!done() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Waits out the timers libp2p leaves behind after `stop()` (gossipsub's last
 * heartbeat, the inbound rate limiter's 1 s expiries), so every timer of a
 * test completes within it.
 */
export function libp2pTimersDrained(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1_100));
}

/**
 * Starts and stops one node, once per test process: libp2p's lock library
 * opens a process-wide BroadcastChannel on first use, which would otherwise
 * count as a leak of whichever test came first.
 */
export async function warmUpLibp2p(): Promise<void> {
  const transport = await Libp2pTransport.start({
    nodeId: "warm-up",
    identity: await ephemeralIdentity(),
    mdns: false,
    dht: false,
  });
  await transport.close();
  await libp2pTimersDrained();
}

/** Starts `nodeIds.length` transports bootstrapping from the first, and waits until all know each other. */
export async function startTransports(
  nodeIds: readonly string[],
  options: Partial<Parameters<typeof Libp2pTransport.start>[0]> = {},
): Promise<Libp2pTransport[]> {
  const transports: Libp2pTransport[] = [];
  for (const nodeId of nodeIds) {
    transports.push(
      await Libp2pTransport.start({
        nodeId,
        identity: await ephemeralIdentity(),
        mdns: false,
        bootstrap: transports[0]?.addresses,
        ...options,
      }),
    );
  }
  await Promise.all(transports.map((transport) => transport.whenKnown(nodeIds, 20_000)));
  return transports;
}

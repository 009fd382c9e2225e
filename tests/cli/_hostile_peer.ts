// A hostile libp2p peer process for tests: it attacks a node with malformed, oversized or flooding frames.
/**
 * Usage: `deno run -A tests/cli/_hostile_peer.ts MODE TARGET_MULTIADDR NETWORK`
 *
 * MODE is `cbor` (malformed CBOR on the frame stream and on gossipsub),
 * `oversize` (length prefixes over the limit) or `flood` (valid frames far
 * above the inbound rate). The peer speaks the swarm's protocols honestly
 * enough to be let in (hello with the right network name), then misbehaves,
 * then tries to reconnect and prints one JSON line with what happened.
 *
 * @module
 */

import "../../runtime/transport/_deno_shim.ts";
import { createSwarmLibp2p } from "../../runtime/transport/libp2p_node.ts";
import { ephemeralIdentity } from "../../runtime/transport/node_identity.ts";
import { encodeFrame } from "../../runtime/transport/frame_codec.ts";
import { FRAMES_PROTOCOL } from "../../runtime/transport/libp2p_transport.ts";
import { lengthPrefixed } from "../../runtime/transport/length_prefix.ts";
import { multiaddr } from "@multiformats/multiaddr";

const [mode, target] = Deno.args;
const node = await createSwarmLibp2p({
  identity: await ephemeralIdentity(),
  mdns: false,
  dht: false,
  relayClient: false,
  relayServer: false,
  appScore: () => 0,
  gater: {},
  pubsubMessageBytesMax: 4 * 1024 * 1024,
});
const address = multiaddr(target);
let sent = 0;
let streamErrors = 0;

async function attack(): Promise<void> {
  const stream = await node.dialProtocol(address, FRAMES_PROTOCOL);
  if (mode === "cbor") {
    node.services.pubsub.subscribe("/swarm/topic/chatter-news");
    for (let index = 0; index < 10; index++) {
      stream.send(lengthPrefixed(new Uint8Array([0xff, 0x00, index, 0x1c])));
      sent++;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let index = 0; index < 5; index++) {
      await node.services.pubsub.publish("/swarm/topic/chatter-news", new Uint8Array([0x9f, index]))
        .catch(() => {});
      sent++;
    }
  } else if (mode === "oversize") {
    for (let index = 0; index < 6; index++) {
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, 64 * 1024 * 1024);
      const again = await node.dialProtocol(address, FRAMES_PROTOCOL).catch(() => undefined);
      if (again === undefined) break;
      again.send(header);
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } else {
    const frame = lengthPrefixed(encodeFrame({
      kind: "direct",
      to: { node: "node-0", path: "/user/nobody" },
      from: undefined,
      payload: "flood",
    }));
    for (let index = 0; index < 30_000 && stream.status === "open"; index++) {
      try {
        if (!stream.send(frame)) await new Promise((resolve) => setTimeout(resolve, 0));
        sent++;
      } catch {
        streamErrors++;
        break;
      }
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

try {
  await attack();
} catch {
  streamErrors++;
}
let redialRefused = false;
try {
  await node.hangUp(address).catch(() => {});
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3_000);
  const stream = await node.dialProtocol(address, FRAMES_PROTOCOL, { signal: controller.signal });
  clearTimeout(timer);
  stream.send(lengthPrefixed(new Uint8Array([0xff])));
  await new Promise((resolve) => setTimeout(resolve, 300));
  redialRefused = stream.status !== "open";
} catch {
  redialRefused = true;
}
console.log(
  JSON.stringify({ mode, sent, streamErrors, redialRefused, peer: node.peerId.toString() }),
);
await node.stop();
Deno.exit(0);

// Proves the libp2p transport keeps the transport contract (the shared conformance suite) over real TCP.
import type { Libp2pTransport } from "../../../runtime/transport/libp2p_transport.ts";
import {
  recordingEndpoint,
  runTransportConformance,
  type TransportHarness,
} from "./_conformance.ts";
import { libp2pTimersDrained, startTransports, waitFor, warmUpLibp2p } from "./_libp2p_util.ts";

const FRAME_BYTES_MAX = 64 * 1024;

await warmUpLibp2p();

function libp2pHarness(): TransportHarness {
  let transports: Libp2pTransport[] = [];
  return {
    frameBytesMax: FRAME_BYTES_MAX,
    async open(nodeIds) {
      transports = await startTransports(nodeIds, { frameBytesMax: FRAME_BYTES_MAX });
      return transports.map(recordingEndpoint);
    },
    async subscribed(endpoints, topic) {
      const subscribers = endpoints.map((endpoint) =>
        (endpoint.transport as Libp2pTransport).peerId
      );
      await waitFor(
        () =>
          transports.every((transport) =>
            subscribers.every((peer) =>
              peer === transport.peerId || transport.topicPeers(topic).includes(peer)
            )
          ),
        20_000,
      );
    },
    settle: waitFor,
    async dispose() {
      await Promise.all(transports.map((transport) => transport.close()));
      await libp2pTimersDrained();
    },
  };
}

runTransportConformance("libp2p", libp2pHarness);

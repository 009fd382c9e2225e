// Proves the in-process transport keeps the transport contract (the shared conformance suite).
import { InProcHub } from "../../../runtime/transport/inproc.ts";
import {
  recordingEndpoint,
  runTransportConformance,
  type TransportHarness,
} from "./_conformance.ts";

function inprocHarness(): TransportHarness {
  const hub = new InProcHub({ frameBytesMax: 64 * 1024 });
  const endpoints: ReturnType<typeof recordingEndpoint>[] = [];
  return {
    frameBytesMax: hub.frameBytesMax,
    open(nodeIds) {
      for (const nodeId of nodeIds) endpoints.push(recordingEndpoint(hub.connect(nodeId)));
      return Promise.resolve(endpoints);
    },
    subscribed: () => Promise.resolve(),
    async settle(done, limitMs) {
      const deadline = performance.now() + limitMs;
      while (!done() && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
    async dispose() {
      for (const endpoint of endpoints) await endpoint.transport.close();
    },
  };
}

runTransportConformance("in-process", inprocHarness);

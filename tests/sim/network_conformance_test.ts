// Proves the simulated network's transport keeps the transport contract (the shared conformance suite).
import { SimNetwork } from "../../sim/network.ts";
import { SimScheduler } from "../../sim/scheduler.ts";
import { SeededRandom } from "../../sim/seeded_random.ts";
import { msToNs } from "../../runtime/env.ts";
import {
  recordingEndpoint,
  runTransportConformance,
  type TransportHarness,
} from "../runtime/transport/_conformance.ts";

function simHarness(): TransportHarness {
  const scheduler = new SimScheduler();
  const network = new SimNetwork(scheduler, SeededRandom.derive(7, "network"));
  network.frameBytesMax = 64 * 1024;
  const endpoints: ReturnType<typeof recordingEndpoint>[] = [];
  return {
    frameBytesMax: network.frameBytesMax,
    open(nodeIds) {
      for (const nodeId of nodeIds) endpoints.push(recordingEndpoint(network.connect(nodeId)));
      return Promise.resolve(endpoints);
    },
    subscribed: () => Promise.resolve(),
    async settle(done, limitMs) {
      await scheduler.run({ untilNs: scheduler.nowNs + msToNs(limitMs), stopWhen: done });
    },
    async dispose() {
      for (const endpoint of endpoints) await endpoint.transport.close();
    },
  };
}

runTransportConformance("simulated", simHarness);

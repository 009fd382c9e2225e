import { evenLayout, ProcessSwarm } from "../../cli/_process_swarm.ts";
import { postNeeds, untilEnded } from "../../tests/cli/_swarm_checks.ts";
const swarm = await ProcessSwarm.start({ layout: evenLayout(5), challengeWindowMs: 500 });
try {
  const t0 = performance.now();
  const posted = await postNeeds(swarm, 200, "probe");
  const outcomes = await untilEnded(swarm, posted, 120_000);
  console.log("wall", Math.round(performance.now() - t0), "final", [...outcomes.values()].filter((o) => o.status === "final").length);
  for (let i = 0; i < 5; i++) {
    const h = await swarm.health(i);
    console.log(i, JSON.stringify({ blocks: h.blocks, verifier: h.verifier, rejected: (h.stats as any).rejected, transport: h.transport, peerScores: h.peerScores }));
  }
} finally {
  await swarm.stop();
}

/**
 * One round of a swarm benchmark: every NEED posted at once to a local
 * swarm, waited for until each is final or expired.
 *
 * @module
 */

import type { LocalSwarm } from "../../cli/local_swarm.ts";

/** Posts `needs` sha256 NEEDs at once; resolves to how many became final and the wall time. */
export async function postRound(
  swarm: LocalSwarm,
  needs: number,
  round: number,
): Promise<{ final: number; wallMs: number }> {
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from(
      { length: needs },
      (_, index) =>
        swarm.post({ op: "sha256", input: `round ${round} need ${index}`, rounds: 1 }, {
          deadlineInMs: 300_000,
        }),
    ),
  );
  const wallMs = performance.now() - started;
  return { final: outcomes.filter((outcome) => outcome.status === "final").length, wallMs };
}

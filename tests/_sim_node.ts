// Test helper: one simulated node whose actor system tests drive on virtual time.
import { Simulation, type SimulationOptions } from "../sim/simulation.ts";
import type { ActorSystem } from "../runtime/system.ts";
import type { SystemEvent } from "../runtime/events.ts";

/** A booted single-node simulation with every system event recorded. */
export interface SimNodeFixture {
  readonly simulation: Simulation;
  readonly system: ActorSystem;
  readonly events: SystemEvent[];
  /** Advances virtual time by `ms`, running everything due. */
  advance(ms: number): Promise<void>;
  /** Events of one type. */
  eventsOf<T extends SystemEvent["type"]>(type: T): Extract<SystemEvent, { type: T }>[];
}

/** Boots a node named `node-0` on a fresh simulation. */
export async function simNode(options: Partial<SimulationOptions> = {}): Promise<SimNodeFixture> {
  const simulation = new Simulation({ seed: 1, ...options });
  let booted: ActorSystem | undefined;
  const events: SystemEvent[] = [];
  simulation.addNode("node-0", (system) => {
    booted = system;
    system.events.subscribe((event) => events.push(event));
  });
  await simulation.run(0);
  if (booted === undefined) throw new Error("simulated node did not boot");
  const system = booted;
  return {
    simulation,
    system,
    events,
    advance: async (ms) => void await simulation.run(ms),
    eventsOf: <T extends SystemEvent["type"]>(type: T) =>
      events.filter((event): event is Extract<SystemEvent, { type: T }> => event.type === type),
  };
}

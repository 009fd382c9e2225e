// Proves simulation identities are fixed by (seed, node id) and distinct across nodes and seeds.
import assert from "node:assert/strict";
import { deriveSimulationSeed, simulationIdentity } from "../../../protocols/identity/mod.ts";

Deno.test("the same simulation seed and node id always give the same DID", async () => {
  const first = await simulationIdentity(42, "node-1");
  const again = await simulationIdentity(42, "node-1");
  assert.equal(first.did, again.did);
  const message = new TextEncoder().encode("deterministic");
  assert.deepEqual(await first.sign(message), await again.sign(message));
});

Deno.test("different nodes and different seeds get different keys", async () => {
  const dids = new Set<string>();
  for (const seed of [1, 2, 3]) {
    for (const node of ["node-0", "node-1", "node-2"]) {
      dids.add((await simulationIdentity(seed, node)).did);
    }
  }
  assert.equal(dids.size, 9);
});

Deno.test("the derived seed is 32 bytes and separates seed from node id unambiguously", async () => {
  const seed = await deriveSimulationSeed(12, "3");
  assert.equal(seed.length, 32);
  assert.notDeepEqual(seed, await deriveSimulationSeed(1, "23"));
  assert.notDeepEqual(seed, await deriveSimulationSeed(123, ""));
});

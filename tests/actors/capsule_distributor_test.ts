// Proves capsules travel over the transport, are installed only when verified, and come into force at the epoch boundary, while forged offers are refused and counted.

import assert from "node:assert/strict";
import {
  CAPSULE_TOPIC,
  capsuleDistributor,
  type CapsuleDistributorMessage,
  type CapsuleDistributorStatus,
  type CapsuleSwitched,
} from "../../actors/capsule_distributor.ts";
import { createCapsule, verifyCapsule } from "../../policies/capsule.ts";
import { CapsuleRegistry } from "../../policies/capsule_registry.ts";
import { IngressGate } from "../../policies/ingress_gate.ts";
import type { ActorRef } from "../../runtime/actor.ts";
import { silentLogSink } from "../../runtime/log.ts";
import { RealEnv } from "../../runtime/real_env.ts";
import { ActorSystem } from "../../runtime/system.ts";
import { InProcHub } from "../../runtime/transport/inproc.ts";
import { baseEngine, cedarRuntime, eventually, TestKeys, view } from "../policies/_helpers.ts";

const runtime = await cedarRuntime();
const keys = new TestKeys();
const author = await keys.signer("did:key:z6MkGovernance");
const trustedAuthors = new Set([author.did]);
const genesisPackage = await createCapsule(await baseEngine(), { signer: author });
const nextPackage = await createCapsule(await baseEngine({ payloadBytesMax: 2 * 1_048_576 }), {
  signer: author,
  activationEpoch: 2,
});

async function node(hub: InProcHub, nodeId: string) {
  const env = await RealEnv.open({ nodeId, transport: hub.connect(nodeId) });
  const system = ActorSystem.create(env, { log: silentLogSink });
  const genesis = await verifyCapsule(genesisPackage, {
    runtime,
    verify: keys.verify,
    trustedAuthors,
  });
  const registry = new CapsuleRegistry(genesis);
  const switches: CapsuleSwitched[] = [];
  const notify = system.spawn<CapsuleSwitched>(() => ({
    receive: (_c, m) => void switches.push(m),
  }));
  const distributor = system.spawn(
    () => capsuleDistributor({ registry, runtime, verify: keys.verify, trustedAuthors, notify }),
    { name: "capsules" },
  );
  const statuses: CapsuleDistributorStatus[] = [];
  const statusSink = system.spawn<CapsuleDistributorStatus>(() => ({
    receive: (_c, status) => void statuses.push(status),
  }));
  const status = async (): Promise<CapsuleDistributorStatus> => {
    const count = statuses.length;
    distributor.tell({ type: "status", replyTo: statusSink });
    await eventually(() => statuses.length > count);
    return statuses[statuses.length - 1];
  };
  const close = async () => {
    await system.terminate();
    await env.close();
  };
  return { system, registry, distributor, switches, status, close };
}

Deno.test("a capsule announced by one node is verified, staged and switched to at its epoch by another", async () => {
  const hub = new InProcHub();
  const [alpha, beta] = [await node(hub, "alpha"), await node(hub, "beta")];
  try {
    const ingress = new IngressGate(beta.registry);
    const genesisHash = beta.registry.active.hash;
    alpha.distributor.tell({ type: "announce", package: nextPackage });
    await eventually(() =>
      beta.registry.pending.length === 1 && alpha.registry.pending.length === 1
    );
    const nextHash = beta.registry.pending[0].hash;

    beta.distributor.tell({ type: "epoch", epoch: 1 });
    assert.equal((await beta.status()).activeHash, genesisHash);
    const big = (capsule: string) => view("NEED", { capsule, payloadBytes: 1_500_000 });
    assert.deepEqual(ingress.admit(big(genesisHash)), {
      delivered: false,
      code: "E_POLICY_DENIED",
      reasons: ["payload-size-cap"],
      message: "Policy denies NEED envelope: payload-size-cap",
    });

    beta.distributor.tell({ type: "epoch", epoch: 2 });
    await eventually(() => beta.switches.length === 1);
    assert.deepEqual(beta.switches[0], {
      type: "capsule-switched",
      epoch: 2,
      capsuleHash: nextHash,
      previousHash: genesisHash,
    });
    const stale = ingress.admit(view("NEED", { capsule: genesisHash }));
    assert.equal(stale.delivered ? "" : stale.code, "E_POLICY_CAPSULE_MISMATCH");
    assert.equal(ingress.admit(big(nextHash)).delivered, true);
    const status = await beta.status();
    assert.deepEqual([status.received, status.staged, status.switched], [1, 1, 1]);
  } finally {
    await Promise.all([alpha.close(), beta.close()]);
  }
});

Deno.test("forged offers and foreign messages on the capsule topic are refused and counted", async () => {
  const hub = new InProcHub();
  const [honest, rogue] = [await node(hub, "honest"), await node(hub, "rogue")];
  try {
    const stranger = await keys.signer("did:key:z6MkRogue");
    const strangerPackage = await createCapsule(await baseEngine({ threadRetriesMax: 3 }), {
      signer: stranger,
      activationEpoch: 5,
    });
    const publisher: ActorRef<unknown> = rogue.system.spawn<unknown>(() => ({
      receive: (ctx, message) => ctx.publish(CAPSULE_TOPIC, message),
    }));
    const tampered = { ...nextPackage, policyText: nextPackage.policyText.replace("16", "1000") };
    publisher.tell({ type: "capsule-offer", package: tampered });
    publisher.tell({ type: "capsule-offer", package: strangerPackage });
    publisher.tell({ type: "epoch", epoch: 99 } satisfies CapsuleDistributorMessage);
    publisher.tell(null);
    let status = await honest.status();
    for (let round = 0; round < 500 && sum(status.rejected) < 4; round++) {
      status = await honest.status();
    }
    assert.deepEqual(status.rejected, {
      E_CAPSULE_TAMPERED: 1,
      E_CAPSULE_AUTHOR: 1,
      E_CAPSULE_MALFORMED: 2,
    });
    assert.equal(status.epoch, 0);
    assert.deepEqual(status.pending, []);
    assert.equal(honest.registry.active.body.activationEpoch, 0);
  } finally {
    await Promise.all([honest.close(), rogue.close()]);
  }
});

function sum(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}

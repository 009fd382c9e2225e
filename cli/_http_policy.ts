/**
 * The policy routes of a node's HTTP API:
 *
 *   GET  /policy            the capsule in force, capsules staged, epoch, refusals
 *   POST /policy/capsules   a capsule package as JSON (`policy capsule` writes one) → 202;
 *                           the node offers it to the swarm, every node verifies it
 *   POST /epoch             advance the swarm's epoch (RECONCILE) → 200 {"epoch"};
 *                           staged capsules due by then come into force
 *
 * @module
 */

import type { ActorRef } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import type { ActorSystem } from "../runtime/system.ts";
import { CapsuleError, capsuleFromJson, capsuleHash } from "../policies/mod.ts";
import type {
  CapsuleDistributorMessage,
  CapsuleDistributorStatus,
} from "../actors/capsule_distributor.ts";
import type { EpochManagerMessage } from "../actors/epoch_manager.ts";
import { HttpApiError } from "./_http_error.ts";

/** What the policy routes talk to. */
export interface HttpPolicyTarget {
  readonly system: ActorSystem;
  /** The node's capsule distributor; undefined when policy is off. */
  readonly capsules: ActorRef<CapsuleDistributorMessage> | undefined;
  readonly epochManager: ActorRef<EpochManagerMessage>;
}

/** The capsule status of the node (GET /policy). */
export async function policyStatus(target: HttpPolicyTarget): Promise<CapsuleDistributorStatus> {
  return await target.system.ask<CapsuleDistributorMessage, CapsuleDistributorStatus>(
    distributorOf(target),
    (replyTo) => ({ type: "status", replyTo }),
  );
}

/**
 * Offers a capsule package (its JSON form) to the swarm (POST
 * /policy/capsules); the answer names the capsule. Throws an
 * {@linkcode HttpApiError} for a malformed package.
 */
export async function offerCapsule(
  target: HttpPolicyTarget,
  body: unknown,
): Promise<{ capsule: string; activationEpoch: number; author: string }> {
  const distributor = distributorOf(target);
  let pkg;
  try {
    pkg = capsuleFromJson(body);
  } catch (error) {
    if (!(error instanceof CapsuleError)) throw error;
    throw new HttpApiError(400, error.code, error.message);
  }
  distributor.tell({ type: "announce", package: pkg });
  return {
    capsule: await capsuleHash(pkg.body),
    activationEpoch: pkg.body.activationEpoch,
    author: pkg.body.author,
  };
}

/** Advances the swarm's epoch through this node's epoch manager (POST /epoch). */
export async function advanceEpoch(target: HttpPolicyTarget): Promise<{ epoch: number }> {
  const result = await target.system.ask<EpochManagerMessage, Settled<number>>(
    target.epochManager,
    (replyTo) => ({ type: "reconcile", replyTo }),
  );
  if (!result.ok) {
    throw new HttpApiError(
      503,
      "E_EPOCH_ADVANCE",
      result.error instanceof Error ? result.error.message : String(result.error),
    );
  }
  return { epoch: result.value };
}

function distributorOf(target: HttpPolicyTarget): ActorRef<CapsuleDistributorMessage> {
  if (target.capsules === undefined) {
    throw new HttpApiError(404, "E_HTTP_NO_POLICY", "This node runs without policy (--policy off)");
  }
  return target.capsules;
}

/**
 * What the policy gates see of an envelope: its kind, sender, thread, size,
 * epoch, capsule and the payload facts the rules read.
 *
 * @module
 */

import type { EnvelopeView, PayloadFacts } from "../policies/envelope_view.ts";
import type { LifecycleMessage, PayloadOf } from "../protocols/lifecycle/payloads.ts";

/** The view of a lifecycle message travelling as an envelope of `payloadBytes` under `capsule`. */
export function envelopeView(
  message: LifecycleMessage,
  fields: { readonly payloadBytes: number; readonly epoch?: number; readonly capsule: string },
): EnvelopeView {
  return {
    kind: message.kind,
    sender: message.sender,
    thread: message.thread,
    payloadBytes: fields.payloadBytes,
    epoch: fields.epoch ?? 0,
    capsule: fields.capsule,
    payload: payloadFacts(message),
  };
}

/** The payload fields of `message` the policy rules read. */
export function payloadFacts(message: LifecycleMessage): PayloadFacts {
  switch (message.kind) {
    case "NEED":
      return { budget: (message.payload as PayloadOf["NEED"]).budget };
    case "PROPOSE":
      return { cost: (message.payload as PayloadOf["PROPOSE"]).cost };
    case "CLAIM":
      return { cost: (message.payload as PayloadOf["CLAIM"]).cost };
    case "COMMIT": {
      const commit = message.payload as PayloadOf["COMMIT"];
      return {
        artifacts: commit.artifacts.length,
        telemetry: {
          cost: commit.telemetry.costUnits,
          timeMs: commit.telemetry.timeMs,
          memoryBytes: commit.telemetry.memoryBytes,
        },
      };
    }
    case "CHALLENGE":
      return { proofType: (message.payload as PayloadOf["CHALLENGE"]).proofType };
    default:
      return {};
  }
}

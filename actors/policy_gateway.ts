/**
 * Policy gates in the actor runtime: an outbox that runs the preflight gate
 * before it publishes, and an inbox that runs the ingress gate on every
 * message it hears and forwards only admitted ones. Until signed envelopes
 * exist, a message on the wire is a {@linkcode GatedMessage}: the envelope
 * view the policy reads plus the body to deliver; the envelope layer will
 * replace it with the verified envelope.
 *
 * @module
 */

import type { ActorRef, Behavior } from "../runtime/actor.ts";
import { errorCode, errorMessage } from "../runtime/errors.ts";
import type { EnvelopeView, NodeFacts } from "../policies/envelope_view.ts";
import type { IngressGate } from "../policies/ingress_gate.ts";
import type { PreflightGate } from "../policies/preflight_gate.ts";

/** A message under policy: what the gates read and what the recipient gets. */
export interface GatedMessage {
  readonly view: EnvelopeView;
  readonly body: unknown;
}

/** Commands of the outbox. */
export type PolicyOutboxMessage = {
  readonly type: "send";
  readonly topic: string;
  readonly view: EnvelopeView;
  readonly body: unknown;
  /** The sender's own facts (its ledger's usage, its clock). */
  readonly facts?: NodeFacts;
  /** Told the outcome: published, or refused with reasons. */
  readonly replyTo?: ActorRef<PolicyOutboxResult>;
};

/** What the outbox did with one `send`. */
export type PolicyOutboxResult =
  | { readonly published: true; readonly capsuleHash: string; readonly cached: boolean }
  | { readonly published: false; readonly code: string; readonly reasons: readonly string[] };

/**
 * The outbox: publishes a message only when the preflight gate allows it,
 * stamping the capsule hash into the view (the envelope's `policy` field).
 */
export function policyOutbox(gate: PreflightGate): Behavior<PolicyOutboxMessage> {
  return {
    receive(ctx, message) {
      let result: PolicyOutboxResult;
      try {
        const decision = gate.check(message.view, message.facts);
        if (decision.allowed) {
          const view = { ...message.view, capsule: decision.capsuleHash };
          ctx.publish(message.topic, { view, body: message.body } satisfies GatedMessage);
          result = { published: true, capsuleHash: decision.capsuleHash, cached: decision.cached };
        } else {
          result = { published: false, code: "E_POLICY_DENIED", reasons: decision.reasons };
        }
      } catch (error) {
        result = { published: false, code: errorCode(error), reasons: [errorMessage(error)] };
      }
      if (!result.published) {
        ctx.log.warn("policy: preflight refused to publish", {
          ...result,
          kind: message.view?.kind,
        });
      }
      message.replyTo?.tell(result);
    },
  };
}

/** Settings of the inbox. */
export interface PolicyInboxConfig {
  readonly gate: IngressGate;
  /** Topics to hear. */
  readonly topics: readonly string[];
  /** Receives admitted messages. */
  readonly deliverTo: ActorRef<GatedMessage>;
  /** Node facts for a view (committee, clock, window); none when absent. */
  readonly facts?: (view: EnvelopeView) => NodeFacts;
}

/**
 * The inbox: every message heard on `topics` goes through the ingress gate;
 * only admitted ones reach `deliverTo`, and count against their thread's
 * budgets in the gate's ledger. The gate counts and logs the rest.
 */
export function policyInbox(config: PolicyInboxConfig): Behavior<unknown> {
  return {
    preStart(ctx) {
      for (const topic of config.topics) ctx.subscribe(topic);
    },
    receive(ctx, message) {
      const gated = message as Partial<GatedMessage> | null;
      const view = (typeof gated === "object" && gated !== null ? gated.view : undefined) as
        | EnvelopeView
        | undefined;
      let facts: NodeFacts = {};
      try {
        if (view !== undefined && config.facts !== undefined) facts = config.facts(view);
      } catch (error) {
        // Without facts, the rules that need them deny: the safe side.
        ctx.log.warn("policy: no node facts for envelope", { error: errorMessage(error) });
      }
      const verdict = config.gate.admit(view as EnvelopeView, facts);
      if (!verdict.delivered) return;
      // Delivered is taken here: it counts against its thread's budgets.
      config.gate.record(view as EnvelopeView);
      config.deliverTo.tell(gated as GatedMessage);
    },
  };
}

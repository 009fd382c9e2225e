/**
 * The node core's policy gates: the capsule in force, the preflight check
 * before a local message is signed, the ingress check before a peer's
 * envelope reaches the reducer, and the thread budgets both count against.
 * What only the node knows (committee membership, the challenge window) is
 * read from its thread book and handed to the rules as facts.
 *
 * @module
 */

import { SwarmError } from "../runtime/errors.ts";
import {
  encodedPayloadSize,
  type PayloadMap,
  type SignedEnvelope,
} from "../protocols/envelope/mod.ts";
import type { LifecycleMessage } from "../protocols/lifecycle/payloads.ts";
import type { CapsuleRegistry } from "../policies/capsule_registry.ts";
import type { CommitGate } from "../policies/commit_gate.ts";
import type { IngressGate } from "../policies/ingress_gate.ts";
import type { PreflightGate } from "../policies/preflight_gate.ts";
import type { ThreadBudgetLedger } from "../policies/thread_budgets.ts";
import { envelopeView, payloadFacts } from "./_policy_view.ts";
import type { ThreadBook } from "./_thread_book.ts";

/** The policy gates a node runs. */
export interface NodePolicy {
  /**
   * The capsules of the node: the one in force names every envelope's
   * `policy`, and only envelopes under it are accepted. The node's capsule
   * distributor switches it at epoch boundaries.
   */
  readonly capsules: CapsuleRegistry;
  readonly preflight: PreflightGate;
  readonly ingress: IngressGate;
  /** The thread budgets the gates read; every envelope a thread takes is counted in it. */
  readonly budgets: ThreadBudgetLedger;
  /** Used by the node's verifier. */
  readonly commit: CommitGate;
}

/** Raised when preflight policy refuses a local message (`E_POLICY_DENIED`). */
export class ProtocolPolicyDenied extends SwarmError {
  constructor(message: string) {
    super("E_POLICY_DENIED", message);
  }
}

/** An ingress verdict: delivered, or refused with the gate's code and reasons. */
export type Admission =
  | { readonly delivered: true }
  | { readonly delivered: false; readonly code: string; readonly reasons: readonly string[] };

/** The gates of one node core; without a policy every check passes. */
export class CoreGates {
  readonly #policy: NodePolicy | undefined;
  readonly #fallbackCapsule: string;
  readonly #book: ThreadBook;

  /** `fallbackCapsule` names envelopes when the node runs no policy. */
  constructor(policy: NodePolicy | undefined, fallbackCapsule: string, book: ThreadBook) {
    this.#policy = policy;
    this.#fallbackCapsule = fallbackCapsule;
    this.#book = book;
  }

  /** Hash of the policy capsule in force: envelopes are signed and accepted under it. */
  capsule(): string {
    return this.#policy?.capsules.current().capsuleHash ?? this.#fallbackCapsule;
  }

  /** Sender-side check; throws {@linkcode ProtocolPolicyDenied} so the message is never signed. */
  preflight(draft: LifecycleMessage, epoch: number | undefined, nowMs: number): void {
    const policy = this.#policy;
    if (policy === undefined) return;
    const view = envelopeView(draft, {
      payloadBytes: encodedPayloadSize(draft.payload as unknown as PayloadMap),
      epoch,
      capsule: this.capsule(),
    });
    const usage = policy.budgets.usage(draft.thread);
    const verdict = policy.preflight.check(view, { ...this.#facts(draft, true, nowMs), usage });
    if (!verdict.allowed) {
      throw new ProtocolPolicyDenied(`Policy denies ${draft.kind}: ${verdict.reasons.join(", ")}`);
    }
  }

  /** Receive-side check of a peer's envelope (the gate counts and logs what it refuses). */
  admit(message: LifecycleMessage, envelope: SignedEnvelope, nowMs: number): Admission {
    const policy = this.#policy;
    if (policy === undefined) return { delivered: true };
    const view = envelopeView(message, {
      payloadBytes: envelope.payloadSize,
      epoch: envelope.epoch,
      capsule: envelope.policy,
    });
    const verdict = policy.ingress.admit(view, this.#facts(message, false, nowMs));
    return verdict.delivered
      ? { delivered: true }
      : { delivered: false, code: verdict.code, reasons: verdict.reasons };
  }

  /** Counts a message its thread took (this node's own or a peer's) against the thread's budgets. */
  record(message: LifecycleMessage): void {
    this.#policy?.budgets.record({
      kind: message.kind,
      thread: message.thread,
      payload: payloadFacts(message),
    });
  }

  /** What only this node knows about a message, for the policy rules; `own`: a local message. */
  #facts(message: LifecycleMessage, own: boolean, nowMs: number) {
    const { taskId, commitId } = message.payload as { taskId?: string; commitId?: string };
    if (message.kind === "ATTEST") {
      return {
        committeeMember: this.#book.mayAttest(message.thread, taskId ?? "", message.sender),
      };
    }
    if (message.kind !== "CHALLENGE") return {};
    return {
      nowMs: Math.floor(nowMs),
      challengeWindow: this.#book.challengeWindow(
        message.thread,
        taskId ?? "",
        commitId ?? "",
        own,
      ),
    };
  }
}

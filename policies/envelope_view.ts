/**
 * The envelope view: the part of a signed envelope the policy layer reads,
 * and its mapping to a Cedar request (principal = sender DID, action = kind,
 * resource = thread, context = size, epoch, budgets, telemetry, committee
 * membership and challenge window).
 *
 * Facts about the envelope come from the envelope ({@linkcode EnvelopeView});
 * facts that only the evaluating node knows (what the thread has used, who
 * sits on the committee, the node's clock, measured telemetry) come in
 * separately as {@linkcode NodeFacts}, so it is always clear which side
 * vouches for which value. Both end up in the canonical request, so the
 * evaluation digest covers them.
 *
 * @module
 */

import { PolicyRequestError } from "./errors.ts";
import { contextShapeOf, isPolicyKind } from "./kinds.ts";
import { type ContextValue, describe, type PolicyRequest, REQUEST_LIMITS } from "./request.ts";

/** Resource telemetry of a piece of work: claimed in a COMMIT, measured by a verifier. */
export interface Telemetry {
  /** Cost units spent. */
  readonly cost: number;
  /** Wall time, milliseconds. */
  readonly timeMs: number;
  /** Peak memory, bytes. */
  readonly memoryBytes: number;
}

/** Payload fields the rules read; the envelope layer extracts them from the verb's payload. */
export interface PayloadFacts {
  /** PROPOSE, CLAIM, COMMIT: the cost the envelope declares (COMMIT: `telemetry.cost` if absent). */
  readonly cost?: number;
  /** NEED: the thread's cost budget. */
  readonly budget?: number;
  /** COMMIT: how many artifact CIDs it names. */
  readonly artifacts?: number;
  /** COMMIT: the claimed telemetry (required for COMMIT). */
  readonly telemetry?: Telemetry;
  /** CHALLENGE: the proof type (required for CHALLENGE). */
  readonly proofType?: string;
}

/** What the policy layer needs to know about one envelope. */
export interface EnvelopeView {
  /** Envelope kind (a verb); unknown kinds are denied by policy, not rejected as malformed. */
  readonly kind: string;
  /** The signer's DID (`did:key:…`), already verified by the envelope layer. */
  readonly sender: string;
  /** Thread id. */
  readonly thread: string;
  /** Size of the encoded payload, bytes. */
  readonly payloadBytes: number;
  /** The envelope's epoch (0 where the verb has none). */
  readonly epoch: number;
  /** 0 for a first send, n for the n-th retry. Default 0. */
  readonly attempt?: number;
  /** The envelope's `policy` field: hash of the capsule the sender evaluated under. */
  readonly capsule?: string;
  /** Payload fields the rules need. */
  readonly payload?: PayloadFacts;
}

/** What a thread has used so far, as the evaluating node counts it. */
export interface ThreadUsage {
  /** Envelopes admitted on the thread. */
  readonly messages: number;
  /** Retries admitted on the thread. */
  readonly retries: number;
  /** Cost admitted on the thread (CLAIMs). */
  readonly cost: number;
  /** The thread's cost budget, from its NEED, when this node has seen it. */
  readonly costMax?: number;
}

/** Facts only the evaluating node knows. */
export interface NodeFacts {
  /** Thread usage; zero when absent. */
  readonly usage?: ThreadUsage;
  /** ATTEST: whether the sender is on the task's verifier committee. Default false. */
  readonly committeeMember?: boolean;
  /** CHALLENGE: the node's time, ms. */
  readonly nowMs?: number;
  /** CHALLENGE: the commit's challenge window [opensMs, closesMs). Default empty (deny). */
  readonly challengeWindow?: { readonly opensMs: number; readonly closesMs: number };
  /** COMMIT in the commit gate: telemetry the verifier measured. */
  readonly actual?: Telemetry;
}

/**
 * Maps an envelope view and node facts to a policy request. Throws
 * {@linkcode PolicyRequestError} naming the field for a malformed view.
 *
 * @example
 * ```ts
 * const request = toPolicyRequest(
 *   { kind: "CLAIM", sender: did, thread: "t-1", payloadBytes: 120, epoch: 3, payload: { cost: 5 } },
 *   { usage: ledger.usage("t-1") },
 * );
 * ```
 */
export function toPolicyRequest(view: EnvelopeView, facts: NodeFacts = {}): PolicyRequest {
  if (typeof view !== "object" || view === null) {
    throw viewError(`Envelope view must be an object, got ${describe(view)}`);
  }
  checkString("kind", view.kind);
  checkString("sender", view.sender);
  checkString("thread", view.thread);
  const payload = view.payload ?? {};
  const usage = facts.usage ?? { messages: 0, retries: 0, cost: 0 };
  const context: Record<string, ContextValue> = {
    payloadBytes: number("payloadBytes", view.payloadBytes),
    epoch: number("epoch", view.epoch),
    attempt: number("attempt", view.attempt ?? 0),
    threadMessages: number("usage.messages", usage.messages),
    threadRetries: number("usage.retries", usage.retries),
  };
  const shape = isPolicyKind(view.kind) ? contextShapeOf(view.kind) : "base";
  if (shape === "cost") addCost(context, payload, usage);
  else if (shape === "commit") addCommit(context, payload, facts);
  else if (shape === "attest") context.committeeMember = facts.committeeMember === true;
  else if (shape === "challenge") addChallenge(context, payload, facts);
  return { principal: view.sender, action: view.kind, resource: view.thread, context };
}

function addCost(
  context: Record<string, ContextValue>,
  payload: PayloadFacts,
  usage: ThreadUsage,
): void {
  context.cost = number("payload.cost", payload.cost);
  context.threadCost = number("usage.cost", usage.cost);
  context.costBudgetKnown = usage.costMax !== undefined;
  context.threadCostMax = number("usage.costMax", usage.costMax ?? 0);
}

function addCommit(
  context: Record<string, ContextValue>,
  payload: PayloadFacts,
  facts: NodeFacts,
): void {
  const claimed = payload.telemetry;
  if (typeof claimed !== "object" || claimed === null) {
    throw viewError(`COMMIT envelope view needs payload.telemetry, got ${describe(claimed)}`);
  }
  context.cost = number("payload.cost", payload.cost ?? claimed.cost);
  context.artifacts = number("payload.artifacts", payload.artifacts ?? 0);
  context.claimedTimeMs = number("payload.telemetry.timeMs", claimed.timeMs);
  context.claimedMemoryBytes = number("payload.telemetry.memoryBytes", claimed.memoryBytes);
  if (facts.actual !== undefined) {
    context.actualCost = number("actual.cost", facts.actual.cost);
    context.actualTimeMs = number("actual.timeMs", facts.actual.timeMs);
    context.actualMemoryBytes = number("actual.memoryBytes", facts.actual.memoryBytes);
  }
}

function addChallenge(
  context: Record<string, ContextValue>,
  payload: PayloadFacts,
  facts: NodeFacts,
): void {
  checkString("payload.proofType", payload.proofType);
  const window = facts.challengeWindow ?? { opensMs: 0, closesMs: 0 };
  context.nowMs = number("nowMs", facts.nowMs ?? 0);
  context.windowOpensMs = number("challengeWindow.opensMs", window.opensMs);
  context.windowClosesMs = number("challengeWindow.closesMs", window.closesMs);
  context.proofType = payload.proofType as string;
}

function checkString(field: string, value: unknown): void {
  const limit = field.startsWith("payload.")
    ? REQUEST_LIMITS.stringLengthMax
    : REQUEST_LIMITS.idLengthMax;
  if (typeof value !== "string" || value.length === 0 || value.length > limit) {
    throw viewError(
      `Envelope view ${field} must be a non-empty string of at most ${limit} characters, got ${
        describe(value)
      }`,
    );
  }
}

function number(field: string, value: unknown): number {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 ||
    value >= REQUEST_LIMITS.numberLimit
  ) {
    throw viewError(
      `Envelope view ${field} must be an integer in [0, 2^48), got ${describe(value)}`,
    );
  }
  return value;
}

function viewError(message: string): PolicyRequestError {
  return new PolicyRequestError("E_POLICY_REQUEST", message);
}

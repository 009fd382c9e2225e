/**
 * The ingress gate: every node evaluates every envelope it receives, in
 * full, before delivering it. A denied, malformed or foreign-policy envelope
 * is dropped, counted and logged with its reasons, and never delivered; the
 * gate never throws for anything a peer sends.
 *
 * @module
 */

import { errorCode, errorMessage } from "../runtime/errors.ts";
import type { PolicyDecision } from "./engine.ts";
import { type EnvelopeView, type NodeFacts, toPolicyRequest } from "./envelope_view.ts";
import { PolicyCapsuleMismatchError, PolicyRequestError } from "./errors.ts";
import type { PolicySource } from "./policy_source.ts";
import { checkPolicyRequest } from "./request.ts";
import type { ThreadBudgetLedger } from "./thread_budgets.ts";

/** What the gate did with one envelope. */
export type IngressVerdict =
  | {
    readonly delivered: true;
    readonly decision: PolicyDecision;
    readonly capsuleHash: string;
  }
  | {
    readonly delivered: false;
    /** `E_POLICY_DENIED`, `E_POLICY_REQUEST`, `E_POLICY_CAPSULE_MISMATCH`, … */
    readonly code: string;
    /** Rule ids for a denial; the error code otherwise. */
    readonly reasons: readonly string[];
    readonly message: string;
  };

/** Where the gate logs a dropped envelope (an actor's `ctx.log.warn` fits). */
export type IngressLog = (message: string, fields: Record<string, unknown>) => void;

/** Options of {@linkcode IngressGate}. */
export interface IngressGateOptions {
  /** Counts thread usage: read for the budget rules, updated for every delivered envelope. */
  readonly ledger?: ThreadBudgetLedger;
  /** Receives one entry per dropped envelope. */
  readonly log?: IngressLog;
}

/** Counters of an ingress gate. */
export interface IngressCounters {
  delivered: number;
  /** Denied by policy. */
  denied: number;
  /** Malformed views (`E_POLICY_REQUEST*`). */
  malformed: number;
  /** Evaluated under another capsule. */
  capsuleMismatch: number;
  /** Engine failures; the envelope was dropped. */
  failed: number;
}

/** Receive-side policy enforcement. */
export class IngressGate {
  readonly #source: PolicySource;
  readonly #ledger: ThreadBudgetLedger | undefined;
  readonly #log: IngressLog | undefined;
  readonly counters: IngressCounters = {
    delivered: 0,
    denied: 0,
    malformed: 0,
    capsuleMismatch: 0,
    failed: 0,
  };
  /** Drops per reason (rule id or error code), bounded like the engine's. */
  readonly dropsByReason = new Map<string, number>();

  constructor(source: PolicySource, options: IngressGateOptions = {}) {
    this.#source = source;
    this.#ledger = options.ledger;
    this.#log = options.log;
  }

  /**
   * Decides whether to deliver `view`. With a ledger, the thread usage in
   * `facts` is taken from the ledger. Counting is the caller's: it records
   * an envelope once its thread takes it, so an envelope delivered but then
   * refused, or delivered again, is not counted twice.
   */
  admit(view: EnvelopeView, facts: NodeFacts = {}): IngressVerdict {
    let verdict: IngressVerdict;
    try {
      verdict = this.#evaluate(view, facts);
    } catch (error) {
      verdict = this.#failure(error);
    }
    if (verdict.delivered) {
      this.counters.delivered++;
    } else {
      this.#drop(view, verdict);
    }
    return verdict;
  }

  /**
   * Counts an envelope its thread took in the gate's ledger (without one,
   * nothing). Call it once per envelope, when it is taken: a node core when
   * its thread book accepts it, an inbox when it delivers it.
   */
  record(view: EnvelopeView): void {
    this.#ledger?.record(view);
  }

  #evaluate(view: EnvelopeView, facts: NodeFacts): IngressVerdict {
    const { engine, capsuleHash } = this.#source.current();
    if (view?.capsule !== capsuleHash) {
      throw new PolicyCapsuleMismatchError(String(view?.capsule ?? ""), capsuleHash);
    }
    const usage = this.#ledger?.usage(view.thread);
    const request = toPolicyRequest(view, usage === undefined ? facts : { ...facts, usage });
    const decision = engine.evaluateChecked(checkPolicyRequest(request));
    if (decision.allowed) return { delivered: true, decision, capsuleHash };
    this.counters.denied++;
    return {
      delivered: false,
      code: "E_POLICY_DENIED",
      reasons: decision.reasons,
      message: `Policy denies ${view.kind} envelope: ${decision.reasons.join(", ")}`,
    };
  }

  #failure(error: unknown): IngressVerdict {
    const code = errorCode(error);
    if (error instanceof PolicyCapsuleMismatchError) this.counters.capsuleMismatch++;
    else if (error instanceof PolicyRequestError) this.counters.malformed++;
    else this.counters.failed++;
    return { delivered: false, code, reasons: [code], message: errorMessage(error) };
  }

  #drop(view: EnvelopeView, verdict: Extract<IngressVerdict, { delivered: false }>): void {
    for (const reason of verdict.reasons) {
      const key = this.dropsByReason.has(reason) || this.dropsByReason.size < 256
        ? reason
        : "other";
      this.dropsByReason.set(key, (this.dropsByReason.get(key) ?? 0) + 1);
    }
    this.#log?.("policy: envelope dropped at ingress", {
      code: verdict.code,
      reasons: verdict.reasons,
      kind: typeof view?.kind === "string" ? view.kind.slice(0, 64) : undefined,
      sender: typeof view?.sender === "string" ? view.sender.slice(0, 128) : undefined,
      thread: typeof view?.thread === "string" ? view.thread.slice(0, 128) : undefined,
      message: verdict.message,
    });
  }
}

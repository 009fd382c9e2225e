/**
 * The decider's arbiter (private to the actors): rules on the challenges of
 * the decider's buckets. It refuses at once what is outside the window or
 * over the challenger's rate; otherwise it fetches the evidence and the
 * commit's artifacts from the content store off the actor's turn, rules with
 * `protocols/economics/judge.ts`, and asks the core to emit the INVALIDATE.
 * While a challenge on a verified commit is unruled, the decider holds its
 * FINALIZE back, so a ruling the core refuses for a passing reason (the
 * thread not yet as the stamp needs it) is asked for again with backoff;
 * only a refusal that no retry can change ends it (see `SETTLED`).
 *
 * @module
 */

import type { ActorContext, ActorRef } from "../runtime/actor.ts";
import { errorCode } from "../runtime/errors.ts";
import type { Settled } from "../runtime/env.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import {
  admissibility,
  type FetchedProof,
  judgeChallenge,
  type Judgement,
  RateLimiter,
} from "../protocols/economics/mod.ts";
import type { ChallengeState, ThreadState } from "../protocols/lifecycle/state.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { CID } from "multiformats/cid";
import type { CoreMessage, EmitResult } from "./swarm_messages.ts";

/** The arbiter's messages, handled by its decider with {@linkcode Arbiter.receive}. */
export type ArbiterMessage =
  /** A proof came back from the content store. */
  | {
    readonly type: "proof-fetched";
    readonly needId: string;
    readonly challengeId: string;
    readonly fetched: Settled<FetchedProof>;
  }
  /** The core's answer to a ruling (or the ask's timeout). */
  | {
    readonly type: "ruling-answered";
    readonly needId: string;
    readonly challengeId: string;
    readonly attempt: number;
    /** The ruling asked for, to ask for again after a passing refusal. */
    readonly judgement: Judgement;
    readonly answer: Settled<EmitResult>;
  }
  /** Time to ask for a refused ruling again. */
  | {
    readonly type: "rule-again";
    readonly needId: string;
    readonly challengeId: string;
    readonly attempt: number;
  };

/**
 * Refusals of a ruling that no retry changes: another ruling came first,
 * the result it would overturn is final and paid (the challenge stays
 * unruled and its bond is refunded), the NEED is gone, or this decider may
 * not rule on the NEED (it neither decided it nor holds its bucket's fence).
 */
const SETTLED: ReadonlySet<string> = new Set([
  "E_CHALLENGE_RESOLVED",
  "E_OUT_OF_WINDOW",
  "E_UNKNOWN_NEED",
  "E_NOT_DECIDER",
]);

/** Attempts at one ruling; with the backoff below, about four minutes in all. */
const RULE_ATTEMPTS_MAX = 10;
const RULE_RETRY_BASE_MS = 1_000;
const RULE_RETRY_MAX_MS = 30_000;

/** Counters of an arbiter, part of its decider's stats. */
export interface ArbiterStats {
  /**
   * Rulings the core refused (each attempt), by code; an unanswered ask
   * counts as `E_ASK_TIMEOUT`, one held back until the bucket's fence is
   * back as `E_UNFENCED`.
   */
  rulingsRefused?: Record<string, number>;
}

/** Rules on challenges for one decider. */
export class Arbiter {
  readonly #core: ActorRef<CoreMessage>;
  readonly #cas: ContentStore | undefined;
  readonly #params: SwarmParams;
  readonly #limiter: RateLimiter;
  readonly #stats: ArbiterStats;
  /** The fence a ruling on a thread carries: its decider's fence of the bucket (see `Decider`). */
  readonly #fenceFor: (thread: ThreadState) => number | undefined;
  /** Challenges being ruled on (fetch in flight), by id. */
  readonly #inFlight = new Set<string>();
  /** Challenges ruled on by this decider (INVALIDATE asked for, or settled), bounded. */
  readonly #ruled = new Set<string>();
  /** Rulings the core refused, kept to be asked for again, by challenge id. */
  readonly #refused = new Map<string, Judgement>();

  constructor(
    core: ActorRef<CoreMessage>,
    params: SwarmParams,
    cas: ContentStore | undefined,
    stats: ArbiterStats,
    fenceFor: (thread: ThreadState) => number | undefined,
  ) {
    this.#fenceFor = fenceFor;
    this.#core = core;
    this.#cas = cas;
    this.#params = params;
    this.#stats = stats;
    this.#limiter = new RateLimiter({
      max: params.economics.challengeRateMax,
      windowMs: params.economics.challengeRateWindowMs,
    });
  }

  /**
   * A challenge was opened, or found unruled in a thread the decider took
   * over (after a restart): refuse it now, or fetch its proof.
   */
  opened<M>(ctx: ActorContext<M | ArbiterMessage>, thread: ThreadState, challengeId: string): void {
    const challenge = thread.challenges?.get(challengeId);
    if (challenge === undefined || challenge.verdict !== undefined) return;
    if (this.#inFlight.has(challengeId) || this.#ruled.has(challengeId)) return;
    const task = thread.tasks.get(challenge.taskId);
    const commit = task?.commits.get(challenge.commitId);
    if (task === undefined || commit === undefined) return;
    const withinRate = this.#limiter.admit(challenge.challenger, ctx.nowMs());
    const refusal = admissibility(challenge, task, commit, withinRate);
    if (refusal !== undefined) return this.#rule(ctx, thread, challenge, refusal, 0);
    this.#inFlight.add(challengeId);
    const fetched = fetchProof(this.#cas, challenge.evidence, commit.artifacts);
    const needId = thread.needId;
    ctx.pipeToSelf(
      fetched,
      (result) => ({ type: "proof-fetched", needId, challengeId, fetched: result }),
    );
  }

  /** Handles one of the arbiter's messages; `thread` is the decider's copy of its NEED. */
  receive<M>(
    ctx: ActorContext<M | ArbiterMessage>,
    thread: ThreadState | undefined,
    message: ArbiterMessage,
  ): void {
    switch (message.type) {
      case "proof-fetched":
        return this.#fetched(ctx, thread, message);
      case "ruling-answered":
        return this.#answered(ctx, message);
      case "rule-again": {
        const judgement = this.#refused.get(message.challengeId);
        this.#refused.delete(message.challengeId);
        const challenge = thread?.challenges?.get(message.challengeId);
        if (thread === undefined || challenge === undefined || judgement === undefined) return;
        if (challenge.verdict !== undefined) return;
        return this.#rule(ctx, thread, challenge, judgement, message.attempt);
      }
    }
  }

  /** The proof is in: rule on the challenge as the thread stands now. */
  #fetched<M>(
    ctx: ActorContext<M | ArbiterMessage>,
    thread: ThreadState | undefined,
    message: Extract<ArbiterMessage, { type: "proof-fetched" }>,
  ): void {
    this.#inFlight.delete(message.challengeId);
    const challenge = thread?.challenges?.get(message.challengeId);
    if (thread === undefined || challenge === undefined || challenge.verdict !== undefined) return;
    if (challenge.withdrawRequested) {
      return this.#rule(
        ctx,
        thread,
        challenge,
        { verdict: "WITHDRAWN", code: "OK", severity: 0 },
        0,
      );
    }
    const task = thread.tasks.get(challenge.taskId);
    const commit = task?.commits.get(challenge.commitId);
    if (task === undefined || commit === undefined) return;
    const late = admissibility(challenge, task, commit, true);
    if (late !== undefined) return this.#rule(ctx, thread, challenge, late, 0);
    const judgement: Judgement = !message.fetched.ok || this.#cas === undefined
      ? { verdict: "UNPROVEN", code: "E_PROOF_UNFETCHABLE", severity: 0 }
      : judgeChallenge(challenge, {
        task,
        commit,
        fetched: message.fetched.value,
        params: this.#params.economics,
      });
    this.#rule(ctx, thread, challenge, judgement, 0);
  }

  /** The challenger asked to withdraw: settle it now unless its proof is being fetched. */
  withdrawn<M>(ctx: ActorContext<M | ArbiterMessage>, thread: ThreadState, challengeId: string) {
    const challenge = thread.challenges?.get(challengeId);
    if (challenge === undefined || challenge.verdict !== undefined) return;
    if (this.#inFlight.has(challengeId)) return; // #fetched sees the request
    const withdrawal: Judgement = { verdict: "WITHDRAWN", code: "OK", severity: 0 };
    // A withdrawal replaces a refused ruling waiting for its retry.
    if (this.#refused.has(challengeId)) return void this.#refused.set(challengeId, withdrawal);
    this.#rule(ctx, thread, challenge, withdrawal, 0);
  }

  /** Whether a commit has a challenge not yet ruled on (its FINALIZE must wait). */
  blocks(thread: ThreadState, commitId: string): boolean {
    for (const challenge of thread.challenges?.values() ?? []) {
      if (challenge.commitId === commitId && challenge.verdict === undefined) return true;
    }
    return false;
  }

  #rule<M>(
    ctx: ActorContext<M | ArbiterMessage>,
    thread: ThreadState,
    challenge: ChallengeState,
    judgement: Judgement,
    attempt: number,
  ): void {
    const { challengeId } = challenge;
    if (this.#ruled.has(challengeId) || this.#refused.has(challengeId)) return;
    const needId = thread.needId;
    const fence = this.#fenceFor(thread);
    if (fence === undefined) {
      // The bucket's fence is not back yet (its take is in flight): a ruling needs it.
      return this.#refusedWith(ctx, needId, challengeId, judgement, attempt, "E_UNFENCED");
    }
    if (this.#ruled.size >= 100_000) this.#ruled.clear();
    this.#ruled.add(challengeId);
    ctx.ask<CoreMessage, EmitResult>(
      this.#core,
      (replyTo) => ({
        type: "emit",
        kind: "INVALIDATE",
        thread: needId,
        // The core stamps K_result, the committee, the votes, the slashes and the reward.
        payload: {
          target: "CHALLENGE",
          needId,
          taskId: challenge.taskId,
          commitId: challenge.commitId,
          challengeId,
          verdict: judgement.verdict,
          code: judgement.code,
          severity: judgement.severity,
        } as never,
        fence,
        replyTo,
      }),
      (answer) => ({ type: "ruling-answered", needId, challengeId, attempt, judgement, answer }),
    );
  }

  /** The core answered a ruling: done, settled otherwise, or asked for again later. */
  #answered<M>(
    ctx: ActorContext<M | ArbiterMessage>,
    message: Extract<ArbiterMessage, { type: "ruling-answered" }>,
  ): void {
    const { needId, challengeId, attempt, judgement, answer } = message;
    const result = answer.ok ? answer.value : undefined;
    if (result !== undefined && result.type !== "refused") return;
    const code = result?.code ?? errorCode(answer.ok ? undefined : answer.error);
    this.#refusedWith(ctx, needId, challengeId, judgement, attempt, code);
  }

  /** Counts a refused ruling, and asks for it again later unless no retry can change it. */
  #refusedWith<M>(
    ctx: ActorContext<M | ArbiterMessage>,
    needId: string,
    challengeId: string,
    judgement: Judgement,
    attempt: number,
    code: string,
  ): void {
    const refused = this.#stats.rulingsRefused ??= {};
    refused[code] = (refused[code] ?? 0) + 1;
    if (SETTLED.has(code)) return;
    ctx.log.warn("ruling refused", { needId, challengeId, code, attempt });
    if (attempt + 1 >= RULE_ATTEMPTS_MAX) return; // the NEED expires at its deadline
    this.#ruled.delete(challengeId);
    this.#refused.set(challengeId, judgement);
    const delayMs = Math.min(RULE_RETRY_MAX_MS, RULE_RETRY_BASE_MS * 2 ** attempt);
    ctx.schedule(delayMs * (0.5 + ctx.random()), {
      type: "rule-again",
      needId,
      challengeId,
      attempt: attempt + 1,
    });
  }
}

/** Reads the evidence and every artifact (a missing one reads as undefined). */
async function fetchProof(
  cas: ContentStore | undefined,
  evidence: string,
  artifacts: readonly string[],
): Promise<FetchedProof> {
  const read = async (text: string) => {
    if (cas === undefined) return undefined;
    try {
      return await cas.get(CID.parse(text));
    } catch {
      return undefined;
    }
  };
  const fetched = new Map<string, Uint8Array | undefined>();
  for (const artifact of artifacts) fetched.set(artifact, await read(artifact));
  return { evidence: await read(evidence), artifacts: fetched };
}

/**
 * The decider's arbiter (private to the actors): rules on the challenges of
 * the decider's buckets. It refuses at once what is outside the window or
 * over the challenger's rate; otherwise it fetches the evidence and the
 * commit's artifacts from the content store off the actor's turn, rules with
 * `protocols/economics/judge.ts`, and asks the core to emit the INVALIDATE.
 * While a challenge on a verified commit is unruled, the decider holds its
 * FINALIZE back.
 *
 * @module
 */

import type { ActorContext, ActorRef } from "../runtime/actor.ts";
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
import type { CoreMessage } from "./swarm_messages.ts";

/** The arbiter's message: a proof came back from the content store. */
export interface ProofFetched {
  readonly type: "proof-fetched";
  readonly needId: string;
  readonly challengeId: string;
  readonly fetched: Settled<FetchedProof>;
}

/** Rules on challenges for one decider. */
export class Arbiter {
  readonly #core: ActorRef<CoreMessage>;
  readonly #cas: ContentStore | undefined;
  readonly #params: SwarmParams;
  readonly #limiter: RateLimiter;
  /** Challenges being ruled on (fetch in flight), by id. */
  readonly #inFlight = new Set<string>();
  /** Challenges ruled on by this decider (INVALIDATE asked for), bounded. */
  readonly #ruled = new Set<string>();

  constructor(core: ActorRef<CoreMessage>, params: SwarmParams, cas: ContentStore | undefined) {
    this.#core = core;
    this.#cas = cas;
    this.#params = params;
    this.#limiter = new RateLimiter({
      max: params.economics.challengeRateMax,
      windowMs: params.economics.challengeRateWindowMs,
    });
  }

  /** A challenge was opened: refuse it now, or fetch its proof. */
  opened<M>(
    ctx: ActorContext<M>,
    thread: ThreadState,
    challengeId: string,
    adapt: (message: ProofFetched) => M,
  ): void {
    const challenge = thread.challenges?.get(challengeId);
    if (challenge === undefined || challenge.verdict !== undefined) return;
    const task = thread.tasks.get(challenge.taskId);
    const commit = task?.commits.get(challenge.commitId);
    if (task === undefined || commit === undefined) return;
    const withinRate = this.#limiter.admit(challenge.challenger, ctx.nowMs());
    const refusal = admissibility(challenge, task, commit, withinRate);
    if (refusal !== undefined) return this.#rule(thread, challenge, refusal);
    this.#inFlight.add(challengeId);
    const fetched = fetchProof(this.#cas, challenge.evidence, commit.artifacts);
    ctx.pipeToSelf(
      fetched,
      (result) =>
        adapt({ type: "proof-fetched", needId: thread.needId, challengeId, fetched: result }),
    );
  }

  /** The proof is in: rule on the challenge as the thread stands now. */
  fetched(thread: ThreadState | undefined, message: ProofFetched): void {
    this.#inFlight.delete(message.challengeId);
    const challenge = thread?.challenges?.get(message.challengeId);
    if (thread === undefined || challenge === undefined || challenge.verdict !== undefined) return;
    if (challenge.withdrawRequested) {
      return this.#rule(thread, challenge, { verdict: "WITHDRAWN", code: "OK", severity: 0 });
    }
    const task = thread.tasks.get(challenge.taskId);
    const commit = task?.commits.get(challenge.commitId);
    if (task === undefined || commit === undefined) return;
    const late = admissibility(challenge, task, commit, true);
    if (late !== undefined) return this.#rule(thread, challenge, late);
    const judgement: Judgement = !message.fetched.ok || this.#cas === undefined
      ? { verdict: "UNPROVEN", code: "E_PROOF_UNFETCHABLE", severity: 0 }
      : judgeChallenge(challenge, {
        task,
        commit,
        fetched: message.fetched.value,
        params: this.#params.economics,
      });
    this.#rule(thread, challenge, judgement);
  }

  /** The challenger asked to withdraw: settle it now unless its proof is being fetched. */
  withdrawn(thread: ThreadState, challengeId: string): void {
    const challenge = thread.challenges?.get(challengeId);
    if (challenge === undefined || challenge.verdict !== undefined) return;
    if (this.#inFlight.has(challengeId)) return; // fetched() sees the request
    this.#rule(thread, challenge, { verdict: "WITHDRAWN", code: "OK", severity: 0 });
  }

  /** Whether a commit has a challenge not yet ruled on (its FINALIZE must wait). */
  blocks(thread: ThreadState, commitId: string): boolean {
    for (const challenge of thread.challenges?.values() ?? []) {
      if (challenge.commitId === commitId && challenge.verdict === undefined) return true;
    }
    return false;
  }

  #rule(thread: ThreadState, challenge: ChallengeState, judgement: Judgement): void {
    if (this.#ruled.has(challenge.challengeId)) return;
    if (this.#ruled.size >= 100_000) this.#ruled.clear();
    this.#ruled.add(challenge.challengeId);
    this.#core.tell({
      type: "emit",
      kind: "INVALIDATE",
      thread: thread.needId,
      // The core stamps K_result, the committee, the votes, the slashes and the reward.
      payload: {
        target: "CHALLENGE",
        needId: thread.needId,
        taskId: challenge.taskId,
        commitId: challenge.commitId,
        challengeId: challenge.challengeId,
        verdict: judgement.verdict,
        code: judgement.code,
        severity: judgement.severity,
      } as never,
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

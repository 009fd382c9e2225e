/**
 * The verifier: votes on plans and attests results, when it sits on the
 * committee. A plan passes if its tasks are known operations within the
 * NEED's budget. A result passes if its artifact is in the content store,
 * hashes to the committed digest, re-running the task gives the same digest
 * (so a wrong output is caught, OUTPUT_MISMATCH), and — with policy on —
 * the commit gate finds the claimed telemetry not understated against what
 * the verifier measured; the gate's evaluation digest goes into the ATTEST.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import { CID } from "multiformats/cid";
import type { CommitGate } from "../policies/commit_gate.ts";
import { committeeFor } from "../protocols/committee.ts";
import { encodedPayloadSize, type PayloadMap } from "../protocols/envelope/mod.ts";
import type { LifecycleMessage } from "../protocols/lifecycle/payloads.ts";
import {
  type CommitState,
  planCommitteeOf,
  resultCommitteeOf,
  type TaskState,
  type ThreadState,
} from "../protocols/lifecycle/state.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { checkTaskSpec, runWork, sha256Hex, telemetryOf } from "../protocols/work.ts";
import { envelopeView } from "./_policy_view.ts";
import type { CoreMessage, RoleEvent } from "./swarm_messages.ts";

/** Settings of a verifier. */
export interface VerifierConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly did: string;
  readonly verifiers: ReadonlySet<string>;
  readonly params: SwarmParams;
  readonly cas: ContentStore;
  /** Policy capsule hash, mixed into evaluation digests. */
  readonly policyHash: string;
  /** With policy on: the commit gate that checks claimed against measured telemetry. */
  readonly commitGate?: CommitGate;
  /** Test hook: approve everything without checking (a byzantine verifier). */
  readonly approveEverything?: boolean;
}

/** A verifier's verdict on a commit, with the evaluation digest it attests. */
interface Checked {
  readonly type: "checked";
  readonly thread: ThreadState;
  readonly taskId: string;
  readonly commitId: string;
  readonly pass: boolean;
  /** Set once BUGGIFY slowed this check down. */
  readonly slowed?: boolean;
  readonly evalDigest: string;
}

type VerifierMessage = RoleEvent | Checked;

/** Makes a verifier behaviour. */
export function verifier(config: VerifierConfig): Behavior<VerifierMessage> {
  return new Verifier(config);
}

class Verifier implements Behavior<VerifierMessage> {
  readonly #config: VerifierConfig;
  #bootstrap = true;

  constructor(config: VerifierConfig) {
    this.#config = config;
  }

  preStart(ctx: ActorContext<VerifierMessage>): void {
    this.#config.core.tell({ type: "watch", role: ctx.self as ActorRef<RoleEvent> });
  }

  receive(ctx: ActorContext<VerifierMessage>, message: VerifierMessage): void {
    if (message.type === "checked") {
      if (message.slowed !== true && ctx.buggify("verifier.slow-check")) {
        // Rare path: a re-run takes seconds; the result quorum must wait or do without it.
        return void ctx.schedule(ctx.random() * 5_000, { ...message, slowed: true });
      }
      return this.#attest(message);
    }
    if (message.type === "core-ready" || message.type === "bootstrap") {
      this.#bootstrap = message.bootstrap;
      return;
    }
    if (message.type !== "effect") return;
    const { effect, thread } = message;
    if (
      effect.type === "proposal-received" &&
      this.#committee("plan", effect.needId, planCommitteeOf(thread)).includes(this.#config.did)
    ) {
      return this.#votePlan(thread, effect.proposalId);
    }
    if (effect.type !== "commit-received") return;
    const task = thread.tasks.get(effect.taskId) as TaskState;
    const commit = task.commits.get(effect.commitId) as CommitState;
    const committee = this.#committee("result", effect.taskId, resultCommitteeOf(thread, task));
    // An honest verifier leaves its own result to the others when they can make the quorum.
    const others = committee.filter((member) => member !== commit.worker).length;
    const own = commit.worker === this.#config.did && !this.#config.approveEverything &&
      others >= task.kResult;
    if (committee.includes(this.#config.did) && !own) {
      this.#checkCommit(ctx, thread, task, commit);
    }
  }

  /** The committee pinned in the thread (by the NEED, the DECIDE or an INVALIDATE), else drawn. */
  #committee(
    kind: "plan" | "result",
    subject: string,
    pinned: readonly string[] | undefined,
  ): readonly string[] {
    if (pinned !== undefined) return pinned;
    const { verifiers, params } = this.#config;
    return committeeFor(kind, subject, verifiers, params, this.#bootstrap);
  }

  #votePlan(thread: ThreadState, proposalId: string): void {
    const proposal = thread.proposals.get(proposalId);
    if (proposal === undefined) return;
    const sound = this.#config.approveEverything === true || (proposal.cost <= thread.need.budget &&
      proposal.patch.every((op) => op.op !== "ADD_TASK" || isRunnable(op.spec)));
    this.#config.core.tell({
      type: "emit",
      kind: "ATTEST_PLAN",
      thread: thread.needId,
      payload: { needId: thread.needId, proposalId, verdict: sound ? "approve" : "reject" },
    });
  }

  /** Re-runs the work now, then fetches the artifact and asks the commit gate off the actor's turn. */
  #checkCommit(
    ctx: ActorContext<VerifierMessage>,
    thread: ThreadState,
    task: TaskState,
    commit: CommitState,
  ): void {
    const base = {
      type: "checked" as const,
      thread,
      taskId: task.taskId,
      commitId: commit.commitId,
    };
    if (this.#config.approveEverything) {
      const evalDigest = sha256Hex(`${commit.commitId}|pass|${this.#config.policyHash}`);
      ctx.self.tell({ ...base, pass: true, evalDigest });
      return;
    }
    const rerun = isRunnable(task.spec) ? runWork(task.spec) : undefined;
    const verdict = Promise.all([
      artifactHolds(this.#config.cas, commit),
      this.#gate(thread, task, commit, rerun === undefined ? undefined : telemetryOf(rerun)),
    ]).then(([artifact, gate]) => {
      const pass = artifact && rerun?.digest === commit.outputDigest && gate.allowed;
      return {
        pass,
        evalDigest: gate.evalDigest ??
          sha256Hex(`${commit.commitId}|${pass ? "pass" : "fail"}|${this.#config.policyHash}`),
      };
    });
    ctx.pipeToSelf(
      verdict,
      (result) =>
        result.ok ? { ...base, ...result.value } : { ...base, pass: false, evalDigest: "error" },
    );
  }

  /** The commit gate's decision, or allowed without a digest when policy is off. */
  #gate(
    thread: ThreadState,
    task: TaskState,
    commit: CommitState,
    actual: ReturnType<typeof telemetryOf> | undefined,
  ): Promise<{ allowed: boolean; evalDigest?: string }> {
    const gate = this.#config.commitGate;
    if (gate === undefined) return Promise.resolve({ allowed: true });
    if (actual === undefined) return Promise.resolve({ allowed: false });
    const payload = {
      needId: thread.needId,
      taskId: task.taskId,
      leaseId: commit.leaseId,
      artifacts: commit.artifacts,
      outputDigest: commit.outputDigest,
      verifyBounty: commit.verifyBounty,
      telemetry: commit.telemetry,
    };
    const message: LifecycleMessage<"COMMIT"> = {
      id: commit.commitId,
      kind: "COMMIT",
      thread: thread.needId,
      sender: commit.worker,
      lamport: 1,
      payload,
    };
    const view = envelopeView(message, {
      payloadBytes: encodedPayloadSize(payload as unknown as PayloadMap),
      capsule: this.#config.policyHash,
    });
    return gate.evaluate(view, {
      cost: actual.costUnits,
      timeMs: actual.timeMs,
      memoryBytes: actual.memoryBytes,
    });
  }

  #attest(checked: Checked): void {
    const verdict = checked.pass ? "pass" : "fail";
    this.#config.core.tell({
      type: "emit",
      kind: "ATTEST",
      thread: checked.thread.needId,
      payload: {
        needId: checked.thread.needId,
        taskId: checked.taskId,
        commitId: checked.commitId,
        verdict,
        evalDigest: checked.evalDigest,
      },
    });
  }
}

function isRunnable(spec: Parameters<typeof checkTaskSpec>[0]): boolean {
  try {
    checkTaskSpec(spec);
    return true;
  } catch {
    return false;
  }
}

/** Whether the commit's artifact is in the content store and hashes to its digest. */
async function artifactHolds(cas: ContentStore, commit: CommitState): Promise<boolean> {
  if (commit.artifacts.length === 0) return false;
  let cid: CID;
  try {
    cid = CID.parse(commit.artifacts[0]);
  } catch {
    return false;
  }
  const bytes = await cas.get(cid);
  return bytes !== undefined && sha256Hex(new TextDecoder().decode(bytes)) === commit.outputDigest;
}

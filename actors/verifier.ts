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
  type Effect,
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
  /** Hash of the policy capsule in force now, mixed into evaluation digests. */
  readonly capsule: () => string;
  /** With policy on: the commit gate that checks claimed against measured telemetry. */
  readonly commitGate?: CommitGate;
  /**
   * Waits before checking again a commit whose artifact could not be read,
   * one per recheck (default none: an absent artifact fails at once). When
   * artifacts come over a network, a block the worker holds may be out of
   * reach for a moment; failing the commit then would be a wrong verdict.
   */
  readonly artifactRecheckMs?: readonly number[];
  /** Test hook: approve everything without checking (a byzantine verifier). */
  readonly approveEverything?: boolean;
  /** Test hook: attest the right verdict with a forged evaluation digest. */
  readonly forgeEvalDigest?: boolean;
}

/** What a verifier did; shared by a swarm's verifiers for summaries and health. */
export interface VerifierStats {
  /** Commits this verifier checked and attested. */
  attested: number;
  /** Other attesters' ATTESTs compared with this verifier's own evaluation digest. */
  compared: number;
  /** Of those, ATTESTs whose verdict or evaluation digest differed from this verifier's. */
  divergences: number;
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
  /** The artifact could not be read (absent, or out of reach for now). */
  readonly artifactMissing?: boolean;
  /** Rechecks done before this check. */
  readonly attempt: number;
}

/** Check a commit again (its artifact was out of reach). */
interface Recheck {
  readonly type: "recheck";
  readonly thread: ThreadState;
  readonly taskId: string;
  readonly commitId: string;
  readonly attempt: number;
}

type VerifierMessage = RoleEvent | Checked | Recheck;

/**
 * Makes a verifier behaviour. `stats` is filled in as it goes (pass a shared
 * object to sum several verifiers).
 */
export function verifier(
  config: VerifierConfig,
  stats: VerifierStats = { attested: 0, compared: 0, divergences: 0 },
): Behavior<VerifierMessage> {
  return new Verifier(config, stats);
}

/** Verdict and digest a verifier reached, or others attested, for one commit. */
interface Digests {
  own?: { readonly pass: boolean; readonly evalDigest: string };
  /** Other attesters' verdicts and digests, until this verifier's own is known. */
  readonly others: Map<string, { readonly pass: boolean; readonly evalDigest: string }>;
}

class Verifier implements Behavior<VerifierMessage> {
  readonly #config: VerifierConfig;
  readonly #stats: VerifierStats;
  /** Digests of commits this verifier checks, by commit id, until the NEED ends. */
  readonly #digests = new Map<string, Digests>();
  /** Commit ids in `#digests` by NEED, to forget them when it ends. */
  readonly #commitsOf = new Map<string, Set<string>>();
  #bootstrap = true;

  constructor(config: VerifierConfig, stats: VerifierStats) {
    this.#config = config;
    this.#stats = stats;
  }

  preStart(ctx: ActorContext<VerifierMessage>): void {
    this.#config.core.tell({
      type: "watch",
      role: ctx.self as ActorRef<RoleEvent>,
      effects: ["proposal-received", "commit-received", "attested", "need-final", "need-expired"],
    });
  }

  receive(ctx: ActorContext<VerifierMessage>, message: VerifierMessage): void {
    if (message.type === "checked") {
      if (
        message.slowed !== true && ctx.buggify("verifier.slow-check", message.thread.need.needId)
      ) {
        // Rare path: a re-run takes seconds; the result quorum must wait or do without it.
        return void ctx.schedule(ctx.random() * 5_000, { ...message, slowed: true });
      }
      return this.#onChecked(ctx, message);
    }
    if (message.type === "recheck") return this.#recheck(ctx, message);
    if (message.type === "core-ready" || message.type === "bootstrap") {
      this.#bootstrap = message.bootstrap;
      return;
    }
    if (message.type !== "effect") return;
    const { effect, thread } = message;
    if (effect.type === "attested") return this.#compare(ctx, effect);
    if (effect.type === "need-final" || effect.type === "need-expired") {
      return this.#forget(effect.needId);
    }
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
      this.#digestsOf(effect.needId, effect.commitId);
      this.#checkCommit(ctx, thread, task, commit);
    }
  }

  /** The digest record of a commit this verifier checks (made on first use). */
  #digestsOf(needId: string, commitId: string): Digests {
    let digests = this.#digests.get(commitId);
    if (digests === undefined) {
      digests = { others: new Map() };
      this.#digests.set(commitId, digests);
      const commits = this.#commitsOf.get(needId) ?? new Set<string>();
      this.#commitsOf.set(needId, commits.add(commitId));
    }
    return digests;
  }

  /**
   * Compares another attester's verdict and evaluation digest with this
   * verifier's own for the same commit (DESIGN.md §6): every honest verifier
   * evaluates the same canonical input under the same capsule, so a different
   * digest means another policy, other telemetry, or a forged digest. A
   * divergence is counted and logged; the quorum decides the result.
   */
  #compare(ctx: ActorContext<VerifierMessage>, attested: Extract<Effect, { type: "attested" }>) {
    if (attested.attester === this.#config.did) return;
    const digests = this.#digests.get(attested.commitId);
    if (digests === undefined) return; // not a commit this verifier checks
    const theirs = { pass: attested.pass, evalDigest: attested.evalDigest };
    if (digests.own === undefined) {
      digests.others.set(attested.attester, theirs);
      return;
    }
    this.#judge(ctx, attested.commitId, digests.own, attested.attester, theirs);
  }

  #judge(
    ctx: ActorContext<VerifierMessage>,
    commitId: string,
    own: { readonly pass: boolean; readonly evalDigest: string },
    attester: string,
    theirs: { readonly pass: boolean; readonly evalDigest: string },
  ): void {
    this.#stats.compared++;
    if (own.pass === theirs.pass && own.evalDigest === theirs.evalDigest) return;
    this.#stats.divergences++;
    ctx.log.warn("evaluation digest diverges", {
      commitId,
      attester,
      theirs: `${theirs.pass ? "pass" : "fail"} ${theirs.evalDigest.slice(0, 16)}`,
      ours: `${own.pass ? "pass" : "fail"} ${own.evalDigest.slice(0, 16)}`,
    });
  }

  /** Attests a verdict, unless the artifact was out of reach and a recheck is left. */
  #onChecked(ctx: ActorContext<VerifierMessage>, checked: Checked): void {
    const delays = this.#config.artifactRecheckMs ?? [];
    if (checked.artifactMissing !== true || checked.attempt >= delays.length) {
      return this.#attest(ctx, checked);
    }
    const { thread, taskId, commitId } = checked;
    const attempt = checked.attempt + 1;
    ctx.schedule(delays[checked.attempt], { type: "recheck", thread, taskId, commitId, attempt });
  }

  #recheck(ctx: ActorContext<VerifierMessage>, message: Recheck): void {
    if (!this.#digests.has(message.commitId)) return; // its NEED ended meanwhile
    const task = message.thread.tasks.get(message.taskId) as TaskState;
    const commit = task.commits.get(message.commitId) as CommitState;
    this.#checkCommit(ctx, message.thread, task, commit, message.attempt);
  }

  #forget(needId: string): void {
    for (const commitId of this.#commitsOf.get(needId) ?? []) this.#digests.delete(commitId);
    this.#commitsOf.delete(needId);
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
    attempt = 0,
  ): void {
    const base = {
      type: "checked" as const,
      thread,
      taskId: task.taskId,
      commitId: commit.commitId,
      attempt,
    };
    if (this.#config.approveEverything) {
      const evalDigest = sha256Hex(`${commit.commitId}|pass|${this.#config.capsule()}`);
      ctx.self.tell({ ...base, pass: true, evalDigest });
      return;
    }
    const rerun = isRunnable(task.spec) ? runWork(task.spec) : undefined;
    const verdict = Promise.all([
      artifactHolds(this.#config.cas, commit),
      this.#gate(thread, task, commit, rerun === undefined ? undefined : telemetryOf(rerun)),
    ]).then(([artifact, gate]) => {
      const pass = artifact === "holds" && rerun?.digest === commit.outputDigest && gate.allowed;
      return {
        pass,
        artifactMissing: artifact === "unread",
        evalDigest: gate.evalDigest ??
          sha256Hex(`${commit.commitId}|${pass ? "pass" : "fail"}|${this.#config.capsule()}`),
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
      capsule: this.#config.capsule(),
    });
    return gate.evaluate(view, {
      cost: actual.costUnits,
      timeMs: actual.timeMs,
      memoryBytes: actual.memoryBytes,
    });
  }

  #attest(ctx: ActorContext<VerifierMessage>, checked: Checked): void {
    const verdict = checked.pass ? "pass" : "fail";
    this.#stats.attested++;
    const digests = this.#digests.get(checked.commitId);
    if (digests !== undefined && checked.evalDigest !== "error") {
      const own = { pass: checked.pass, evalDigest: checked.evalDigest };
      digests.own = own;
      for (const [attester, theirs] of digests.others) {
        this.#judge(ctx, checked.commitId, own, attester, theirs);
      }
      digests.others.clear();
    }
    this.#config.core.tell({
      type: "emit",
      kind: "ATTEST",
      thread: checked.thread.needId,
      payload: {
        needId: checked.thread.needId,
        taskId: checked.taskId,
        commitId: checked.commitId,
        verdict,
        evalDigest: this.#config.forgeEvalDigest === true
          ? sha256Hex(`forged|${checked.evalDigest}`)
          : checked.evalDigest,
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

/**
 * Whether the commit's artifact is in the content store and hashes to its
 * digest: "holds", "differs" (no artifact, a bad CID, other bytes) or
 * "unread" (the store has no such block, or could not reach it).
 */
async function artifactHolds(
  cas: ContentStore,
  commit: CommitState,
): Promise<"holds" | "differs" | "unread"> {
  if (commit.artifacts.length === 0) return "differs";
  let cid: CID;
  try {
    cid = CID.parse(commit.artifacts[0]);
  } catch {
    return "differs";
  }
  const bytes = await cas.get(cid);
  if (bytes === undefined) return "unread";
  return sha256Hex(new TextDecoder().decode(bytes)) === commit.outputDigest ? "holds" : "differs";
}

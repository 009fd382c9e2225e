/**
 * The challenger: an auditor that watches results reach their quorum and,
 * inside the challenge window, checks a share of them itself. When the
 * artifact is missing, breaks its operation's output schema, or differs from
 * a re-run of the deterministic task, it stores its evidence in the content
 * store and posts a bonded CHALLENGE; the decider rules on it.
 *
 * A challenger never audits its own commits, nor results it attested.
 *
 * @module
 */

import type { ActorContext, ActorRef, Behavior } from "../runtime/actor.ts";
import type { Settled } from "../runtime/env.ts";
import { errorMessage } from "../runtime/errors.ts";
import type { ContentStore } from "../runtime/store/content_store.ts";
import { challengeBond, type ProofType } from "../protocols/economics/mod.ts";
import type { CommitState, TaskState, ThreadState } from "../protocols/lifecycle/state.ts";
import type { SwarmParams } from "../protocols/params.ts";
import { outputMatchesSchema, runWork, sha256Hex } from "../protocols/work.ts";
import { CID } from "multiformats/cid";
import type { CoreMessage, EmitResult, RoleEvent } from "./swarm_messages.ts";

/** Settings of a challenger. */
export interface ChallengerConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly did: string;
  readonly cas: ContentStore;
  readonly params: SwarmParams;
  /** Share of results this node audits (0..1), chosen by hash so it is stable. Default 0.1. */
  readonly auditShare?: number;
  /** Test hook: challenge every result it audits, right or wrong (a frivolous challenger). */
  readonly challengeEverything?: boolean;
}

/** What a challenger did. */
export interface ChallengerStats {
  audited: number;
  challenged: number;
  refused: number;
}

/** A finding: the proof type and the evidence to store. */
interface Finding {
  readonly proofType: ProofType;
  readonly evidence: Uint8Array;
}

type ChallengerMessage =
  | RoleEvent
  | {
    readonly type: "audited";
    readonly thread: ThreadState;
    readonly taskId: string;
    readonly commitId: string;
    readonly finding: Settled<{ finding: Finding | undefined; cid: string | undefined }>;
  }
  | { readonly type: "challenged"; readonly result: Settled<EmitResult> };

/** Makes a challenger behaviour. */
export function challenger(
  config: ChallengerConfig,
  stats: ChallengerStats = { audited: 0, challenged: 0, refused: 0 },
): Behavior<ChallengerMessage> {
  const share = config.auditShare ?? 0.1;
  const audits = (commitId: string) =>
    parseInt(sha256Hex(`audit\u0000${commitId}\u0000${config.did}`).slice(0, 8), 16) /
        0x1_0000_0000 <
      share;
  return {
    preStart(ctx) {
      config.core.tell({
        type: "watch",
        role: ctx.self as ActorRef<RoleEvent>,
        effects: ["result-quorum"],
      });
    },
    receive(ctx, message) {
      if (message.type === "challenged") {
        if (message.result.ok && message.result.value.type === "emitted") stats.challenged++;
        else {
          stats.refused++;
          ctx.log.warn("challenge refused", {
            reason: message.result.ok
              ? (message.result.value as { message?: string }).message
              : errorMessage(message.result.error),
          });
        }
        return;
      }
      if (message.type === "audited") return challenge(ctx, message);
      if (message.type !== "effect" || message.effect.type !== "result-quorum") return;
      const { thread, effect } = message;
      const task = thread.tasks.get(effect.taskId);
      const commit = task?.commits.get(effect.commitId);
      if (task === undefined || commit === undefined || commit.worker === config.did) return;
      if (commit.tally.approvals.includes(config.did) && !config.challengeEverything) return;
      if (!config.challengeEverything && !audits(commit.commitId)) return;
      stats.audited++;
      const found = audit(config, task, commit).then(async (finding) => ({
        finding,
        cid: finding === undefined
          ? undefined
          : (await config.cas.put(finding.evidence)).toString(),
      }));
      ctx.pipeToSelf(found, (result) => ({
        type: "audited",
        thread,
        taskId: task.taskId,
        commitId: commit.commitId,
        finding: result,
      }));
    },
  };

  function challenge(
    ctx: ActorContext<ChallengerMessage>,
    audited: Extract<ChallengerMessage, { type: "audited" }>,
  ): void {
    if (!audited.finding.ok) {
      return ctx.log.warn("audit failed", { reason: errorMessage(audited.finding.error) });
    }
    const { finding, cid } = audited.finding.value;
    if (finding === undefined || cid === undefined) return;
    const need = audited.thread.need;
    ctx.ask<CoreMessage, EmitResult>(config.core, (replyTo) => ({
      type: "emit",
      kind: "CHALLENGE",
      thread: need.needId,
      replyTo,
      payload: {
        needId: need.needId,
        taskId: audited.taskId,
        commitId: audited.commitId,
        proofType: finding.proofType,
        evidence: cid,
        evidenceBytes: finding.evidence.length,
        bond: challengeBond(
          finding.proofType,
          need.bountyClass ?? "SIMPLE",
          config.params.economics,
        ),
      },
    }), (result) => ({ type: "challenged", result }));
  }
}

/** Checks a result; resolves with a finding when it is wrong (or always, for the frivolous hook). */
async function audit(
  config: ChallengerConfig,
  task: TaskState,
  commit: CommitState,
): Promise<Finding | undefined> {
  const evidence = (proofType: ProofType, facts: Record<string, string>) => ({
    proofType,
    evidence: new TextEncoder().encode(
      JSON.stringify({ commitId: commit.commitId, proofType, ...facts }),
    ),
  });
  if (config.challengeEverything) {
    return evidence("OUTPUT_MISMATCH", { claim: "every result is wrong" });
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = await config.cas.get(CID.parse(commit.artifacts[0]));
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined) return evidence("MISSING_CITATION", { missing: commit.artifacts[0] });
  const output = new TextDecoder().decode(bytes);
  if (!outputMatchesSchema(task.spec.op, output)) {
    return evidence("SCHEMA_VIOLATION", { op: task.spec.op, outputDigest: sha256Hex(output) });
  }
  let expected: string;
  try {
    expected = runWork(task.spec).digest;
  } catch {
    return undefined;
  }
  if (expected === commit.outputDigest && sha256Hex(output) === commit.outputDigest) {
    return undefined;
  }
  return evidence("OUTPUT_MISMATCH", { expected, committed: commit.outputDigest });
}

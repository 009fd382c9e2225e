/**
 * P2, replay. Replaying every node's audit log re-verifies it (hash chain,
 * node and envelope signatures, Lamport order, no duplicates), every
 * FINALIZE a node accepted is in its log byte for byte (same envelope id),
 * the FINALIZE records in all logs name one result per task (a task can be
 * finalized by two envelopes — a restarted or replaced decider announcing it
 * again, with the attesters it saw — but never for two commits), and, when
 * the run was repeated, the repeat produced the same trace hash.
 *
 * @module
 */

import { type FrameLogDirectory, scanFrames } from "../../runtime/store/frame_log.ts";
import { MemoryFrameLogDirectory } from "../../runtime/store/memory_frame_log.ts";
import { decodeAuditRecord, replayThread } from "../../protocols/audit/mod.ts";
import { decodeEnvelope } from "../../protocols/envelope/mod.ts";
import { canonicalString } from "../canonical.ts";
import { type CheckContext, type Checker, type CheckResult, Findings } from "./checker.ts";

/** Replay codes P2 leaves to other properties: double DECIDEs are P1's, judged on accepted ones. */
const LEFT_TO_OTHERS = new Set(["E_AUDIT_DOUBLE_DECIDE"]);

/** The FINALIZE records of one node's logs: envelope id → canonical payload, by task. */
type Finals = Map<string, Map<string, string>>;

/** Options of {@linkcode replayChecker}. */
export interface ReplayCheckerOptions {
  /** The trace hash of the run and of its repeat, when the run was repeated. */
  readonly traceHashes?: () => { readonly first: string; readonly again?: string };
}

/** Makes the P2 checker. */
export function replayChecker(options: ReplayCheckerOptions = {}): Checker {
  return {
    id: "P2",
    name: "replay gives the same records",
    description:
      "Audit logs replay cleanly, hold every accepted FINALIZE byte for byte, agree across nodes, and a repeat run hashes the same.",
    async check(context: CheckContext): Promise<CheckResult> {
      const findings = new Findings(this);
      const hashes = options.traceHashes?.();
      if (hashes?.again !== undefined) {
        findings.checked++;
        if (hashes.again !== hashes.first) {
          findings.add({
            message: `Repeating the run gave trace ${hashes.again}, not ${hashes.first}`,
            evidence: [],
          });
        }
      }
      const byNode = new Map<string, Finals>();
      for (const [node, directory] of context.auditLogs) {
        byNode.set(node, await replayNode(context, node, directory, findings));
      }
      if (byNode.size > 0) {
        checkAccepted(context, byNode, findings);
        checkAgreement(byNode, findings);
      }
      return findings.result("no audit logs were kept and the run was not repeated");
    },
  };
}

async function replayNode(
  context: CheckContext,
  node: string,
  directory: FrameLogDirectory,
  findings: Findings,
): Promise<Finals> {
  const finals: Finals = new Map();
  if (!(directory instanceof MemoryFrameLogDirectory)) return finals;
  for (const name of await directory.names()) {
    const bytes = directory.bytesOf(name);
    if (bytes === undefined) continue;
    const scan = scanFrames(bytes);
    findings.checked++;
    const report = await replayThread(scan, {
      context: { policy: context.policyHash },
      lamportOrder: "own",
    });
    if (!report.ok && report.violation !== undefined) {
      if (!LEFT_TO_OTHERS.has(report.violation.code)) {
        findings.add({
          message: `${node}'s audit log ${name} does not replay: ${report.violation.code} at ` +
            `record ${report.violation.record}: ${report.violation.message}`,
          needId: name,
          evidence: [],
        });
      }
    }
    for (const frame of scan.frames) collectFinalize(frame, finals);
  }
  return finals;
}

function collectFinalize(frame: Uint8Array, finals: Finals): void {
  let envelope;
  try {
    envelope = decodeEnvelope(decodeAuditRecord(frame).env);
  } catch {
    return; // replayThread reported it
  }
  if (envelope.kind !== "FINALIZE") return;
  const payload = envelope.payload as { taskId?: unknown };
  const taskId = String(payload.taskId);
  const records = finals.get(taskId) ?? new Map<string, string>();
  const { commitId, needId } = envelope.payload as { commitId?: unknown; needId?: unknown };
  records.set(envelope.id, canonicalString({ needId, taskId, commitId }));
  finals.set(taskId, records);
}

/** Every FINALIZE a node accepted is in that node's log, byte for byte. */
function checkAccepted(context: CheckContext, byNode: Map<string, Finals>, findings: Findings) {
  for (const event of context.history.ofType("accepted")) {
    if (event.message.kind !== "FINALIZE") continue;
    const finals = byNode.get(event.node);
    if (finals === undefined) continue;
    const taskId = String((event.message.payload as { taskId: string }).taskId);
    findings.checked++;
    if (finals.get(taskId)?.has(event.message.id)) continue;
    findings.add({
      message: `${event.node} accepted FINALIZE ${event.message.id} for ${taskId}, ` +
        `but its audit log does not hold that record`,
      needId: event.message.thread,
      evidence: [event.seq],
    });
  }
}

/** All nodes' logs finalize a task for the same commit. */
function checkAgreement(byNode: Map<string, Finals>, findings: Findings): void {
  const contents = new Map<string, Map<string, string>>();
  for (const [node, finals] of byNode) {
    for (const [taskId, records] of finals) {
      const seen = contents.get(taskId) ?? new Map<string, string>();
      for (const content of records.values()) if (!seen.has(content)) seen.set(content, node);
      contents.set(taskId, seen);
    }
  }
  for (const [taskId, seen] of contents) {
    findings.checked++;
    if (seen.size <= 1) continue;
    findings.add({
      message: `Audit logs finalize ${taskId} for ${seen.size} different results ` +
        `(first seen at ${[...seen.values()].join(", ")})`,
      evidence: [],
    });
  }
}

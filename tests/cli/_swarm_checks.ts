// Helpers for the multi-process swarm tests: reading every node's audit log, and waiting for NEEDs to end.
import assert from "node:assert/strict";
import { decodeAuditRecord } from "../../protocols/audit/record.ts";
import { decodeEnvelope } from "../../protocols/envelope/mod.ts";
import { FileFrameLogDirectory, readFrameFile } from "../../runtime/store/file_frame_log.ts";
import type { ProcessSwarm } from "../../cli/_process_swarm.ts";
import type { NeedStatus } from "../../actors/requester.ts";

/** One audited envelope. */
export interface AuditedEnvelope {
  readonly node: string;
  readonly dir: "in" | "out";
  readonly id: string;
  readonly kind: string;
  readonly thread: string;
  readonly taskId: string | undefined;
}

/** Every envelope in the audit logs of every node under `dataRoot`. */
export async function readAuditLogs(
  dataRoot: string,
  nodes: readonly string[],
): Promise<AuditedEnvelope[]> {
  const audited: AuditedEnvelope[] = [];
  for (const node of nodes) {
    const directory = await FileFrameLogDirectory.open(`${dataRoot}/${node}/audit`);
    for (const name of await directory.names()) {
      const { frames } = await readFrameFile(directory.pathOf(name));
      for (const bytes of frames) {
        const record = decodeAuditRecord(bytes);
        const envelope = decodeEnvelope(record.env);
        const payload = envelope.payload as { taskId?: string };
        audited.push({
          node,
          dir: record.dir,
          id: envelope.id,
          kind: envelope.kind,
          thread: envelope.thread,
          taskId: payload.taskId,
        });
      }
    }
  }
  return audited;
}

/** Distinct envelope ids of `kind` per key (the NEED for DECIDE, the task for FINALIZE). */
export function distinctIds(
  audited: readonly AuditedEnvelope[],
  kind: string,
  key: (entry: AuditedEnvelope) => string,
): Map<string, Set<string>> {
  const ids = new Map<string, Set<string>>();
  for (const entry of audited) {
    if (entry.kind !== kind) continue;
    const set = ids.get(key(entry)) ?? new Set<string>();
    set.add(entry.id);
    ids.set(key(entry), set);
  }
  return ids;
}

/** Records of `kind` per (node, key): how often each node logged it. */
export function recordsPerNode(
  audited: readonly AuditedEnvelope[],
  kind: string,
  key: (entry: AuditedEnvelope) => string,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of audited) {
    if (entry.kind !== kind) continue;
    const id = `${entry.node} ${key(entry)}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Asserts that exactly one DECIDE per NEED and one FINALIZE per task exist in all the logs. */
export function assertDecidedAndFinalisedOnce(
  audited: readonly AuditedEnvelope[],
  needIds: readonly string[],
): void {
  const decides = distinctIds(audited, "DECIDE", (entry) => entry.thread);
  for (const needId of needIds) {
    assert.equal(decides.get(needId)?.size, 1, `exactly one DECIDE envelope for ${needId}`);
  }
  const finalizes = distinctIds(audited, "FINALIZE", (entry) => entry.taskId ?? "?");
  const tasksOf = new Map<string, number>();
  for (const taskId of finalizes.keys()) {
    const needId = audited.find((entry) => entry.taskId === taskId)?.thread ?? "?";
    tasksOf.set(needId, (tasksOf.get(needId) ?? 0) + 1);
  }
  for (const [taskId, ids] of finalizes) {
    assert.equal(ids.size, 1, `exactly one FINALIZE envelope for task ${taskId}`);
  }
  for (const needId of needIds) {
    assert.ok((tasksOf.get(needId) ?? 0) >= 1, `${needId} has a FINALIZE`);
  }
}

/** Polls the requesters until every NEED in `needIds` ended; returns how each ended. */
export async function untilEnded(
  swarm: ProcessSwarm,
  needIds: ReadonlyMap<string, number>,
  timeoutMs: number,
  onProgress?: (ended: number) => void,
): Promise<Map<string, NeedStatus>> {
  const ended = new Map<string, NeedStatus>();
  const deadline = performance.now() + timeoutMs;
  const nodes = [...new Set(needIds.values())];
  while (ended.size < needIds.size) {
    if (performance.now() > deadline) {
      const missing = [...needIds.keys()].filter((needId) => !ended.has(needId));
      throw new Error(`${missing.length} NEEDs did not end in time: ${missing.slice(0, 5)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const node of nodes) {
      const list = await swarm.needs(node).catch(() => [] as NeedStatus[]);
      for (const status of list) {
        if (status.status !== "in-flight" && needIds.has(status.needId)) {
          ended.set(status.needId, status);
        }
      }
    }
    onProgress?.(ended.size);
  }
  return ended;
}

/** Posts `count` NEEDs round robin over the swarm's requesters; returns NEED id → node index. */
export async function postNeeds(
  swarm: ProcessSwarm,
  count: number,
  label: string,
  deadlineInMs = 60_000,
): Promise<Map<string, number>> {
  const requesters = swarm.requesters;
  const posted = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const node = requesters[index % requesters.length];
      const needId = await swarm.post(node, {
        op: "sha256",
        input: `${label} ${index}`,
        rounds: 2,
      }, deadlineInMs);
      return [needId, node] as const;
    }),
  );
  return new Map(posted);
}

/** Every node's view of some threads, for a failing test's output. */
export async function describeThreads(
  swarm: ProcessSwarm,
  needs: readonly { readonly needId: string }[],
): Promise<string> {
  const lines: string[] = [];
  for (const { needId } of needs) {
    lines.push(`thread ${needId}:`);
    for (let index = 0; index < swarm.nodeIds.length; index++) {
      const view = await fetch(`${swarm.url(index)}/needs/${needId}`).then(
        (response) => response.text(),
        (error) => String(error),
      );
      lines.push(`  ${swarm.nodeIds[index]}: ${view.slice(0, 1_500)}`);
    }
  }
  for (let index = 0; index < swarm.nodeIds.length; index++) {
    const health = await swarm.health(index).catch((error) => ({ error: String(error) }));
    lines.push(`${swarm.nodeIds[index]} health: ${JSON.stringify(health).slice(0, 1_500)}`);
  }
  return lines.join("\n");
}

/**
 * Polls node `index`'s /health until `predicate` holds; after `timeoutMs`
 * fails, showing `detail` of the last answer.
 */
export async function untilHealth(
  swarm: ProcessSwarm,
  index: number,
  predicate: (health: Record<string, unknown>) => boolean,
  options: { timeoutMs: number; detail: (health: Record<string, unknown>) => unknown },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const health = await swarm.health(index);
    if (predicate(health)) return;
    if (performance.now() > deadline) {
      throw new Error(
        `node-${index} health never matched: ${JSON.stringify(options.detail(health))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

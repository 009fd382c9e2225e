/**
 * Replay benchmark: records a 10,000-event thread to a real audit log file
 * (as a node would), then times `replayThread` over it — frame scan, record
 * decode, hash chain, both signatures per record, envelope re-validation,
 * Lamport and DECIDE checks. Compared in the same run with the bare cost of
 * the signature checks alone (the same signatures verified with the swarm's Ed25519 at
 * the same concurrency), so the ratio shows replay's own overhead. Goal
 * (DESIGN.md §8): < 2 s for 10,000 events. Also reports audit append
 * throughput against bare signing, on one thread and on as many threads at
 * once as a node of a busy swarm holds (more than its logs kept open).
 *
 * Run: `deno task bench:replay [--events N] [--rounds N]`. Prints JSON.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { auditLogName, SignedAuditLog } from "../../protocols/audit/audit_log.ts";
import { decodeAuditRecord } from "../../protocols/audit/record.ts";
import { replayThread } from "../../protocols/audit/replay.ts";
import { decodeEnvelope } from "../../protocols/envelope/codec.ts";
import type { SignedEnvelope } from "../../protocols/envelope/types.ts";
import { publicKeyFromDidKey } from "../../protocols/identity/did_key.ts";
import {
  type Ed25519PublicKey,
  importEd25519PublicKey,
  verifyEd25519,
} from "../../protocols/identity/ed25519.ts";
import { type Identity, SignatureVerifier } from "../../protocols/identity/identity.ts";
import { FileFrameLogDirectory, readFrameFile } from "../../runtime/store/file_frame_log.ts";
import { FIXTURE_POLICY, writeAuditThread } from "./_audit_thread.ts";
import { NODE_AUDIT_OPEN_LOGS } from "../../cli/_node_swarm.ts";
import { concurrentOpsPerSecond, integerOption, opsPerSecond, ratio } from "./_rate.ts";

const BATCH = 256;
/** Threads appended to at once in the many-threads case. */
const MANY_THREADS = 800;

/** Runs the benchmark in a temporary directory it removes afterwards. */
export async function runReplayBench(events: number, rounds: number) {
  const root = await Deno.makeTempDir({ prefix: "replay-bench-" });
  try {
    const directory = await FileFrameLogDirectory.open(root);
    const recordStarted = performance.now();
    const { node, log, envelopes } = await writeAuditThread({
      directory,
      thread: "thread-bench",
      events,
    });
    await log.close();
    const recordSeconds = (performance.now() - recordStarted) / 1000;
    const path = directory.pathOf(auditLogName("thread-bench"));
    const fileBytes = (await Deno.stat(path)).size;
    let replaySeconds = Infinity;
    let bareSeconds = Infinity;
    let summary;
    for (let round = 0; round < rounds; round++) {
      const replayed = await timedReplay(path, new SignatureVerifier());
      replaySeconds = Math.min(replaySeconds, replayed.seconds);
      summary = replayed.summary;
      bareSeconds = Math.min(bareSeconds, await bareSignatureSeconds(path));
    }
    const appends = await appendThroughput(root, node, envelopes.slice(0, 2_000));
    return {
      benchmark: "replay",
      events,
      rounds,
      node: node.did,
      fileBytes,
      recordSeconds: round3(recordSeconds),
      replaySeconds: round3(replaySeconds),
      replayEventsPerSecond: Math.round(events / replaySeconds),
      bareSignatureChecksSeconds: round3(bareSeconds),
      replayVersusBareSignatures: ratio(replaySeconds, bareSeconds),
      signaturesVerified: summary?.signaturesVerified,
      auditAppendsPerSecond: appends.appendsPerSecond,
      bareSignsPerSecond: appends.bareSignsPerSecond,
      appendVersusBareSign: ratio(appends.bareSignsPerSecond, appends.appendsPerSecond),
      auditAppendsManyThreadsPerSecond: appends.manyThreadsPerSecond,
      manyThreads: { threads: MANY_THREADS, openLogs: NODE_AUDIT_OPEN_LOGS },
      manyThreadsVersusBareSign: ratio(appends.bareSignsPerSecond, appends.manyThreadsPerSecond),
      goal: {
        replaySecondsBelow: 2,
        events: 10_000,
        met: events >= 10_000 && replaySeconds < 2,
      },
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Replays the log once with `verifier`; throws if the benchmark log does not verify. */
async function timedReplay(path: string, verifier: SignatureVerifier) {
  const started = performance.now();
  const report = await replayThread(await readFrameFile(path), {
    context: { policy: FIXTURE_POLICY, verifier },
  });
  const seconds = (performance.now() - started) / 1000;
  if (!report.ok) throw new Error(`benchmark log did not replay: ${report.violation?.message}`);
  return { seconds, summary: report.summary };
}

/**
 * Appends/s of already signed envelopes to a fresh file-backed audit log
 * (sign the record, chain it, write it), next to bare signs/s of the same
 * bytes; and appends/s when the same envelopes go to {@linkcode MANY_THREADS}
 * threads at once, a round of appends to every thread at a time, with the
 * open-log bound of `run node`.
 */
async function appendThroughput(root: string, node: Identity, envelopes: SignedEnvelope[]) {
  const audit = new SignedAuditLog(await FileFrameLogDirectory.open(`${root}/append`), node);
  const started = performance.now();
  for (const envelope of envelopes) await audit.append(envelope, "in");
  const appendsPerSecond = Math.round(envelopes.length / ((performance.now() - started) / 1000));
  await audit.close();
  const many = new SignedAuditLog(await FileFrameLogDirectory.open(`${root}/many`), node, {
    openThreadsMax: NODE_AUDIT_OPEN_LOGS,
  });
  const rounds = Math.max(1, Math.floor(envelopes.length / MANY_THREADS) * 4);
  const manyStarted = performance.now();
  for (let round = 0; round < rounds; round++) {
    const envelope = envelopes[round % envelopes.length];
    await Promise.all(
      Array.from(
        { length: MANY_THREADS },
        (_, thread) => many.append({ ...envelope, thread: `thread-${thread}` }, "in"),
      ),
    );
  }
  const manyThreadsPerSecond = Math.round(
    (rounds * MANY_THREADS) / ((performance.now() - manyStarted) / 1000),
  );
  await many.close();
  const bareSignsPerSecond = await opsPerSecond(
    envelopes.length,
    (index) => node.sign(envelopes[index % envelopes.length].bytes),
  );
  return { appendsPerSecond, manyThreadsPerSecond, bareSignsPerSecond };
}

/** Seconds to verify every record and envelope signature of the log, bare Ed25519 (the swarm's primitive). */
async function bareSignatureSeconds(path: string): Promise<number> {
  const scan = await readFrameFile(path);
  const checks: { key: Uint8Array; sig: Uint8Array; message: Uint8Array }[] = [];
  const keys = new Map<string, Ed25519PublicKey>();
  for (const frame of scan.frames) {
    const record = decodeAuditRecord(frame);
    const envelope = decodeEnvelope(record.env);
    checks.push({ key: nodeKey(record.node), sig: record.sig, message: record.signingBytes });
    checks.push({
      key: nodeKey(envelope.sender),
      sig: envelope.sig,
      message: envelope.signingBytes,
    });
  }
  for (const check of checks) {
    const id = check.key.join(",");
    if (!keys.has(id)) keys.set(id, importEd25519PublicKey(check.key));
  }
  const started = performance.now();
  await concurrentOpsPerSecond(checks.length, BATCH, (index) => {
    const check = checks[index];
    const ok = verifyEd25519(
      keys.get(check.key.join(",")) as Ed25519PublicKey,
      check.sig,
      check.message,
    );
    if (!ok) throw new Error("bare verification failed");
    return Promise.resolve();
  });
  return (performance.now() - started) / 1000;
}

const publicKeyCache = new Map<string, Uint8Array>();

/** The raw key of a did:key, parsed once per DID. */
function nodeKey(did: string): Uint8Array {
  let key = publicKeyCache.get(did);
  if (key === undefined) publicKeyCache.set(did, key = publicKeyFromDidKey(did));
  return key;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      events: { type: "string", default: "10000" },
      rounds: { type: "string", default: "3" },
    },
    strict: true,
  });
  const report = await runReplayBench(
    integerOption(values, "events", 10, 1_000_000),
    integerOption(values, "rounds", 1, 20),
  );
  console.log(JSON.stringify(report, null, 2));
}

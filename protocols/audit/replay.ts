/**
 * Replaying a thread's audit log: re-check everything a node recorded and
 * report the first violation precisely, or a summary when there is none.
 *
 * Checked per record, in log order: it decodes canonically; its seq is its
 * position; its `prev` is the previous record's hash; it names the log's
 * node and thread; its node signature verifies; its envelope passes
 * envelope verification again (encoding, fields, kind, size, policy,
 * signature); no envelope appears twice in one direction and no nonce is
 * reused; each sender's Lamport values increase; and no NEED gets two
 * different DECIDEs. Signatures are checked in concurrent batches (the
 * expensive part); the reported violation is still the first in log order.
 *
 * @module
 */

import type { ContentStore } from "../../runtime/store/content_store.ts";
import type { FrameScanStop } from "../../runtime/store/frame_log.ts";
import type { VerifyContext } from "../envelope/verify.ts";
import type { AuditErrorCode } from "./errors.ts";
import { Replay } from "./_replayer.ts";

/** The frames of one log, as `scanFrames` returned them. */
export interface ReplayInput {
  readonly frames: readonly Uint8Array[];
  /** Byte offset of each frame, for messages. */
  readonly offsets?: readonly number[];
  /** Why the scan stopped early (torn tail or corruption), if it did. */
  readonly stop?: FrameScanStop;
}

/** Options of {@linkcode replayThread}. */
export interface ReplayOptions {
  /** Envelope rules to re-apply (kinds, payload cap, policy); replay cache fields are ignored. */
  readonly context?: Omit<VerifyContext, "replay" | "nowNs">;
  /** Where referenced (CID) payloads of DECIDEs are fetched from. */
  readonly cas?: ContentStore;
  /**
   * `strict` (default): every sender's Lamport values increase in log order.
   * `own`: only the envelopes the log node sent must increase; other
   * senders' values, and its own envelopes that came back in from a peer,
   * must merely be distinct (for networks that reorder deliveries).
   */
  readonly lamportOrder?: "strict" | "own";
  /** Signature checks per batch; default 256. */
  readonly batchSize?: number;
  /** Batches in flight while later records are decoded; default 4 (bounds memory). */
  readonly batchesInFlight?: number;
}

/** The first problem found, with the record it is in. */
export interface ReplayViolation {
  readonly code: AuditErrorCode;
  /** Index of the offending record (or of the frame where the log stopped). */
  readonly record: number;
  /** Byte offset of that record in the log, when known. */
  readonly offset?: number;
  readonly message: string;
}

/** What a replay saw. */
export interface ReplaySummary {
  readonly thread?: string;
  readonly node?: string;
  /** Records that passed before the first violation (all of them when there is none). */
  readonly records: number;
  readonly published: number;
  readonly delivered: number;
  /** Distinct envelopes. */
  readonly envelopes: number;
  readonly senders: number;
  /** Distinct envelopes per kind. */
  readonly kinds: Readonly<Record<string, number>>;
  /** NEEDs with a DECIDE. */
  readonly decidedNeeds: number;
  readonly signaturesVerified: number;
  readonly lamportMax: number;
}

/** The outcome of a replay. */
export interface ReplayReport {
  readonly ok: boolean;
  readonly summary: ReplaySummary;
  readonly violation?: ReplayViolation;
}
/**
 * Replays one thread's log.
 *
 * @example
 * ```ts
 * const scan = await readFrameFile("data/node-1/audit/thread-1.log");
 * const report = await replayThread(scan, { context: { policy } });
 * if (!report.ok) console.error(report.violation.message);
 * ```
 */
export async function replayThread(
  input: ReplayInput,
  options?: ReplayOptions,
): Promise<ReplayReport> {
  const replay = new Replay(input, options ?? {});
  const violation = await replay.run();
  return violation === undefined
    ? { ok: true, summary: replay.summary() }
    : { ok: false, summary: replay.summary(violation.record), violation };
}

/**
 * The replayer behind {@linkcode replayThread}: the per-record checks and
 * the state they need (seen envelopes, Lamport values per sender, decisions
 * per NEED), with signature checks batched and pipelined.
 *
 * @module
 */

import { decodeEnvelope } from "../envelope/codec.ts";
import { EnvelopeError } from "../envelope/errors.ts";
import { resolvePayload } from "../envelope/payload_ref.ts";
import { toHex } from "../envelope/mod.ts";
import type { SignedEnvelope } from "../envelope/types.ts";
import { checkReceiverRules, checkSignature } from "../envelope/verify.ts";
import { SignatureVerifier } from "../identity/identity.ts";
import { AUDIT_ERROR_CODES, AuditError, type AuditErrorCode } from "./errors.ts";
import { AUDIT_GENESIS_PREV, type AuditRecord, decodeAuditRecord, sameBytes } from "./record.ts";
import type { ReplayInput, ReplayOptions, ReplaySummary, ReplayViolation } from "./replay.ts";

interface Decision {
  readonly record: number;
  readonly id: string;
  readonly key: string;
}

/** An envelope already in the log, and the records that hold it per direction. */
interface SeenEnvelope {
  readonly envelope: SignedEnvelope;
  out?: number;
  in?: number;
}

interface PendingSignature {
  readonly record: number;
  readonly code: AuditErrorCode;
  /** Resolves with the violation's message, or undefined when the signature verifies. */
  readonly check: Promise<string | undefined>;
}

class Violation extends Error {
  constructor(readonly code: AuditErrorCode, readonly record: number, message: string) {
    super(message);
  }
}

/** One replay of one log. */
export class Replay {
  readonly #input: ReplayInput;
  readonly #options: ReplayOptions;
  readonly #verifier: SignatureVerifier;
  readonly #seen = new Map<string, SeenEnvelope>();
  readonly #lamports = new Map<string, { lamport: number; record: number }>();
  readonly #lamportsTaken = new Map<string, number>();
  readonly #decisions = new Map<string, Decision>();
  readonly #kinds: Record<string, number> = {};
  readonly #senders = new Set<string>();
  #first: AuditRecord | undefined;
  #previous: AuditRecord | undefined;
  #checked = 0;
  #published = 0;
  #delivered = 0;
  #signatures = 0;
  #lamportMax = 0;

  constructor(input: ReplayInput, options: ReplayOptions) {
    this.#input = input;
    this.#options = options;
    this.#verifier = options.context?.verifier ?? new SignatureVerifier();
  }

  /**
   * Checks records in order; signature checks go out in batches that run
   * while later records are decoded, with at most `batchesInFlight` in flight.
   */
  async run(): Promise<ReplayViolation | undefined> {
    const batchSize = this.#options.batchSize ?? 256;
    const batchesInFlight = this.#options.batchesInFlight ?? 4;
    const inFlight: Promise<Violation | undefined>[] = [];
    let pending: PendingSignature[] = [];
    let firstSync: Violation | undefined;
    for (let index = 0; index < this.#input.frames.length && firstSync === undefined; index++) {
      try {
        pending.push(...await this.#checkRecord(index, this.#input.frames[index]));
        this.#checked = index + 1;
      } catch (error) {
        firstSync = this.#asViolation(error, index);
      }
      if (pending.length >= batchSize) {
        inFlight.push(settle(pending));
        pending = [];
      }
      if (inFlight.length > batchesInFlight) {
        const failed = await inFlight.shift();
        if (failed !== undefined) return this.#finish(failed, inFlight);
      }
    }
    inFlight.push(settle(pending));
    while (inFlight.length > 0) {
      const failed = await inFlight.shift();
      if (failed !== undefined && (firstSync === undefined || failed.record <= firstSync.record)) {
        return this.#finish(failed, inFlight);
      }
    }
    if (firstSync !== undefined) return this.#violation(firstSync);
    return this.#stopViolation();
  }

  /** Reports `found` after letting abandoned batches settle (so none rejects unobserved). */
  async #finish(
    found: Violation,
    abandoned: Promise<Violation | undefined>[],
  ): Promise<ReplayViolation> {
    await Promise.allSettled(abandoned);
    return this.#violation(found);
  }

  /** What was seen; with a violation, `records` counts the records before it. */
  summary(violationRecord?: number): ReplaySummary {
    return {
      thread: this.#first?.thread,
      node: this.#first?.node,
      records: Math.min(this.#checked, violationRecord ?? Infinity),
      published: this.#published,
      delivered: this.#delivered,
      envelopes: this.#seen.size,
      senders: this.#senders.size,
      kinds: { ...this.#kinds },
      decidedNeeds: this.#decisions.size,
      signaturesVerified: this.#signatures,
      lamportMax: this.#lamportMax,
    };
  }

  async #checkRecord(index: number, bytes: Uint8Array): Promise<PendingSignature[]> {
    const record = decodeAuditRecord(bytes);
    this.#checkChain(index, record);
    const envelope = this.#checkEnvelope(index, record);
    const signatures = [
      this.#signatureCheck(
        index,
        AUDIT_ERROR_CODES.signature,
        () => this.#recordSignature(index, record),
      ),
    ];
    const firstSight = this.#checkDuplicates(index, record, envelope);
    if (firstSight) {
      signatures.push(
        this.#signatureCheck(
          index,
          AUDIT_ERROR_CODES.envelope,
          () => this.#envelopeSignature(envelope),
        ),
      );
      this.#checkLamport(index, envelope, record.dir);
      if (envelope.kind === "DECIDE") await this.#checkDecide(index, envelope);
      this.#kinds[envelope.kind] = (this.#kinds[envelope.kind] ?? 0) + 1;
      this.#senders.add(envelope.sender);
    }
    if (record.dir === "out") this.#published++;
    else this.#delivered++;
    this.#previous = record;
    return signatures;
  }

  #checkChain(index: number, record: AuditRecord): void {
    this.#first ??= record;
    if (record.seq !== index) {
      throw new Violation(
        AUDIT_ERROR_CODES.sequence,
        index,
        `has seq ${record.seq} but is record ${index}: records are missing, inserted or out of order`,
      );
    }
    const expected = this.#previous?.hash ?? AUDIT_GENESIS_PREV;
    if (!sameBytes(record.prev, expected)) {
      throw new Violation(
        AUDIT_ERROR_CODES.chain,
        index,
        `does not chain to ${index === 0 ? "the genesis hash" : `record ${index - 1}`}: prev is ${
          short(record.prev)
        } but the hash is ${short(expected)}${
          index === 0 ? "" : ` (record ${index - 1} was altered, or records were reordered)`
        }`,
      );
    }
    if (record.node !== this.#first.node) {
      throw new Violation(
        AUDIT_ERROR_CODES.node,
        index,
        `was written by ${record.node}, but this log belongs to ${this.#first.node}`,
      );
    }
    if (record.thread !== this.#first.thread) {
      throw new Violation(
        AUDIT_ERROR_CODES.thread,
        index,
        `is of thread ${record.thread}, but this log is thread ${this.#first.thread}`,
      );
    }
  }

  #checkEnvelope(index: number, record: AuditRecord): SignedEnvelope {
    const context = this.#options.context ?? {};
    try {
      const envelope = decodeEnvelope(record.env, { payloadMaxBytes: context.payloadMaxBytes });
      checkReceiverRules(envelope, context);
      if (envelope.thread !== record.thread) {
        throw new Violation(
          AUDIT_ERROR_CODES.thread,
          index,
          `holds envelope ${envelope.id} of thread ${envelope.thread}, not ${record.thread}`,
        );
      }
      return envelope;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      throw new Violation(
        AUDIT_ERROR_CODES.envelope,
        index,
        `holds an invalid envelope: ${error.code}: ${error.message}`,
      );
    }
  }

  /**
   * Returns true the first time an envelope is seen in the log. Envelopes
   * are keyed by (sender, nonce) and told apart by signature, which avoids
   * hashing every envelope for its id; ids are computed for messages only.
   */
  #checkDuplicates(index: number, record: AuditRecord, envelope: SignedEnvelope): boolean {
    const key = `${envelope.sender} ${toHex(envelope.nonce)}`;
    const seen = this.#seen.get(key);
    if (seen === undefined) {
      this.#seen.set(key, { envelope, [record.dir]: index });
      return true;
    }
    if (!sameBytes(seen.envelope.sig, envelope.sig)) {
      throw new Violation(
        AUDIT_ERROR_CODES.duplicate,
        index,
        `holds envelope ${envelope.id} whose nonce ${
          toHex(envelope.nonce)
        } from ${envelope.sender} was already used by envelope ${seen.envelope.id}`,
      );
    }
    const earlier = seen[record.dir];
    if (earlier !== undefined) {
      throw new Violation(
        AUDIT_ERROR_CODES.duplicate,
        index,
        `logs envelope ${envelope.id} as '${record.dir}' a second time (first at record ${earlier})`,
      );
    }
    seen[record.dir] = index;
    return false;
  }

  #checkLamport(index: number, envelope: SignedEnvelope, dir: "in" | "out"): void {
    this.#lamportMax = Math.max(this.#lamportMax, envelope.lamport);
    // In `own` order, the node's sends are strict; one of its envelopes that came back in (a
    // CLAIM the lease monitor published for it) was not sent here, so it need only be distinct.
    const strict = (this.#options.lamportOrder ?? "strict") === "strict" ||
      (envelope.sender === this.#first?.node && dir === "out");
    if (strict) {
      const last = this.#lamports.get(envelope.sender);
      if (last !== undefined && envelope.lamport <= last.lamport) {
        throw new Violation(
          AUDIT_ERROR_CODES.lamport,
          index,
          `holds envelope ${envelope.id} from ${envelope.sender} with lamport ${envelope.lamport}, not above ${last.lamport} of record ${last.record}`,
        );
      }
      this.#lamports.set(envelope.sender, { lamport: envelope.lamport, record: index });
      return;
    }
    const key = `${envelope.sender} ${envelope.lamport}`;
    const taken = this.#lamportsTaken.get(key);
    if (taken !== undefined) {
      throw new Violation(
        AUDIT_ERROR_CODES.lamport,
        index,
        `holds envelope ${envelope.id} from ${envelope.sender} with lamport ${envelope.lamport}, already used at record ${taken}`,
      );
    }
    this.#lamportsTaken.set(key, index);
  }

  async #checkDecide(index: number, envelope: SignedEnvelope): Promise<void> {
    let payload;
    try {
      payload = await resolvePayload(envelope, this.#options.cas);
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      throw new Violation(
        AUDIT_ERROR_CODES.envelope,
        index,
        `holds DECIDE ${envelope.id} whose payload cannot be read (${error.message}); pass the content store to check it`,
      );
    }
    const needId = payload.needId;
    if (typeof needId !== "string" || needId.length === 0) {
      throw new Violation(
        AUDIT_ERROR_CODES.envelope,
        index,
        `holds DECIDE ${envelope.id} without a needId`,
      );
    }
    const key = `${String(payload.proposalId)} epoch ${String(payload.epoch ?? envelope.epoch)}`;
    const earlier = this.#decisions.get(needId);
    if (earlier === undefined) {
      this.#decisions.set(needId, { record: index, id: envelope.id, key });
    } else if (earlier.key !== key) {
      throw new Violation(
        AUDIT_ERROR_CODES.doubleDecide,
        index,
        `holds a second DECIDE for need ${needId}: envelope ${envelope.id} decides proposal ${key}, but record ${earlier.record} (envelope ${earlier.id}) decided proposal ${earlier.key}`,
      );
    }
  }

  #signatureCheck(
    record: number,
    code: AuditErrorCode,
    check: () => Promise<string | undefined>,
  ): PendingSignature {
    this.#signatures++;
    return { record, code, check: check() };
  }

  async #recordSignature(index: number, record: AuditRecord): Promise<string | undefined> {
    try {
      if (await this.#verifier.verify(record.node, record.sig, record.signingBytes)) return;
    } catch (error) {
      return `has an unusable node DID ${record.node} (${(error as Error).message})`;
    }
    return `has a node signature that does not verify under ${record.node} (record ${index} was altered or forged)`;
  }

  async #envelopeSignature(envelope: SignedEnvelope): Promise<string | undefined> {
    try {
      await checkSignature(envelope, this.#verifier);
      return undefined;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      return `holds an invalid envelope: ${error.code}: ${error.message}`;
    }
  }

  #asViolation(error: unknown, index: number): Violation {
    if (error instanceof Violation) return error;
    if (error instanceof AuditError) {
      return new Violation(error.code, index, error.message.replace(/^Audit record /, ""));
    }
    throw error;
  }

  #violation(found: Violation): ReplayViolation {
    const offset = this.#input.offsets?.[found.record];
    const where = `Record ${found.record}${offset === undefined ? "" : ` (byte ${offset})`}`;
    return {
      code: found.code,
      record: found.record,
      ...(offset === undefined ? {} : { offset }),
      message: `${where} ${found.message}`,
    };
  }

  #stopViolation(): ReplayViolation | undefined {
    const stop = this.#input.stop;
    if (stop === undefined) return undefined;
    return {
      code: stop.kind === "torn" ? AUDIT_ERROR_CODES.torn : AUDIT_ERROR_CODES.corrupt,
      record: stop.frameIndex,
      offset: stop.offset,
      message: stop.kind === "torn"
        ? `${stop.message}: the log ends in a torn record (a crash during an append); it is not accepted`
        : stop.message,
    };
  }
}

/** Awaits a batch and returns the earliest failure. */
async function settle(pending: readonly PendingSignature[]): Promise<Violation | undefined> {
  const results = await Promise.all(pending.map((item) => item.check));
  let first: Violation | undefined;
  results.forEach((message, position) => {
    const record = pending[position].record;
    if (message !== undefined && (first === undefined || record < first.record)) {
      first = new Violation(pending[position].code, record, message);
    }
  });
  return first;
}

function short(bytes: Uint8Array): string {
  return `${toHex(bytes.subarray(0, 8))}…`;
}

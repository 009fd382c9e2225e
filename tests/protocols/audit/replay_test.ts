// Proves replay accepts an intact recorded thread and reports tampering, reordering, torn tails, forgery and protocol violations precisely.
import assert from "node:assert/strict";
import * as dagCbor from "@ipld/dag-cbor";
import {
  AUDIT_ERROR_CODES,
  auditLogName,
  decodeAuditRecord,
  type ReplayOptions,
  type ReplayReport,
  replayThread,
  SignedAuditLog,
} from "../../../protocols/audit/mod.ts";
import {
  decodeEnvelope,
  type SignedEnvelope,
  signEnvelope,
} from "../../../protocols/envelope/mod.ts";
import { encodeFrame, FRAME_FILE_MAGIC, scanFrames } from "../../../runtime/store/frame_log.ts";
import { MemoryFrameLogDirectory } from "../../../runtime/store/memory_frame_log.ts";
import { FIXTURE_POLICY, writeAuditThread } from "../../../tools/bench/_audit_thread.ts";
import { testFields, testIdentity } from "../_fixtures.ts";
import type { Identity } from "../../../protocols/identity/identity.ts";

const THREAD = "thread-replay";

async function recordedThread(events = 30) {
  const directory = new MemoryFrameLogDirectory();
  const thread = await writeAuditThread({ directory, thread: THREAD, events, seed: 7 });
  const bytes = directory.bytesOf(auditLogName(THREAD)) as Uint8Array;
  const frames: Uint8Array[] = scanFrames(bytes).frames.map((frame) => frame.slice());
  return { ...thread, directory, bytes, frames };
}

function fileOf(frames: Uint8Array[]): Uint8Array {
  return Uint8Array.from([
    ...FRAME_FILE_MAGIC,
    ...frames.flatMap((frame) => [...encodeFrame(frame)]),
  ]);
}

function replayBytes(bytes: Uint8Array, options?: ReplayOptions): Promise<ReplayReport> {
  return replayThread(scanFrames(bytes), options);
}

function expectViolation(
  report: ReplayReport,
  code: string,
  record: number,
  message: RegExp,
): void {
  assert.equal(report.ok, false, "replay accepted a bad log");
  assert.equal(report.violation?.code, code, report.violation?.message ?? "");
  assert.equal(report.violation?.record, record, report.violation?.message);
  assert.match(report.violation?.message ?? "", message);
}

/**
 * Re-encodes record `index` after `change` edits its body fields and/or its
 * signature (`fields.sig`); the original signature stays unless changed.
 */
function rewriteRecord(
  frames: Uint8Array[],
  index: number,
  change: (fields: Record<string, unknown>) => void,
) {
  const outer = dagCbor.decode(frames[index]) as { body: Uint8Array; sig: Uint8Array };
  const fields = { ...(dagCbor.decode(outer.body) as Record<string, unknown>), sig: outer.sig };
  change(fields);
  const { sig, ...body } = fields;
  const copy = [...frames];
  copy[index] = dagCbor.encode({ body: dagCbor.encode(body), sig });
  return copy;
}

Deno.test("an intact recorded thread replays clean with a summary of what it holds", async () => {
  const { bytes, node, envelopes } = await recordedThread(30);
  const report = await replayBytes(bytes, { context: { policy: FIXTURE_POLICY } });
  assert.equal(report.ok, true, report.violation?.message ?? "");
  assert.equal(report.summary.records, 30);
  assert.equal(report.summary.node, node.did);
  assert.equal(report.summary.thread, THREAD);
  assert.equal(report.summary.published, 10);
  assert.equal(report.summary.delivered, 20);
  assert.equal(report.summary.envelopes, 30);
  assert.equal(report.summary.senders, 4);
  assert.equal(report.summary.kinds.DECIDE, 3);
  assert.equal(report.summary.decidedNeeds, 3);
  assert.equal(report.summary.signaturesVerified, 60);
  assert.equal(report.summary.lamportMax, Math.max(...envelopes.map((e) => e.lamport)));
});

Deno.test("a tampered byte without a fixed-up checksum is reported as a corrupt frame", async () => {
  const { bytes } = await recordedThread(12);
  const scan = scanFrames(bytes);
  const tampered = bytes.slice();
  tampered[scan.offsets[5] + 200] ^= 0x04;
  expectViolation(
    await replayBytes(tampered),
    AUDIT_ERROR_CODES.corrupt,
    5,
    /Corrupt frame 5 at byte \d+: checksum mismatch/,
  );
});

Deno.test("a tampered record with a recomputed checksum fails its node signature", async () => {
  const { frames } = await recordedThread(12);
  const tampered = rewriteRecord(frames, 5, (fields) => {
    fields.dir = fields.dir === "in" ? "out" : "in";
  });
  expectViolation(
    await replayBytes(fileOf(tampered)),
    AUDIT_ERROR_CODES.signature,
    5,
    /^Record 5 \(byte \d+\) has a node signature that does not verify under did:key:\S+ \(record 5 was altered or forged\)$/,
  );
});

Deno.test("a tampered envelope inside a record is caught, even with the record re-signed by someone else", async () => {
  const { frames } = await recordedThread(12);
  const mallory = await testIdentity(66);
  const record = decodeAuditRecord(frames[4]);
  const envelope = dagCbor.decode(record.env) as Record<string, unknown>;
  envelope.payload = { needId: "need-0", proposalId: "stolen", epoch: 1, kPlan: 1 };
  const env = dagCbor.encode(envelope);
  const body = dagCbor.encode({
    v: 1,
    seq: record.seq,
    thread: record.thread,
    dir: record.dir,
    env,
    prev: record.prev,
    node: mallory.did,
  });
  const resigned = [...frames];
  resigned[4] = dagCbor.encode({ body, sig: await mallory.sign(body) });
  expectViolation(
    await replayBytes(fileOf(resigned)),
    AUDIT_ERROR_CODES.node,
    4,
    /^Record 4 \(byte \d+\) was written by did:key:\S+, but this log belongs to did:key:/,
  );
});

Deno.test("a reordered record breaks the sequence at the first moved position", async () => {
  const { frames } = await recordedThread(12);
  const swapped = [...frames];
  [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
  expectViolation(
    await replayBytes(fileOf(swapped)),
    AUDIT_ERROR_CODES.sequence,
    3,
    /^Record 3 \(byte \d+\) has seq 4 but is record 3: records are missing, inserted or out of order$/,
  );
  const dropped = frames.filter((_, index) => index !== 7);
  expectViolation(
    await replayBytes(fileOf(dropped)),
    AUDIT_ERROR_CODES.sequence,
    7,
    /has seq 8 but is record 7/,
  );
});

Deno.test("a record whose predecessor changed breaks the hash chain with both hashes named", async () => {
  const { frames } = await recordedThread(12);
  const chainBroken = [...frames];
  chainBroken[6] = (await recordedThreadWithPrefix(frames)).frames[6];
  expectViolation(
    await replayBytes(fileOf(chainBroken)),
    AUDIT_ERROR_CODES.chain,
    6,
    /^Record 6 \(byte \d+\) does not chain to record 5: prev is [0-9a-f]{16}… but the hash is [0-9a-f]{16}… \(record 5 was altered, or records were reordered\)$/,
  );
});

/** The same node writing a different record 5, so its record 6 chains to another hash. */
async function recordedThreadWithPrefix(frames: Uint8Array[]) {
  const directory = new MemoryFrameLogDirectory();
  directory.replaceBytes(THREAD, fileOf(frames.slice(0, 5)));
  const { node } = await recordedThread(1);
  const audit = new SignedAuditLog(directory, node);
  for (const index of [6, 5]) {
    await audit.append(decodeEnvelope(decodeAuditRecord(frames[index]).env), "in");
  }
  const bytes = directory.bytesOf(THREAD) as Uint8Array;
  return { frames: scanFrames(bytes).frames.map((frame): Uint8Array => frame.slice()) };
}

Deno.test("a truncated tail is reported as torn, never silently accepted", async () => {
  const { bytes } = await recordedThread(12);
  const cut = bytes.subarray(0, bytes.length - 17);
  const report = await replayBytes(cut);
  expectViolation(
    report,
    AUDIT_ERROR_CODES.torn,
    11,
    /^Torn frame 11 at byte \d+: declares \d+ bytes but only \d+ follow: the log ends in a torn record/,
  );
  assert.equal(report.summary.records, 11, "the whole records before the tear were still checked");
});

Deno.test("a forged node signature is caught with the record named", async () => {
  const { frames } = await recordedThread(12);
  const forged = rewriteRecord(frames, 8, (fields) => {
    fields.sig = new Uint8Array(64).fill(1);
  });
  expectViolation(
    await replayBytes(fileOf(forged)),
    AUDIT_ERROR_CODES.signature,
    8,
    /Record 8 .* node signature that does not verify/,
  );
  const mallory = await testIdentity(67);
  const malloryWitness = await mallory.sign(decodeAuditRecord(frames[8]).signingBytes);
  const byMallory = rewriteRecord(frames, 8, (fields) => {
    fields.sig = malloryWitness;
  });
  expectViolation(
    await replayBytes(fileOf(byMallory)),
    AUDIT_ERROR_CODES.signature,
    8,
    /does not verify under/,
  );
});

Deno.test("the first violation in log order wins, even when signatures are checked in batches", async () => {
  const { frames } = await recordedThread(40);
  const both = rewriteRecord(frames, 2, (fields) => {
    fields.sig = new Uint8Array(64).fill(9);
  });
  [both[30], both[31]] = [both[31], both[30]];
  for (const batchSize of [1, 4, 256]) {
    expectViolation(
      await replayBytes(fileOf(both), { batchSize }),
      AUDIT_ERROR_CODES.signature,
      2,
      /Record 2/,
    );
  }
  const syncFirst = rewriteRecord(frames, 30, (fields) => {
    fields.sig = new Uint8Array(64).fill(9);
  });
  [syncFirst[2], syncFirst[3]] = [syncFirst[3], syncFirst[2]];
  expectViolation(
    await replayBytes(fileOf(syncFirst), { batchSize: 256 }),
    AUDIT_ERROR_CODES.sequence,
    2,
    /Record 2/,
  );
});

type Append = (envelope: Uint8Array | SignedEnvelope, dir: "in" | "out") => Promise<void>;

async function singleThreadLog(build: (append: Append) => Promise<void>): Promise<Uint8Array> {
  const directory = new MemoryFrameLogDirectory();
  const node = await testIdentity(30);
  const audit = new SignedAuditLog(directory, node);
  await build(async (envelope, dir) => {
    await audit.append(envelope instanceof Uint8Array ? decodeEnvelope(envelope) : envelope, dir);
  });
  return directory.bytesOf("t") as Uint8Array;
}

Deno.test("two different DECIDEs for one NEED are reported; a re-announced identical decision is not", async () => {
  const decider = await testIdentity(31);
  const decide = (lamport: number, proposal: string) =>
    signEnvelope(
      testFields(decider.did, {
        kind: "DECIDE",
        thread: "t",
        lamport,
        nonce: new Uint8Array(16).fill(lamport),
        payload: { needId: "need-9", proposalId: proposal, epoch: 1 },
      }),
      decider,
    );
  const first = await decide(1, "p-1");
  const again = await decide(2, "p-1");
  const second = await decide(3, "p-2");
  const okLog = await singleThreadLog(async (append) => {
    await append(first, "in");
    await append(again, "in");
  });
  assert.equal((await replayBytes(okLog)).ok, true);
  const badLog = await singleThreadLog(async (append) => {
    await append(first, "in");
    await append(second, "in");
  });
  expectViolation(
    await replayBytes(badLog),
    AUDIT_ERROR_CODES.doubleDecide,
    1,
    /second DECIDE for need need-9: envelope \S+ decides proposal p-2 epoch 1, but record 0 \(envelope \S+\) decided proposal p-1 epoch 1/,
  );
});

/** An envelope of thread "t" signed by `signer` at `lamport` (the nonce follows it). */
function signedAt(signer: Identity, lamport: number) {
  return signEnvelope(
    testFields(signer.did, { thread: "t", lamport, nonce: new Uint8Array(16).fill(lamport) }),
    signer,
  );
}

Deno.test("Lamport values that do not increase per sender are reported; 'own' mode tolerates reordered deliveries", async () => {
  const peer = await testIdentity(32);
  const [late, early] = [await signedAt(peer, 9), await signedAt(peer, 4)];
  const log = await singleThreadLog(async (append) => {
    await append(late, "in");
    await append(early, "in");
  });
  expectViolation(
    await replayBytes(log),
    AUDIT_ERROR_CODES.lamport,
    1,
    /lamport 4, not above 9 of record 0/,
  );
  assert.equal((await replayBytes(log, { lamportOrder: "own" })).ok, true);
});

Deno.test("in 'own' mode the node's sends must increase, while its own envelope that came back in need only be distinct", async () => {
  const own = await testIdentity(30); // the node singleThreadLog writes as
  const [sent, relayed] = [await signedAt(own, 9), await signedAt(own, 4)];
  const cameBack = await singleThreadLog(async (append) => {
    await append(sent, "out");
    await append(relayed, "in"); // a CLAIM the lease monitor published for this node
  });
  assert.equal((await replayBytes(cameBack, { lamportOrder: "own" })).ok, true);
  const reordered = await singleThreadLog(async (append) => {
    await append(sent, "out");
    await append(relayed, "out");
  });
  expectViolation(
    await replayBytes(reordered, { lamportOrder: "own" }),
    AUDIT_ERROR_CODES.lamport,
    1,
    /lamport 4, not above 9 of record 0/,
  );
});

Deno.test("an envelope logged twice in one direction is a duplicate; published then delivered is not", async () => {
  const peer = await testIdentity(33);
  const envelope = await signEnvelope(testFields(peer.did, { thread: "t" }), peer);
  const fine = await singleThreadLog(async (append) => {
    await append(envelope, "out");
    await append(envelope, "in");
  });
  assert.equal((await replayBytes(fine)).ok, true);
  const twice = await singleThreadLog(async (append) => {
    await append(envelope, "in");
    await append(envelope, "in");
  });
  expectViolation(
    await replayBytes(twice),
    AUDIT_ERROR_CODES.duplicate,
    1,
    /as 'in' a second time \(first at record 0\)/,
  );
});

Deno.test("an invalid envelope inside a validly signed record is re-validated and reported", async () => {
  const peer = await testIdentity(34);
  const envelope = await signEnvelope(testFields(peer.did, { thread: "t" }), peer);
  const badSig = envelope.bytes.slice();
  badSig[30] ^= 0x10; // inside sig
  const log = await singleThreadLog((append) => append(badSig, "in"));
  expectViolation(
    await replayBytes(log),
    AUDIT_ERROR_CODES.envelope,
    0,
    /holds an invalid envelope: E_SIG_INVALID/,
  );
  const good = await singleThreadLog((append) => append(envelope, "in"));
  expectViolation(
    await replayBytes(good, { context: { policy: "sha256:other" } }),
    AUDIT_ERROR_CODES.envelope,
    0,
    /E_POLICY_MISMATCH/,
  );
});

// Proves the audit log chains and signs every record per thread, survives restarts and torn tails, logs a re-delivered envelope once, and refuses foreign or damaged logs.
import assert from "node:assert/strict";
import * as dagCbor from "@ipld/dag-cbor";
import {
  AUDIT_ERROR_CODES,
  AUDIT_GENESIS_PREV,
  auditLogName,
  decodeAuditRecord,
  SignedAuditLog,
} from "../../../protocols/audit/mod.ts";
import { type SignedEnvelope, signEnvelope } from "../../../protocols/envelope/mod.ts";
import { SignatureVerifier } from "../../../protocols/identity/mod.ts";
import { FileFrameLogDirectory } from "../../../runtime/store/file_frame_log.ts";
import { encodeFrame, FRAME_FILE_MAGIC, scanFrames } from "../../../runtime/store/frame_log.ts";
import { MemoryFrameLogDirectory } from "../../../runtime/store/memory_frame_log.ts";
import { testFields, testIdentity } from "../_fixtures.ts";

const node = await testIdentity(21);
const peer = await testIdentity(22);
const verifier = new SignatureVerifier();

async function envelopes(thread: string, count: number, from = 1): Promise<SignedEnvelope[]> {
  const out: SignedEnvelope[] = [];
  for (let index = 0; index < count; index++) {
    const signer = index % 2 === 0 ? node : peer;
    out.push(
      await signEnvelope(
        testFields(signer.did, {
          thread,
          lamport: from + index,
          nonce: new Uint8Array(16).fill(from + index),
        }),
        signer,
      ),
    );
  }
  return out;
}

function records(directory: MemoryFrameLogDirectory, thread: string) {
  return scanFrames(directory.bytesOf(auditLogName(thread)) as Uint8Array).frames.map(
    decodeAuditRecord,
  );
}

Deno.test("each record carries its envelope, its position, the previous record's hash and a node signature", async () => {
  const directory = new MemoryFrameLogDirectory();
  const audit = new SignedAuditLog(directory, node);
  const sent = await envelopes("t-1", 4);
  for (const [index, envelope] of sent.entries()) {
    await audit.append(envelope, index % 2 === 0 ? "out" : "in");
  }
  const logged = records(directory, "t-1");
  assert.equal(logged.length, 4);
  assert.deepEqual(logged[0].prev, AUDIT_GENESIS_PREV);
  for (const [index, record] of logged.entries()) {
    assert.equal(record.seq, index);
    assert.equal(record.thread, "t-1");
    assert.equal(record.node, node.did);
    assert.equal(record.dir, index % 2 === 0 ? "out" : "in");
    assert.deepEqual(record.env, sent[index].bytes);
    if (index > 0) assert.deepEqual(record.prev, logged[index - 1].hash);
    assert.ok(await verifier.verify(node.did, record.sig, record.signingBytes));
  }
  assert.equal(audit.stats.appended, 4);
});

Deno.test("concurrent appends to one thread are chained in call order; threads get separate logs", async () => {
  const directory = new MemoryFrameLogDirectory();
  const audit = new SignedAuditLog(directory, node);
  const one = await envelopes("t-a", 20);
  const two = await envelopes("t-b", 5, 100);
  await Promise.all([
    ...one.map((e) => audit.append(e, "in")),
    ...two.map((e) => audit.append(e, "out")),
  ]);
  assert.deepEqual(records(directory, "t-a").map((r) => r.seq), [...Array(20).keys()]);
  assert.deepEqual(records(directory, "t-a").map((r) => r.env), one.map((e) => e.bytes));
  assert.equal(records(directory, "t-b").length, 5);
  assert.deepEqual(await directory.names(), ["t-a", "t-b"]);
});

Deno.test("after a restart the log continues the same chain", async () => {
  const directory = new MemoryFrameLogDirectory();
  const batch = await envelopes("t-r", 6);
  const first = new SignedAuditLog(directory, node);
  for (const envelope of batch.slice(0, 3)) await first.append(envelope, "in");
  await first.close();
  const second = new SignedAuditLog(directory, node, { verifier });
  for (const envelope of batch.slice(3)) await second.append(envelope, "in");
  const logged = records(directory, "t-r");
  assert.deepEqual(logged.map((r) => r.seq), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(logged[3].prev, logged[2].hash);
});

Deno.test("appendOnce logs an envelope once per direction, across a restart too (a node synced again)", async () => {
  const directory = new MemoryFrameLogDirectory();
  const [first, second] = await envelopes("t-once", 2);
  const before = new SignedAuditLog(directory, node);
  assert.ok(await before.appendOnce(first, "in"));
  assert.equal(await before.appendOnce(first, "in"), undefined, "the same delivery again");
  await before.close();
  const after = new SignedAuditLog(directory, node);
  assert.equal(await after.appendOnce(first, "in"), undefined, "delivered again after a restart");
  assert.ok(await after.appendOnce(first, "out"), "another direction is another record");
  assert.ok(await after.appendOnce(second, "in"));
  assert.deepEqual(records(directory, "t-once").map((record) => record.dir), ["in", "out", "in"]);
});

Deno.test("a torn last record is truncated on reopen, reported, and the chain goes on from the last whole record", async () => {
  const directory = new MemoryFrameLogDirectory();
  const batch = await envelopes("t-torn", 4);
  const first = new SignedAuditLog(directory, node);
  for (const envelope of batch.slice(0, 3)) await first.append(envelope, "in");
  const name = auditLogName("t-torn");
  const bytes = directory.bytesOf(name) as Uint8Array;
  directory.replaceBytes(name, bytes.subarray(0, bytes.length - 40)); // crash mid-append
  const recovered: string[] = [];
  const second = new SignedAuditLog(directory, node, {
    onRecovered: (thread, stop) => recovered.push(`${thread}: ${stop.message}`),
  });
  await second.append(batch[3], "in");
  assert.equal(recovered.length, 1);
  assert.match(recovered[0], /^t-torn: Torn frame 2 at byte \d+/);
  assert.equal(second.stats.recoveredTails, 1);
  const logged = records(directory, "t-torn");
  assert.deepEqual(logged.map((r) => r.seq), [0, 1, 2]);
  assert.deepEqual(logged[2].env, batch[3].bytes);
  assert.deepEqual(logged[2].prev, logged[1].hash);
});

Deno.test("a log written by another node, or with a forged last record, is not appended to", async () => {
  const directory = new MemoryFrameLogDirectory();
  const [envelope, next] = await envelopes("t-x", 2);
  await new SignedAuditLog(directory, peer).append(envelope, "in");
  await assert.rejects(
    new SignedAuditLog(directory, node).append(next, "in"),
    (error: Error & { code?: string }) =>
      error.code === AUDIT_ERROR_CODES.corrupt && /written by did:key:/.test(error.message),
  );
  const own = new MemoryFrameLogDirectory();
  await new SignedAuditLog(own, node).append(envelope, "in");
  const [record] = records(own, "t-x");
  const forged = await peer.sign(record.signingBytes);
  const tampered = dagCbor.encode({ body: record.signingBytes, sig: forged });
  own.replaceBytes("t-x", Uint8Array.from([...FRAME_FILE_MAGIC, ...encodeFrame(tampered)]));
  await assert.rejects(
    new SignedAuditLog(own, node, { verifier }).append(next, "in"),
    (error: Error & { code?: string }) => error.code === AUDIT_ERROR_CODES.signature,
  );
});

Deno.test("thread ids that are not safe file names get a hashed log name that cannot collide", () => {
  assert.equal(auditLogName("need-42"), "need-42");
  const odd = auditLogName("../../etc/passwd");
  assert.match(odd, /^~[0-9a-f]{48}$/);
  assert.notEqual(auditLogName("a/b"), auditLogName("a\\b"));
  assert.match(auditLogName("x".repeat(300)), /^~/);
});

Deno.test("the file-backed audit log survives a process restart", async () => {
  const root = await Deno.makeTempDir({ prefix: "audit-" });
  try {
    const batch = await envelopes("t-file", 4);
    const first = new SignedAuditLog(await FileFrameLogDirectory.open(root), node);
    for (const envelope of batch.slice(0, 2)) await first.append(envelope, "out");
    await first.sync();
    await first.close();
    const directory = await FileFrameLogDirectory.open(root);
    const second = new SignedAuditLog(directory, node, { verifier });
    for (const envelope of batch.slice(2)) await second.append(envelope, "in");
    await second.close();
    const frames = scanFrames(await Deno.readFile(directory.pathOf("t-file"))).frames.map(
      decodeAuditRecord,
    );
    assert.deepEqual(frames.map((r) => [r.seq, r.dir]), [[0, "out"], [1, "out"], [2, "in"], [
      3,
      "in",
    ]]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a restarted node reads a thread's envelopes back, each once, after the appends asked for, from files too", async () => {
  const root = await Deno.makeTempDir({ prefix: "audit-" });
  try {
    const batch = await envelopes("t-read", 3);
    const first = new SignedAuditLog(await FileFrameLogDirectory.open(root), node);
    await first.append(batch[0], "out");
    await first.append(batch[1], "in");
    await first.append(batch[0], "in"); // its own envelope came back from a peer
    await first.close();
    const second = new SignedAuditLog(await FileFrameLogDirectory.open(root), node, { verifier });
    const appended = second.append(batch[2], "in"); // not awaited: the read comes after it
    const read = await second.envelopes("t-read");
    await appended;
    assert.deepEqual(read, batch.map((envelope) => envelope.bytes));
    await second.append((await envelopes("t-read", 1, 9))[0], "out");
    assert.equal((await second.envelopes("t-read")).length, 4, "and it goes on logging");
    assert.deepEqual(await second.envelopes("t-none"), [], "a thread never logged has none");
    await second.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("with openThreadsMax 2, idle logs are closed and reopened transparently", async () => {
  const directory = new MemoryFrameLogDirectory();
  const audit = new SignedAuditLog(directory, node, { openThreadsMax: 2 });
  for (let round = 0; round < 3; round++) {
    for (const thread of ["a", "b", "c", "d"]) {
      const [envelope] = await envelopes(thread, 1, 1000 + round * 10 + thread.charCodeAt(0));
      await audit.append(envelope, "in");
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(audit.stats.openThreads <= 3, `open: ${audit.stats.openThreads}`);
  for (const thread of ["a", "b", "c", "d"]) {
    assert.deepEqual(records(directory, thread).map((r) => r.seq), [0, 1, 2]);
  }
  // Reopened logs carried on from where they were closed, without reading them again.
  assert.ok(audit.stats.warmReopens >= 4, `warm reopens: ${audit.stats.warmReopens}`);
});

Deno.test("after a burst of appends to many threads at once, idle logs are closed down to openThreadsMax", async () => {
  const directory = new MemoryFrameLogDirectory();
  const audit = new SignedAuditLog(directory, node, { openThreadsMax: 2 });
  const threads = Array.from({ length: 12 }, (_, index) => `burst-${index}`);
  const batch = await Promise.all(
    threads.map(async (thread, index) => (await envelopes(thread, 1, 5000 + index))[0]),
  );
  await Promise.all(batch.map((envelope) => audit.append(envelope, "in")));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(audit.stats.openThreads, 2, "the logs opened in the burst did not stay open");
  for (const thread of threads) assert.deepEqual(records(directory, thread).map((r) => r.seq), [0]);
  await audit.close();
});

Deno.test("a resting log changed behind the audit log's back is read again on reopen, not trusted", async () => {
  const directory = new MemoryFrameLogDirectory();
  const audit = new SignedAuditLog(directory, node, { openThreadsMax: 1 });
  const [first, second] = await envelopes("x", 2, 3000);
  const [other] = await envelopes("y", 1, 3100);
  await audit.append(first, "in");
  await audit.append(other, "in"); // x goes to rest
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Cut x's log back to its header: the remembered size no longer matches.
  directory.replaceBytes("x", directory.bytesOf("x")!.slice(0, 8));
  await audit.append(second, "in");
  assert.equal(audit.stats.warmReopens, 0);
  assert.deepEqual(records(directory, "x").map((r) => r.seq), [0]);
  await audit.close();
});

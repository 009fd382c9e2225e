// Proves audit-log retention removes the thread logs nobody wrote since the cutoff but never an open one, that a thread speaking after its log went starts a new, valid log, and that logs in memory are never pruned.
import assert from "node:assert/strict";
import { auditLogName, SignedAuditLog } from "../../../protocols/audit/mod.ts";
import { type SignedEnvelope, signEnvelope } from "../../../protocols/envelope/mod.ts";
import { FileFrameLogDirectory } from "../../../runtime/store/file_frame_log.ts";
import type { FrameLogDirectory } from "../../../runtime/store/frame_log.ts";
import { MemoryFrameLogDirectory } from "../../../runtime/store/memory_frame_log.ts";
import { testFields, testIdentity } from "../_fixtures.ts";

const node = await testIdentity(31);
const DAY_MS = 24 * 60 * 60 * 1000;

let lamport = 0;
async function envelope(thread: string): Promise<SignedEnvelope> {
  lamport++;
  return await signEnvelope(
    testFields(node.did, { thread, lamport, nonce: new Uint8Array(16).fill(lamport % 256) }),
    node,
  );
}

async function age(path: string, ageMs: number): Promise<void> {
  const when = new Date(Date.now() - ageMs);
  await Deno.utime(path, when, when);
}

Deno.test("retention removes idle thread logs written before the cutoff, and keeps open and recent ones", async () => {
  const root = await Deno.makeTempDir({ prefix: "audit-retention-" });
  try {
    const directory = await FileFrameLogDirectory.open(root);
    // At most one log open: appending to "busy" last leaves it open and the others closed.
    const audit = new SignedAuditLog(directory, node, { openThreadsMax: 1 });
    for (const thread of ["old", "recent", "busy"]) {
      await audit.append(await envelope(thread), "in");
    }
    for (const thread of ["old", "busy"]) {
      await age(directory.pathOf(auditLogName(thread)), 2 * DAY_MS);
    }
    const result = await audit.prune(Date.now() - DAY_MS, 1_000);
    assert.equal(result.removed, 1);
    assert.equal(result.passDone, true);
    assert.deepEqual(await directory.names(), ["busy", "recent"]);
    // The open log still takes appends in its chain.
    const record = await audit.append(await envelope("busy"), "in");
    assert.equal(record.seq, 1);
    await audit.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a thread whose log retention removed starts a new log that reads back", async () => {
  const root = await Deno.makeTempDir({ prefix: "audit-retention-" });
  try {
    const directory = await FileFrameLogDirectory.open(root);
    const audit = new SignedAuditLog(directory, node, { openThreadsMax: 1 });
    await audit.append(await envelope("gone"), "in");
    await audit.append(await envelope("other"), "in"); // closes "gone"
    await age(directory.pathOf("gone"), 2 * DAY_MS);
    assert.equal((await audit.prune(Date.now() - DAY_MS, 1_000)).removed, 1);
    const late = await envelope("gone");
    assert.equal((await audit.append(late, "out")).seq, 0, "a new chain");
    assert.deepEqual(await audit.envelopes("gone"), [late.bytes]);
    await audit.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * The real file directory, with slow removals: `onRemove` runs as soon as a
 * removal is asked for, and the file goes a few milliseconds later.
 */
class RemovalWatcher implements FrameLogDirectory {
  constructor(readonly inner: FileFrameLogDirectory, readonly onRemove: (name: string) => void) {}
  open(name: string) {
    return this.inner.open(name);
  }
  reopen(name: string, size: number) {
    return this.inner.reopen(name, size);
  }
  names() {
    return this.inner.names();
  }
  staleNames(beforeMs: number, budget: number) {
    return this.inner.staleNames(beforeMs, budget);
  }
  async remove(name: string) {
    queueMicrotask(() => this.onRemove(name));
    await new Promise((resolve) => setTimeout(resolve, 5));
    return await this.inner.remove(name);
  }
}

Deno.test("an append that comes while retention removes its thread's log waits, and is never lost", async () => {
  const root = await Deno.makeTempDir({ prefix: "audit-retention-" });
  try {
    const files = await FileFrameLogDirectory.open(root);
    const appends: Promise<unknown>[] = [];
    const late = new Map<string, SignedEnvelope>();
    const directory = new RemovalWatcher(files, (name) => {
      appends.push(audit.append(late.get(name) as SignedEnvelope, "out"));
    });
    const audit = new SignedAuditLog(directory, node, { openThreadsMax: 1 });
    for (let round = 0; round < 20; round++) {
      const thread = `race-${round}`;
      await audit.append(await envelope(thread), "in");
      await audit.append(await envelope(`${thread}-other`), "in"); // closes `thread`
      await age(files.pathOf(thread), 2 * DAY_MS);
      late.set(thread, await envelope(thread));
      const pruned = await audit.prune(Date.now() - DAY_MS, 1_000);
      await Promise.all(appends.splice(0));
      assert.ok(pruned.removed >= 1, `round ${round}: the old log was removed`);
      assert.deepEqual(
        await audit.envelopes(thread),
        [late.get(thread)?.bytes],
        `round ${round}: the late envelope starts the new log`,
      );
      // Let the next round's walk start over.
      while (!(await audit.prune(0, 1_000)).passDone);
    }
    await audit.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("logs kept in memory keep no write times and are never pruned", async () => {
  const directory = new MemoryFrameLogDirectory();
  const audit = new SignedAuditLog(directory, node, { openThreadsMax: 1 });
  for (const thread of ["a", "b"]) await audit.append(await envelope(thread), "in");
  assert.deepEqual(await audit.prune(Date.now() + DAY_MS, 1_000), {
    examined: 0,
    removed: 0,
    passDone: true,
  });
  assert.deepEqual(await directory.names(), ["a", "b"]);
});

// Proves the ledger journal survives a restart in a real Deno KV file and in the simulator's store: folding it back gives the same ledger, and genesis is not minted twice; compaction bounds what it stores, and a failed or damaged checkpoint is a clear error, never a different ledger.
import assert from "node:assert/strict";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import type { Store, StoreCommit, StoreCommitResult } from "../../../runtime/store/store.ts";
import type { LedgerEntry } from "../../../protocols/economics/ledger_types.ts";
import { Economy } from "../../../protocols/economics/economy.ts";
import {
  JOURNAL_CHUNK,
  JOURNAL_VALUE_ENTRIES,
  LedgerJournal,
} from "../../../protocols/economics/journal.ts";
import { Ledger } from "../../../protocols/economics/ledger.ts";
import { ParticipantRegistry } from "../../../protocols/economics/registry.ts";
import { swarmParams } from "../../../protocols/params.ts";

const PARAMS = swarmParams();

function digest(ledger: Ledger): string {
  return JSON.stringify([
    ledger.supply,
    ledger.burned,
    ledger.accountIds().map((id) => ledger.account(id)),
  ]);
}

async function roundTrip(open: () => Promise<Store>, close: (store: Store) => Promise<void>) {
  const ledger = new Ledger();
  let store = await open();
  const journal = new LedgerJournal(store);
  const count = JOURNAL_CHUNK * 2 + 17; // spans several key chunks and many group commits
  for (let index = 0; index < count; index++) {
    const entry = ledger.apply(
      index % 3 === 0
        ? { type: "MINT", opId: `m${index}`, atMs: index, to: `did:${index % 5}`, amount: 100 }
        : {
          type: "BURN",
          opId: `b${index}`,
          atMs: index,
          from: `did:${(index - index % 3) % 5}`,
          amount: 1,
        },
    );
    if (entry !== undefined) journal.append(entry);
  }
  await journal.flush();
  assert.equal(journal.stats.pending, 0);
  assert.equal(journal.stats.written, count);
  await close(store);
  store = await open();
  const loaded = (await new LedgerJournal(store).load()).entries;
  assert.deepEqual(
    loaded.map((entry) => entry.seq),
    Array.from({ length: count }, (_, index) => index + 1),
  );
  const replayed = new Ledger();
  for (const entry of loaded) replayed.apply(entry.op);
  assert.equal(digest(replayed), digest(ledger));
  replayed.audit();
  await close(store);
}

Deno.test("a journal in a Deno KV file folds back into the same ledger after the store is reopened", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ledger-journal-" });
  try {
    await roundTrip(() => DenoKvStore.open(`${dir}/store.kv`), (store) => store.close());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a journal in the simulator's store survives a simulated crash", async () => {
  const disk = new MemoryStore();
  await roundTrip(() => Promise.resolve(disk), () => Promise.resolve());
});

Deno.test("an economy reopened on its store has the same ledger and mints genesis once", async () => {
  const store = new MemoryStore();
  const registry = ParticipantRegistry.from([{ did: "did:a" }, { did: "did:b" }], PARAMS.economics);
  const first = new Economy({ params: PARAMS, registry, verifiers: ["did:a", "did:b"] });
  await first.open(store);
  await first.flush();
  const second = new Economy({ params: PARAMS, registry, verifiers: ["did:a", "did:b"] });
  await second.open(store);
  assert.equal(second.ledger.supply, 2 * 10_000_000 * 1_000_000, "genesis minted once");
  assert.equal(second.ledger.size, 4, "two MINTs and two STAKEs, replayed, not repeated");
  assert.equal(digest(second.ledger), digest(first.ledger));
});

/** A NEED's escrow and its release, scoped to the NEED until `untilMs`. */
function needTraffic(ledger: Ledger, index: number, untilMs: number): LedgerEntry[] {
  const needId = `need-${index}`;
  const scope = { needId, untilMs };
  const open = ledger.apply({
    type: "ESCROW",
    opId: `escrow:${needId}`,
    atMs: index,
    escrowId: needId,
    payer: "did:payer",
    amount: 10,
    kind: "bounty",
    needId,
    holdUntilMs: 0,
  }, scope);
  const release = ledger.apply({
    type: "RELEASE",
    opId: `release:${needId}`,
    atMs: index,
    escrowId: needId,
    payouts: [{ to: `did:worker-${index % 3}`, amount: 9 }],
    burned: 1,
  }, scope);
  return [open, release].filter((entry) => entry !== undefined);
}

function state(ledger: Ledger): string {
  return JSON.stringify([
    digest(ledger),
    [...ledger.escrows()],
    ledger.remembered,
    ledger.size,
  ]);
}

/** Entries the store holds in the journal (values hold several). */
async function journalEntries(store: Store): Promise<number> {
  let entries = 0;
  for (let chunk = 0; chunk < 16; chunk++) {
    const listed = await store.list<LedgerEntry[]>(["ledger", "journal", chunk], {
      limit: JOURNAL_CHUNK,
    });
    for (const item of listed) entries += item.value.length;
  }
  return entries;
}

/** Runs 1,500 NEEDs through a ledger and its journal, pruning and compacting as the economy does. */
async function compactedRun(store: Store, compactAfter = 300) {
  const ledger = new Ledger();
  const journal = new LedgerJournal(store, { compactAfter });
  const keep = (entry: LedgerEntry | undefined) => entry !== undefined && journal.append(entry);
  keep(ledger.apply({ type: "MINT", opId: "genesis", atMs: 0, to: "did:payer", amount: 1e9 }));
  let sweptAtMs = 0;
  for (let index = 0; index < 1_500; index++) {
    const nowMs = index * 10;
    for (const entry of needTraffic(ledger, index, nowMs + 500)) keep(entry);
    if (index % 25 === 0) {
      // A compaction started at the last sweep ran while the 25 NEEDs since were appended.
      await journal.flush();
      ledger.prune(sweptAtMs = nowMs);
      journal.compactIfDue(() => ledger.checkpoint());
    }
  }
  await journal.flush();
  return { ledger, journal, sweptAtMs };
}

Deno.test("compaction in a Deno KV file keeps the journal bounded, and a restart folds checkpoint and tail into the same ledger", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ledger-journal-" });
  try {
    let store: Store = await DenoKvStore.open(`${dir}/store.kv`);
    const { ledger, journal, sweptAtMs } = await compactedRun(store);
    assert.ok(journal.stats.compactions >= 8, `compacted ${journal.stats.compactions} times`);
    assert.equal(journal.stats.commitFailures, 0, String(journal.stats.lastError));
    const head = (await store.get<{ generation: number }>(["ledger", "checkpoint-head"]))?.value;
    assert.ok(head !== undefined);
    for (let generation = 1; generation < head.generation; generation++) {
      const left = await store.list(["ledger", "checkpoint", generation, 0]);
      assert.equal(left.length, 0, `checkpoint ${generation} was deleted`);
    }
    const kept = await journalEntries(store);
    assert.ok(kept < 1_000, `${kept} of ${ledger.size} entries still journalled`);
    await store.close();

    store = await DenoKvStore.open(`${dir}/store.kv`);
    const { checkpoint, entries } = await new LedgerJournal(store).load();
    assert.ok(checkpoint !== undefined);
    assert.equal(entries[0].seq, checkpoint.seq + 1, "the tail starts right after the checkpoint");
    const restored = new Ledger();
    restored.restore(checkpoint);
    for (const entry of entries) restored.apply(entry.op, entry.scope);
    assert.equal(digest(restored), digest(ledger));
    // Its first sweep forgets what the live ledger forgot since the checkpoint.
    restored.prune(sweptAtMs);
    assert.equal(state(restored), state(ledger));
    // What it remembers still makes repeats no-ops, and it forgets the same NEEDs later.
    assert.equal(
      restored.apply({ type: "MINT", opId: "genesis", atMs: 0, to: "did:payer", amount: 1e9 }),
      undefined,
    );
    assert.equal(restored.prune(sweptAtMs + 1_000), ledger.prune(sweptAtMs + 1_000));
    assert.equal(state(restored), state(ledger));
    restored.audit();
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A store whose commits of the checkpoint head fail (a disk that fills at that moment). */
class HeadRefusingStore extends MemoryStore {
  override commit(batch: StoreCommit): Promise<StoreCommitResult> {
    const head = batch.sets?.some((set) => set.key[1] === "checkpoint-head") ?? false;
    return head ? Promise.resolve({ ok: false }) : super.commit(batch);
  }
}

Deno.test("a compaction whose checkpoint cannot be made current is counted and loses nothing", async () => {
  const store = new HeadRefusingStore();
  const { ledger, journal } = await compactedRun(store);
  assert.equal(journal.stats.compactions, 0);
  assert.ok(journal.stats.commitFailures > 0);
  assert.match(journal.stats.lastError ?? "", /compaction/);
  const { checkpoint, entries } = await new LedgerJournal(store).load();
  assert.equal(checkpoint, undefined, "the half-written checkpoint is not used");
  const replayed = new Ledger();
  for (const entry of entries) replayed.apply(entry.op, entry.scope);
  assert.equal(digest(replayed), digest(ledger));
});

Deno.test("a checkpoint with a part missing is refused with E_STORE_CHECKPOINT", async () => {
  const store = new MemoryStore();
  await compactedRun(store);
  const head = (await store.get<{ generation: number }>(["ledger", "checkpoint-head"]))?.value;
  assert.ok(head !== undefined);
  const parts = await store.list(["ledger", "checkpoint", head.generation, 0]);
  assert.ok(parts.length > 1);
  await store.delete(parts[1].key);
  await assert.rejects(() => new LedgerJournal(store).load(), (error: unknown) => {
    assert.equal((error as { code?: string }).code, "E_STORE_CHECKPOINT");
    return true;
  });
});

Deno.test("a journal written one entry per value (older nodes) loads, and a new journal packs entries into values", async () => {
  const store = new MemoryStore();
  const ledger = new Ledger();
  const older = [0, 1, 2].map((index) =>
    ledger.apply({ type: "MINT", opId: `old-${index}`, atMs: 0, to: "did:a", amount: 1 })
  ) as LedgerEntry[];
  for (const entry of older) await store.set(["ledger", "journal", 0, entry.seq], entry);
  const journal = new LedgerJournal(store);
  const loaded = await journal.load();
  assert.deepEqual(loaded.entries, older);
  for (let index = 0; index < 40; index++) {
    journal.append(
      ledger.apply({
        type: "MINT",
        opId: `new-${index}`,
        atMs: 0,
        to: "did:a",
        amount: 1,
      }) as LedgerEntry,
    );
  }
  await journal.flush();
  const values = await store.list(["ledger", "journal", 0]);
  // The first append goes out alone (nothing else waited); the 39 queued behind it share values.
  assert.equal(values.length, 3 + 1 + Math.ceil(39 / JOURNAL_VALUE_ENTRIES));
  const replayed = new Ledger();
  for (const entry of (await new LedgerJournal(store).load()).entries) replayed.apply(entry.op);
  assert.equal(digest(replayed), digest(ledger));
  assert.equal(replayed.size, 43);
});

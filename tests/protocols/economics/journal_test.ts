// Proves the ledger journal survives a restart in a real Deno KV file and in the simulator's store: folding it back gives the same ledger, and genesis is not minted twice.
import assert from "node:assert/strict";
import { DenoKvStore } from "../../../runtime/store/deno_kv_store.ts";
import { MemoryStore } from "../../../runtime/store/memory_store.ts";
import type { Store } from "../../../runtime/store/store.ts";
import { Economy } from "../../../protocols/economics/economy.ts";
import { JOURNAL_CHUNK, LedgerJournal } from "../../../protocols/economics/journal.ts";
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
  const loaded = await new LedgerJournal(store).load();
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

/**
 * The economy's cost, each figure against the engine beneath it in the same
 * run:
 *
 * - ledger fold: escrow-and-release cycles through `Ledger.apply` (checks,
 *   idempotency, the supply invariant after every operation) against the
 *   same arithmetic on a bare `Map`;
 * - journal: group-committed ledger entries into a Deno KV file against raw
 *   `Deno.Kv` atomic commits of the same batches;
 * - lifecycle: NEEDs to FINAL on a three-node in-process swarm with the
 *   economy (escrow, payouts, pinned committees, auditors) against the same
 *   swarm without it.
 *
 * Run: `deno task bench:economics [--ops N] [--needs N] [--rounds N]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { postRound } from "./_swarm_round.ts";
import { LocalSwarm } from "../../cli/local_swarm.ts";
import { DenoKvStore } from "../../runtime/store/deno_kv_store.ts";
import { JOURNAL_BATCH_MAX, LedgerJournal } from "../../protocols/economics/journal.ts";
import { Ledger } from "../../protocols/economics/ledger.ts";
import type { LedgerEntry } from "../../protocols/economics/ledger_types.ts";
import { swarmParams } from "../../protocols/params.ts";

const ACCOUNTS = Array.from({ length: 16 }, (_, index) => `did:bench:${index}`);

/** Escrow-and-release cycles per second: the ledger and a bare map. */
function ledgerFold(cycles: number) {
  const ledger = new Ledger();
  for (const account of ACCOUNTS) {
    ledger.apply({ type: "MINT", opId: `mint:${account}`, atMs: 0, to: account, amount: 1e12 });
  }
  const started = performance.now();
  for (let cycle = 0; cycle < cycles; cycle++) {
    const payer = ACCOUNTS[cycle % ACCOUNTS.length];
    const escrowId = `e${cycle}`;
    ledger.apply({
      type: "ESCROW",
      opId: `open:${cycle}`,
      atMs: cycle,
      escrowId,
      payer,
      amount: 6_000_000,
      kind: "bounty",
      needId: `need-${cycle}`,
      holdUntilMs: 0,
    });
    ledger.apply({
      type: "RELEASE",
      opId: `release:${cycle}`,
      atMs: cycle,
      escrowId,
      payouts: [
        { to: ACCOUNTS[(cycle + 1) % ACCOUNTS.length], amount: 5_000_000 },
        { to: ACCOUNTS[(cycle + 2) % ACCOUNTS.length], amount: 1_000_000 },
      ],
      burned: 0,
    });
  }
  const ledgerMs = performance.now() - started;
  ledger.audit();
  const balances = new Map(ACCOUNTS.map((account) => [account, 1e12]));
  const escrows = new Map<string, number>();
  const rawStarted = performance.now();
  for (let cycle = 0; cycle < cycles; cycle++) {
    const payer = ACCOUNTS[cycle % ACCOUNTS.length];
    balances.set(payer, (balances.get(payer) as number) - 6_000_000);
    escrows.set(`e${cycle}`, 6_000_000);
    escrows.delete(`e${cycle}`);
    const first = ACCOUNTS[(cycle + 1) % ACCOUNTS.length];
    const second = ACCOUNTS[(cycle + 2) % ACCOUNTS.length];
    balances.set(first, (balances.get(first) as number) + 5_000_000);
    balances.set(second, (balances.get(second) as number) + 1_000_000);
  }
  const rawMs = performance.now() - rawStarted;
  const opsPerSecond = (2 * cycles) / (ledgerMs / 1000);
  const rawOpsPerSecond = (2 * cycles) / (rawMs / 1000);
  return {
    operations: 2 * cycles,
    opsPerSecond: Math.round(opsPerSecond),
    bareMapOpsPerSecond: Math.round(rawOpsPerSecond),
    ratio: Number((opsPerSecond / rawOpsPerSecond).toFixed(4)),
  };
}

/** Journal entries per second into Deno KV, against raw atomic commits of the same batches. */
async function journal(entries: number) {
  const dir = await Deno.makeTempDir({ prefix: "economics-bench-" });
  try {
    const ledger = new Ledger();
    const made: LedgerEntry[] = [];
    for (let index = 0; index < entries; index++) {
      made.push(ledger.apply({
        type: "MINT",
        opId: `m${index}`,
        atMs: index,
        to: ACCOUNTS[index % ACCOUNTS.length],
        amount: 1,
      }) as LedgerEntry);
    }
    const store = await DenoKvStore.open(`${dir}/journal.kv`);
    const log = new LedgerJournal(store);
    const started = performance.now();
    for (const entry of made) log.append(entry);
    await log.flush();
    const journalMs = performance.now() - started;
    await store.close();
    const kv = await Deno.openKv(`${dir}/raw.kv`);
    const rawStarted = performance.now();
    for (let from = 0; from < made.length; from += JOURNAL_BATCH_MAX) {
      const atomic = kv.atomic();
      for (const entry of made.slice(from, from + JOURNAL_BATCH_MAX)) {
        atomic.set(["raw", entry.seq], entry);
      }
      await atomic.commit();
    }
    const rawMs = performance.now() - rawStarted;
    kv.close();
    const perSecond = entries / (journalMs / 1000);
    const rawPerSecond = entries / (rawMs / 1000);
    return {
      entries,
      entriesPerSecond: Math.round(perSecond),
      rawKvEntriesPerSecond: Math.round(rawPerSecond),
      ratio: Number((perSecond / rawPerSecond).toFixed(3)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** NEEDs to FINAL per second on three in-process nodes, with and without the economy. */
async function lifecycle(needs: number, rounds: number, economy: boolean) {
  const swarm = await LocalSwarm.start({
    nodes: 3,
    policy: false,
    params: swarmParams({ challengeWindowMs: 0 }),
    consensus: "kv",
    configure: (_index, config) =>
      economy ? config : {
        ...config,
        participants: false,
        roles: { ...config.roles, challenger: false },
      },
  });
  try {
    let best = 0;
    for (let round = 0; round < rounds; round++) {
      const { final, wallMs } = await postRound(swarm, needs, round);
      best = Math.max(best, final / (wallMs / 1000));
    }
    const ledger = economy ? await swarm.ledger(0, { kind: "summary" }) : undefined;
    return { needsPerSecond: Math.round(best), ledger };
  } finally {
    await swarm.stop();
  }
}

/** Runs the economics benchmark. */
export async function runEconomicsBench(
  options: { ops: number; needs: number; rounds: number },
): Promise<Record<string, unknown>> {
  const fold = ledgerFold(options.ops);
  const journalled = await journal(Math.min(options.ops, 20_000));
  const without = await lifecycle(options.needs, options.rounds, false);
  const withEconomy = await lifecycle(options.needs, options.rounds, true);
  return {
    benchmark: "economics",
    ledgerFold: fold,
    journal: journalled,
    lifecycleThreeNodes: {
      needs: options.needs,
      withoutEconomyNeedsPerSecond: without.needsPerSecond,
      withEconomyNeedsPerSecond: withEconomy.needsPerSecond,
      ratio: Number((withEconomy.needsPerSecond / without.needsPerSecond).toFixed(3)),
      ledgerAfter: withEconomy.ledger,
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      ops: { type: "string", default: "100000" },
      needs: { type: "string", default: "1000" },
      rounds: { type: "string", default: "3" },
    },
  });
  const report = await runEconomicsBench({
    ops: Number(values.ops),
    needs: Number(values.needs),
    rounds: Number(values.rounds),
  });
  console.log(JSON.stringify(report, null, 2));
}

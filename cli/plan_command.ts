/**
 * `can-swarm plan export | import | verify`: move a thread's op-log out of
 * and into a node's plan store as JSONL, and compare two stores.
 *
 * A store is a node data directory: the plan lives in `<dir>/store.kv`
 * (Deno KV) under the `plan` namespace, as the plan actor keeps it. Only one
 * process may open a store at a time, so stop the node first.
 *
 * @module
 */

import { exportJsonl, parseJsonl } from "../protocols/plan/jsonl.ts";
import { PlanStore } from "../protocols/plan/plan_store.ts";
import { diffPlans, renderDiffReport, snapshotOfThread } from "../protocols/plan/verify.ts";
import { PlanError } from "../protocols/plan/errors.ts";
import { BlobLogs } from "../runtime/store/blob_log.ts";
import { DenoKvStore } from "../runtime/store/deno_kv_store.ts";
import { type CommandSpec, type ParsedFlags, UsageError } from "./args.ts";

const STORE_NOTE =
  "A store is a node data directory; the plan is kept in <dir>/store.kv. Stop the node first: only one process may open a store.";

/** Flags of `plan export`. */
export const PLAN_EXPORT_SPEC: CommandSpec = {
  name: "plan export",
  summary: "Export a thread's op-log from a plan store as JSONL, in replay order.",
  flags: {
    "data-dir": { type: "string", value: "DIR", description: "Store to read (required)" },
    thread: { type: "string", value: "ID", description: "Thread to export (required)" },
    out: { type: "string", value: "FILE", description: "Write here instead of stdout" },
  },
  notes: STORE_NOTE,
};

/** Flags of `plan import`. */
export const PLAN_IMPORT_SPEC: CommandSpec = {
  name: "plan import",
  summary: "Import a JSONL op-log into a fresh plan store, replaying it in lamport order.",
  flags: {
    "data-dir": {
      type: "string",
      value: "DIR",
      description: "Store to create or extend (required)",
    },
    in: { type: "string", value: "FILE", description: "JSONL file to import (required)" },
  },
  notes: `${STORE_NOTE} The threads in the file must not exist in the store yet.`,
};

/** Flags of `plan verify`. */
export const PLAN_VERIFY_SPEC: CommandSpec = {
  name: "plan verify",
  summary: "Compare two plan stores (tasks, states, edges, annotations); exit 1 on any difference.",
  flags: {
    left: { type: "string", value: "DIR", description: "First store (required)" },
    right: { type: "string", value: "DIR", description: "Second store (required)" },
    thread: { type: "string", value: "ID", description: "Compare only this thread" },
  },
  notes: STORE_NOTE,
};

function required(flags: ParsedFlags, name: string): string {
  const value = flags[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** Opens the plan store of a data directory; resolves with the store and a closer. */
async function openPlanStore(
  dataDir: string,
  create: boolean,
): Promise<{ store: PlanStore; close: () => Promise<void> }> {
  if (!create) {
    const info = await Deno.stat(`${dataDir}/store.kv`).catch(() => undefined);
    if (info === undefined) {
      throw new PlanError("E_PLAN_STORE_MISSING", `No plan store at ${dataDir}/store.kv`);
    }
  } else await Deno.mkdir(dataDir, { recursive: true });
  const kv = await DenoKvStore.open(`${dataDir}/store.kv`);
  const actorBytes = crypto.getRandomValues(new Uint8Array(16));
  const actorId = [...actorBytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  try {
    const store = await PlanStore.open({ actorId, persistence: new BlobLogs(kv, "plan") });
    return { store, close: () => kv.close() };
  } catch (error) {
    await kv.close();
    throw error;
  }
}

/** Runs `plan export`; resolves with the exit code. */
export async function planExport(flags: ParsedFlags): Promise<number> {
  const dataDir = required(flags, "data-dir");
  const thread = required(flags, "thread");
  const { store, close } = await openPlanStore(dataDir, false);
  try {
    if (!store.hasThread(thread)) {
      throw new PlanError(
        "E_PLAN_UNKNOWN_THREAD",
        `Store ${dataDir} has no thread ${JSON.stringify(thread)} (threads: ${
          store.threads().join(", ") || "none"
        })`,
      );
    }
    const ops = store.getOpsForThread(thread);
    const text = exportJsonl(ops);
    if (typeof flags.out === "string") {
      await Deno.writeTextFile(flags.out, text);
      console.error(`exported ${ops.length} ops of thread ${thread} to ${flags.out}`);
    } else await Deno.stdout.write(new TextEncoder().encode(text));
    return 0;
  } finally {
    await close();
  }
}

/** Runs `plan import`; resolves with the exit code. */
export async function planImport(flags: ParsedFlags): Promise<number> {
  const dataDir = required(flags, "data-dir");
  const file = required(flags, "in");
  const text = await Deno.readTextFile(file);
  const ops = parseJsonl(text);
  const { store, close } = await openPlanStore(dataDir, true);
  try {
    const threads = [...new Set(ops.map((op) => op.thread))].sort();
    const taken = threads.filter((thread) => store.hasThread(thread));
    if (taken.length > 0) {
      throw new PlanError(
        "E_PLAN_IMPORT_NOT_FRESH",
        `Cannot import into ${dataDir}: it already holds thread ${taken.join(", ")}`,
      );
    }
    const results = await store.importOps(ops);
    const written = results.filter((result) => !result.duplicate).length;
    console.log(
      `imported ${written} ops into ${threads.length} thread(s) of ${dataDir}: ${store.tasks.count} tasks, ${store.graph.edgeCount} edges`,
    );
    return 0;
  } finally {
    await close();
  }
}

/** Runs `plan verify`; resolves with 0 when the stores agree, 1 otherwise. */
export async function planVerify(flags: ParsedFlags): Promise<number> {
  const leftDir = required(flags, "left");
  const rightDir = required(flags, "right");
  const left = await openPlanStore(leftDir, false);
  try {
    const right = await openPlanStore(rightDir, false);
    try {
      let leftSnapshot = left.store.snapshot();
      let rightSnapshot = right.store.snapshot();
      if (typeof flags.thread === "string") {
        leftSnapshot = snapshotOfThread(leftSnapshot, flags.thread);
        rightSnapshot = snapshotOfThread(rightSnapshot, flags.thread);
      }
      const differences = diffPlans(leftSnapshot, rightSnapshot);
      console.log(
        `plan verify: ${leftDir} (${leftSnapshot.tasks.length} tasks, ${leftSnapshot.edges.length} edges) vs ${rightDir} (${rightSnapshot.tasks.length} tasks, ${rightSnapshot.edges.length} edges)`,
      );
      console.log(renderDiffReport(differences, { left: "left", right: "right" }));
      return differences.length === 0 ? 0 : 1;
    } finally {
      await right.close();
    }
  } finally {
    await left.close();
  }
}

/**
 * `can-swarm replay <log>...` (and `deno task replay`): re-verifies recorded
 * threads — every record signature and the hash chain, every envelope,
 * Lamport order per sender, at most one DECIDE per NEED — and prints a
 * summary per log. Exits 1 with the first violation of each bad log.
 *
 * @module
 */

import { AUDIT_ERROR_CODES } from "../protocols/audit/errors.ts";
import { type ReplayReport, replayThread } from "../protocols/audit/replay.ts";
import { ALL_VERBS, isVerb } from "../protocols/envelope/verbs.ts";
import { PAYLOAD_MAX_BYTES_DEFAULT } from "../protocols/envelope/codec.ts";
import type { VerifyContext } from "../protocols/envelope/verify.ts";
import { SignatureVerifier } from "../protocols/identity/identity.ts";
import { FileContentStore } from "../runtime/store/file_content_store.ts";
import { readFrameFile, shardOf } from "../runtime/store/file_frame_log.ts";
import { FrameLogError } from "../runtime/store/frame_log.ts";
import { errorMessage } from "../runtime/errors.ts";
import { choiceFlag, type CommandSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";

/** Flags of `replay`. */
export const REPLAY_SPEC: CommandSpec = {
  name: "replay",
  summary:
    "Verify recorded audit logs (signatures, hash chain, envelopes, order) and summarise them.",
  positionals: {
    name: "LOG",
    description:
      "An audit log (<data-dir>/audit/<thread>.log, wherever the fan-out put it), or a directory of them",
    min: 1,
    max: 1000,
  },
  flags: {
    policy: {
      type: "string",
      value: "HASH",
      description: "Require every envelope to carry this policy capsule hash",
    },
    kinds: {
      type: "string",
      value: "LIST",
      description: "Comma-separated verbs allowed",
      default: "all verbs",
    },
    "payload-max-bytes": {
      type: "string",
      value: "N",
      description: "Inline payload cap",
      default: String(PAYLOAD_MAX_BYTES_DEFAULT),
    },
    cas: {
      type: "string",
      value: "DIR",
      description: "Content store to read referenced payloads from (e.g. <data-dir>/cas)",
    },
    lamport: {
      type: "string",
      value: "MODE",
      description: "strict: every sender's Lamport values increase; own: only this node's",
      default: "strict",
    },
    json: { type: "boolean", description: "Print one JSON report per log" },
  },
  notes:
    "Exit code 0 when every log verifies, 1 when any has a violation, 2 on a bad command line.",
};

/** Runs `replay`; resolves with the exit code. */
export async function replayCommand(flags: ParsedFlags, positionals: string[]): Promise<number> {
  const context = replayContext(flags);
  const lamportOrder = choiceFlag(flags, "lamport", ["strict", "own"] as const, "strict");
  const cas = typeof flags.cas === "string" ? await openCas(flags.cas) : undefined;
  // One verifier for every log, so each node's key is imported once.
  const verifier = new SignatureVerifier();
  let failures = 0;
  for (const path of await expandLogPaths(positionals)) {
    const started = performance.now();
    const report = await replayFile(path, { context: { ...context, verifier }, cas, lamportOrder });
    const seconds = (performance.now() - started) / 1000;
    if (!report.ok) failures++;
    console.log(
      flags.json
        ? JSON.stringify({ path, seconds, ...report })
        : renderReport(path, report, seconds),
    );
  }
  return failures === 0 ? 0 : 1;
}

function replayContext(flags: ParsedFlags): VerifyContext {
  const payloadMaxBytes = integerFlag(
    flags,
    "payload-max-bytes",
    PAYLOAD_MAX_BYTES_DEFAULT,
    1,
    64 * 1024 * 1024,
  );
  let allowedKinds = ALL_VERBS;
  if (typeof flags.kinds === "string") {
    const kinds = flags.kinds.split(",").map((kind) => kind.trim()).filter((kind) => kind !== "");
    const unknown = kinds.find((kind) => !isVerb(kind));
    if (unknown !== undefined || kinds.length === 0) {
      throw new UsageError(
        `--kinds must list protocol verbs (${[...ALL_VERBS].join(", ")}), got '${flags.kinds}'`,
      );
    }
    allowedKinds = new Set(kinds);
  }
  const policy = typeof flags.policy === "string" ? flags.policy : undefined;
  if (policy !== undefined && policy.length === 0) {
    throw new UsageError("--policy must not be empty");
  }
  return { payloadMaxBytes, allowedKinds, ...(policy === undefined ? {} : { policy }) };
}

async function openCas(directory: string): Promise<FileContentStore> {
  try {
    return await FileContentStore.open(directory, { create: false });
  } catch (error) {
    throw new UsageError(
      `--cas must name a content store directory, got '${directory}' (${errorMessage(error)})`,
    );
  }
}

/**
 * Files to replay: each file argument, and the `*.log` files of each
 * directory argument and of its subdirectories (a node's `audit/` fans its
 * logs out into 256 of them). `<audit>/<thread>.log` names the log of that
 * thread wherever the fan-out put it.
 */
async function expandLogPaths(arguments_: string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const argument of arguments_) {
    const { path, info } = await findLog(argument);
    if (!info.isDirectory) {
      paths.push(path);
      continue;
    }
    const inside: string[] = [];
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile && entry.name.endsWith(".log")) inside.push(`${path}/${entry.name}`);
      if (!entry.isDirectory) continue;
      for await (const nested of Deno.readDir(`${path}/${entry.name}`)) {
        if (nested.isFile && nested.name.endsWith(".log")) {
          inside.push(`${path}/${entry.name}/${nested.name}`);
        }
      }
    }
    if (inside.length === 0) throw new UsageError(`Directory '${argument}' holds no .log files`);
    paths.push(...inside.sort());
  }
  return paths;
}

/** The file or directory `argument` names, or the fanned-out log `<dir>/<thread>.log` stands for. */
async function findLog(argument: string): Promise<{ path: string; info: Deno.FileInfo }> {
  const slash = argument.lastIndexOf("/");
  const file = argument.slice(slash + 1);
  const candidates = [argument];
  if (file.endsWith(".log")) {
    candidates.push(`${argument.slice(0, slash + 1)}${shardOf(file.slice(0, -4))}/${file}`);
  }
  for (const path of candidates) {
    try {
      return { path, info: await Deno.stat(path) };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  throw new UsageError(`No such audit log or directory: '${argument}'`);
}

async function replayFile(
  path: string,
  options: Parameters<typeof replayThread>[1],
): Promise<ReplayReport> {
  try {
    return await replayThread(await readFrameFile(path), options);
  } catch (error) {
    if (!(error instanceof FrameLogError)) throw error;
    return {
      ok: false,
      summary: emptySummary(),
      violation: { code: AUDIT_ERROR_CODES.corrupt, record: 0, message: errorMessage(error) },
    };
  }
}

function emptySummary(): ReplayReport["summary"] {
  return {
    records: 0,
    published: 0,
    delivered: 0,
    envelopes: 0,
    senders: 0,
    kinds: {},
    decidedNeeds: 0,
    signaturesVerified: 0,
    lamportMax: 0,
  };
}

/** The human-readable block for one log. */
export function renderReport(path: string, report: ReplayReport, seconds: number): string {
  const summary = report.summary;
  const kinds = Object.entries(summary.kinds).sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${kind} ${count}`).join(" · ");
  const lines = [
    `${path}: ${report.ok ? "ok" : `VIOLATION ${report.violation?.code}`}`,
  ];
  if (report.violation !== undefined) lines.push(`  ${report.violation.message}`);
  lines.push(
    `  thread ${summary.thread ?? "-"} · node ${summary.node ?? "-"}`,
    `  ${summary.records} records checked (${summary.published} published, ${summary.delivered} delivered) · ${summary.envelopes} envelopes from ${summary.senders} senders`,
    `  kinds: ${kinds || "-"}`,
    `  ${summary.decidedNeeds} needs decided · ${summary.signaturesVerified} signatures verified · lamport max ${summary.lamportMax} · ${
      seconds.toFixed(2)
    } s`,
  );
  return lines.join("\n");
}

/**
 * The economy's participants from a JSON file, for `run swarm
 * --participants FILE`: organisation, AS, region, linked entity and genesis
 * allocation per node, so diversity caps and related-party rules apply to a
 * local swarm as they would to a real one.
 *
 * The file is a list of entries; each names a node of the swarm by `node`
 * (its index) or by `did`:
 *
 *   [{ "node": 0, "org": "acme", "asn": "64512", "region": "eu" },
 *    { "node": 1, "org": "acme", "genesisBalance": 50, "genesisStake": 0 }]
 *
 * Nodes the file does not name get the defaults. Every problem is a
 * {@linkcode UsageError} naming the entry, so the CLI exits with code 2.
 *
 * @module
 */

import { type ParticipantEntry, ParticipantRegistry } from "../protocols/economics/mod.ts";
import type { EconomicsParams } from "../protocols/economics/params.ts";
import { UsageError } from "./args.ts";

/** One entry of a participants file. */
export type ParticipantFileEntry = Omit<ParticipantEntry, "did"> & {
  readonly node?: number;
  readonly did?: string;
};

/** Largest participants file read. */
export const PARTICIPANTS_FILE_BYTES_MAX = 1024 * 1024;

/** Reads and parses a participants file (not yet matched to nodes). */
export async function readParticipantsFile(path: string): Promise<ParticipantFileEntry[]> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (info.size > PARTICIPANTS_FILE_BYTES_MAX) {
      throw new UsageError(
        `--participants ${path} is ${info.size} bytes, at most ${PARTICIPANTS_FILE_BYTES_MAX}`,
      );
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--participants ${path} cannot be read: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--participants ${path} is not JSON`);
  }
  if (!Array.isArray(parsed)) {
    throw new UsageError(`--participants ${path} must hold a JSON list of entries`);
  }
  return parsed as ParticipantFileEntry[];
}

/**
 * The registry entries of a swarm whose nodes have `dids`, from a file's
 * entries; validated like any registry (throws {@linkcode UsageError}).
 */
export function participantsFor(
  entries: readonly ParticipantFileEntry[],
  dids: readonly string[],
  params: EconomicsParams,
): ParticipantEntry[] {
  const byDid = new Map<string, ParticipantEntry>(dids.map((did) => [did, { did }]));
  entries.forEach((entry, index) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new UsageError(`--participants entry ${index} must be an object`);
    }
    const { node, did, ...rest } = entry;
    const target = node === undefined ? did : dids[node];
    if (node !== undefined && (!Number.isSafeInteger(node) || target === undefined)) {
      throw new UsageError(
        `--participants entry ${index} names node ${String(node)}, the swarm has ${dids.length}`,
      );
    }
    if (typeof target !== "string" || !byDid.has(target)) {
      throw new UsageError(
        `--participants entry ${index} must name a node of the swarm by node or did`,
      );
    }
    byDid.set(target, { ...rest, did: target });
  });
  const resolved = [...byDid.values()];
  try {
    ParticipantRegistry.from(resolved, params);
  } catch (error) {
    throw new UsageError(`--participants: ${(error as Error).message}`);
  }
  return resolved;
}

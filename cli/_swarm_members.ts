/**
 * Who is in a swarm: the members file every node of a multi-process swarm
 * is given (`run node --members FILE`), and the bucket share a node decides
 * (`--buckets`).
 *
 * Committees are chosen by rendezvous hashing over the verifiers' DIDs, and
 * the preferred planners and workers of a task over theirs, so every node
 * must see the same lists or they would disagree on who may vote. A static
 * file given to every node is the robust way to get that: learning members
 * from hellos as they connect would give nodes different lists while the
 * swarm forms. The file names each member by node id and `did:key`; a node
 * checks the DID of every peer that says hello (the DID is derived from the
 * peer's authenticated libp2p key) against it.
 *
 * ```json
 * {"v":1,"members":[{"node":"node-0","did":"did:key:z6Mk…","roles":["planner","verifier","worker","requester"]}]}
 * ```
 *
 * @module
 */

import { SwarmError } from "../runtime/errors.ts";
import { DECIDE_BUCKETS } from "../runtime/store/decide_log.ts";
import { publicKeyFromDidKey } from "../protocols/identity/did_key.ts";

/** A role a node plays. Deciding is given separately, as a bucket share. */
export type SwarmRole = "planner" | "verifier" | "worker" | "requester" | "challenger";

/** Every role, in display order. */
export const SWARM_ROLES: readonly SwarmRole[] = [
  "planner",
  "verifier",
  "worker",
  "requester",
  "challenger",
];

/** One member of a swarm. */
export interface SwarmMember {
  readonly node: string;
  readonly did: string;
  readonly roles: readonly SwarmRole[];
  /**
   * The buckets it decides, as `--buckets` takes them (`I/N`, ranges, all,
   * none). Optional; AP mode (`--consensus ap`) reads every member's to know
   * which node is the home of each bucket.
   */
  readonly buckets?: string;
}

/** Stable codes of {@linkcode MembersError}. */
export const MEMBERS_ERROR_CODES = {
  /** The file is not a members file, or a member is malformed or repeated. */
  file: "E_MEMBERS_FILE",
  /** This node is missing from the file, or listed under another key. */
  self: "E_MEMBERS_SELF",
  /** A `--roles` or `--buckets` value that cannot be read. */
  spec: "E_MEMBERS_SPEC",
} as const;

/** Raised for an unusable members file, role list or bucket share. */
export class MembersError extends SwarmError {}

/** Most members in one file. */
export const MEMBERS_MAX = 1_024;
const NODE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Parses and checks the text of a members file; `source` names it in errors.
 *
 * @throws {MembersError} `E_MEMBERS_FILE`, naming the first bad member.
 */
export function parseMembers(text: string, source: string): SwarmMember[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw fileError(`${source} is not JSON (${(error as Error).message})`);
  }
  const body = parsed as { v?: unknown; members?: unknown };
  if (typeof parsed !== "object" || parsed === null || body.v !== 1) {
    throw fileError(`${source} must be {"v":1,"members":[…]}`);
  }
  if (!Array.isArray(body.members) || body.members.length === 0) {
    throw fileError(`${source} must list at least one member`);
  }
  if (body.members.length > MEMBERS_MAX) {
    throw fileError(`${source} lists ${body.members.length} members, at most ${MEMBERS_MAX}`);
  }
  const members = body.members.map((member, index) =>
    checkMember(member, `${source} member ${index}`)
  );
  for (const key of ["node", "did"] as const) {
    const seen = new Set<string>();
    for (const member of members) {
      if (seen.has(member[key])) throw fileError(`${source} lists ${key} ${member[key]} twice`);
      seen.add(member[key]);
    }
  }
  return members;
}

function checkMember(value: unknown, where: string): SwarmMember {
  const member = value as { node?: unknown; did?: unknown; roles?: unknown; buckets?: unknown };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fileError(`${where} must be an object`);
  }
  const unknown = Object.keys(value).filter((key) =>
    !["node", "did", "roles", "buckets"].includes(key)
  );
  if (unknown.length > 0) throw fileError(`${where} has unknown field '${unknown[0]}'`);
  if (typeof member.node !== "string" || !NODE_ID_PATTERN.test(member.node)) {
    throw fileError(`${where}: node must be 1-64 letters, digits or -_.: characters`);
  }
  if (typeof member.did !== "string") throw fileError(`${where}: did must be a did:key`);
  try {
    publicKeyFromDidKey(member.did);
  } catch (error) {
    throw fileError(`${where}: ${(error as Error).message}`);
  }
  if (!Array.isArray(member.roles)) throw fileError(`${where}: roles must be a list`);
  const roles = parseRoleList(member.roles, where);
  if (member.buckets === undefined) return { node: member.node, did: member.did, roles };
  if (typeof member.buckets !== "string") throw fileError(`${where}: buckets must be a string`);
  try {
    parseBuckets(member.buckets);
  } catch (error) {
    throw fileError(`${where}: ${(error as Error).message}`);
  }
  return { node: member.node, did: member.did, roles, buckets: member.buckets };
}

/**
 * The owner of each bucket the members file assigns (members without
 * `buckets` own none).
 *
 * @throws {MembersError} (`E_MEMBERS_FILE`) when two members claim one bucket.
 */
export function bucketOwners(members: readonly SwarmMember[]): Map<number, string> {
  const owners = new Map<number, string>();
  for (const member of members) {
    for (const bucket of parseBuckets(member.buckets ?? "none")) {
      const other = owners.get(bucket);
      if (other !== undefined) {
        throw fileError(`Bucket ${bucket} is given to both ${other} and ${member.node}`);
      }
      owners.set(bucket, member.node);
    }
  }
  return owners;
}

/** Reads a members file. */
export async function loadMembers(path: string): Promise<SwarmMember[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw fileError(`Cannot read members file ${path}: ${(error as Error).message}`);
  }
  return parseMembers(text, `Members file ${path}`);
}

/** Writes a members file (what `run swarm --processes` gives its nodes). */
export async function writeMembers(path: string, members: readonly SwarmMember[]): Promise<void> {
  parseMembers(JSON.stringify({ v: 1, members }), "members");
  await Deno.writeTextFile(path, JSON.stringify({ v: 1, members }, null, 2) + "\n");
}

/** DIDs of the members that play `role`, in file order. */
export function didsWithRole(members: readonly SwarmMember[], role: SwarmRole): string[] {
  return members.filter((member) => member.roles.includes(role)).map((member) => member.did);
}

/**
 * Checks that this node is a member under its own key.
 *
 * @throws {MembersError} `E_MEMBERS_SELF`.
 */
export function checkSelf(members: readonly SwarmMember[], node: string, did: string): void {
  const entry = members.find((member) => member.node === node);
  if (entry === undefined) {
    throw new MembersError(
      MEMBERS_ERROR_CODES.self,
      `Node ${node} is not in the members file; add {"node":"${node}","did":"${did}",…}`,
    );
  }
  if (entry.did !== did) {
    throw new MembersError(
      MEMBERS_ERROR_CODES.self,
      `The members file lists node ${node} as ${entry.did}, but its key is ${did}`,
    );
  }
}

/**
 * Parses a role list: `all`, or comma-separated roles.
 *
 * @example
 * ```ts
 * parseRoles("verifier,planner"); // ["planner", "verifier"]
 * ```
 */
export function parseRoles(text: string): SwarmRole[] {
  if (text.trim() === "all") return [...SWARM_ROLES];
  return parseRoleList(text.split(",").map((role) => role.trim()), "--roles");
}

function parseRoleList(roles: readonly unknown[], where: string): SwarmRole[] {
  for (const role of roles) {
    if (!SWARM_ROLES.includes(role as SwarmRole)) {
      throw new MembersError(
        MEMBERS_ERROR_CODES.spec,
        `${where}: role must be one of ${SWARM_ROLES.join(", ")}, got '${String(role)}'`,
      );
    }
  }
  return SWARM_ROLES.filter((role) => roles.includes(role));
}

/**
 * Parses a bucket share: `all`, `none`, `I/N` (every N-th bucket from I, as
 * the in-process swarm splits them) or a list of buckets and ranges (`0-63,128`).
 *
 * @example
 * ```ts
 * parseBuckets("1/4"); // [1, 5, 9, …, 253]
 * ```
 */
export function parseBuckets(text: string): number[] {
  const spec = text.trim();
  if (spec === "all") return bucketsOf(0, 1);
  if (spec === "none") return [];
  const share = /^(\d+)\/(\d+)$/.exec(spec);
  if (share !== null) {
    const [index, count] = [Number(share[1]), Number(share[2])];
    if (!(count >= 1 && count <= DECIDE_BUCKETS && index < count)) {
      throw specError(`--buckets ${spec}: need 0 <= I < N <= ${DECIDE_BUCKETS}`);
    }
    return bucketsOf(index, count);
  }
  const buckets = new Set<number>();
  for (const part of spec.split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    const [low, high] = range === null
      ? [NaN, NaN]
      : [Number(range[1]), Number(range[2] ?? range[1])];
    if (!(low <= high && high < DECIDE_BUCKETS)) {
      throw specError(
        `--buckets must be all, none, I/N or buckets and ranges in [0, 255], got '${part}'`,
      );
    }
    for (let bucket = low; bucket <= high; bucket++) buckets.add(bucket);
  }
  return [...buckets].sort((left, right) => left - right);
}

/** Buckets owned by node `index` of `count`: every count-th bucket. */
export function bucketsOf(index: number, count: number): number[] {
  return Array.from({ length: DECIDE_BUCKETS }, (_, bucket) => bucket).filter((bucket) =>
    bucket % count === index
  );
}

function fileError(message: string): MembersError {
  return new MembersError(MEMBERS_ERROR_CODES.file, message);
}

function specError(message: string): MembersError {
  return new MembersError(MEMBERS_ERROR_CODES.spec, message);
}

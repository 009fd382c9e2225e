/**
 * The node's small HTTP endpoint, so a user can post a NEED with curl and
 * watch it become FINAL:
 *
 *   GET  /health        node id, DID, epoch and core counters
 *   GET  /needs         NEEDs this node posted: the oldest 1,000 in flight, the last 1,000 ended
 *   GET  /needs/{id}    a thread as this node sees it (phase, tasks, decision)
 *   POST /needs         {"op","input","rounds"?,"bounty"?,"budget"?,"deadlineInMs"?,"bountyClass"?} → 202 {"needId"}
 *   GET  /ledger                  supply, burned, accounts, held escrows, state digest, invariant
 *   GET  /ledger/accounts/{did}   balance, stake, escrowed, unbonding, reputation, history (?limit=)
 *   GET  /ledger/escrows/{id}     escrows of a NEED or task, with blocked payouts
 *   GET  /policy, POST /policy/capsules, POST /epoch   capsules (see `_http_policy.ts`)
 *   GET  /decisions     AP mode: every decision this node's replica holds, and its AP counters
 *
 * With an admin target (`run node --admin`, for partition tests):
 *
 *   GET  /admin/partition   the peers this node blocks
 *   POST /admin/partition   {"block":["node-3",…]} blocks exactly those nodes; {"block":[]} heals
 *
 * Bad requests get a JSON error with a stable code and never reach the swarm.
 *
 * @module
 */

import type { ActorRef } from "../runtime/actor.ts";
import { errorCode } from "../runtime/errors.ts";
import { HttpApiError } from "./_http_error.ts";
import type { ActorSystem } from "../runtime/system.ts";
import type { ThreadState } from "../protocols/lifecycle/state.ts";
import {
  BOUNTY_CLASSES,
  type BountyClass,
  type LedgerAnswer,
  type LedgerQuery,
} from "../protocols/economics/mod.ts";
import { checkTaskSpec } from "../protocols/work.ts";
import type { NeedStatus, RequesterMessage } from "../actors/requester.ts";
import type { CoreMessage, CoreStats } from "../actors/swarm_messages.ts";
import { advanceEpoch, type HttpPolicyTarget, offerCapsule, policyStatus } from "./_http_policy.ts";

/** Largest accepted request body. */
export const HTTP_BODY_MAX_BYTES = 64 * 1024;

export { HttpApiError } from "./_http_error.ts";

/** What the API talks to. */
export interface HttpApiTarget {
  readonly nodeId: string;
  readonly did: string;
  readonly system: ActorSystem;
  readonly core: ActorRef<CoreMessage>;
  /** The node's requester; without one, the node takes no NEEDs. */
  readonly requester: ActorRef<RequesterMessage> | undefined;
  /** More fields for /health (decider and transport counters). */
  readonly health?: () => Record<string, unknown>;
  /** The partition gate, served under /admin when given. */
  readonly admin?: HttpAdmin;
  /** The policy routes (/policy, /policy/capsules, /epoch), when given. */
  readonly policy?: HttpPolicyTarget;
  /** What GET /decisions serves (AP mode), when given. */
  readonly decisions?: () => unknown;
}

/** What /admin/partition drives. */
export interface HttpAdmin {
  /** Blocks exactly `targets` (node ids); an empty list heals. Throws a `SwarmError` for unknown ones. */
  partition(targets: readonly string[]): unknown;
  partitionState(): unknown;
}

/** A running HTTP server. */
export interface HttpApi {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the API on 127.0.0.1 (or `hostname`) at `port` (0 picks a free one).
 *
 * @example
 * ```ts
 * const api = serveHttpApi(target, { port: 8080 });
 * // curl -X POST localhost:8080/needs -d '{"op":"reverse","input":"hello"}'
 * ```
 */
export function serveHttpApi(
  target: HttpApiTarget,
  options: { port: number; hostname?: string },
): HttpApi {
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, (request) => handle(target, request));
  return { port: server.addr.port, close: () => server.shutdown() };
}

/** Routes one request; exported for tests that call it without a socket. */
export async function handle(target: HttpApiTarget, request: Request): Promise<Response> {
  try {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter((part) => part !== "");
    if (parts.length === 1 && parts[0] === "health") {
      return json(200, await health(target), request, "GET");
    }
    if (parts[0] === "admin" && target.admin !== undefined) {
      return await admin(target.admin, request, parts);
    }
    if ((parts[0] === "policy" || parts[0] === "epoch") && target.policy !== undefined) {
      return await policy(target.policy, request, parts);
    }
    if (parts.length === 1 && parts[0] === "decisions" && target.decisions !== undefined) {
      return json(200, target.decisions(), request, "GET");
    }
    if (parts[0] === "ledger") {
      return json(200, await ledger(target, ledgerQuery(parts, url)), request, "GET");
    }
    if (parts[0] !== "needs" || parts.length > 2) {
      throw new HttpApiError(404, "E_HTTP_NOT_FOUND", `No route ${url.pathname}`);
    }
    if (parts.length === 2) {
      return json(200, await thread(target, decodeURIComponent(parts[1])), request, "GET");
    }
    if (request.method === "POST") return json(202, await post(target, request), request, "POST");
    return json(200, await list(target), request, "GET");
  } catch (error) {
    const status = error instanceof HttpApiError ? error.status : 500;
    const message = error instanceof Error ? error.message : String(error);
    return new Response(JSON.stringify({ error: { code: errorCode(error), message } }), {
      status,
      headers: { "content-type": "application/json" },
    });
  }
}

/** Throws `E_HTTP_METHOD` (405) unless the request uses `method`. */
function allow(request: Request, method: string): void {
  if (request.method !== method) {
    throw new HttpApiError(
      405,
      "E_HTTP_METHOD",
      `${request.method} is not allowed here; use ${method}`,
    );
  }
}

function json(status: number, body: unknown, request: Request, method: string): Response {
  allow(request, method);
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

async function health(target: HttpApiTarget) {
  const stats = await target.system.ask<CoreMessage, CoreStats>(
    target.core,
    (replyTo) => ({ type: "stats", replyTo }),
  );
  return { status: "ok", node: target.nodeId, did: target.did, stats, ...target.health?.() };
}

async function admin(target: HttpAdmin, request: Request, parts: string[]): Promise<Response> {
  if (parts.length !== 2 || parts[1] !== "partition") {
    throw new HttpApiError(404, "E_HTTP_NOT_FOUND", `No route /${parts.join("/")}`);
  }
  if (request.method !== "POST") return json(200, target.partitionState(), request, "GET");
  const body = await readBody(request);
  const block = body.block;
  if (
    !Array.isArray(block) || block.length > 1_024 ||
    !block.every((item) => typeof item === "string")
  ) {
    throw new HttpApiError(400, "E_HTTP_FIELD", "Field block must be a list of node ids");
  }
  try {
    return json(200, target.partition(block), request, "POST");
  } catch (error) {
    if (error instanceof HttpApiError) throw error;
    throw new HttpApiError(400, errorCode(error), (error as Error).message);
  }
}

async function policy(
  target: HttpPolicyTarget,
  request: Request,
  parts: string[],
): Promise<Response> {
  const route = parts.join("/");
  if (route === "policy") return json(200, await policyStatus(target), request, "GET");
  if (route === "policy/capsules") {
    allow(request, "POST");
    return json(202, await offerCapsule(target, await readBody(request)), request, "POST");
  }
  if (route === "epoch") {
    allow(request, "POST");
    return json(200, await advanceEpoch(target), request, "POST");
  }
  throw new HttpApiError(404, "E_HTTP_NOT_FOUND", `No route /${route}`);
}

function requesterOf(target: HttpApiTarget): ActorRef<RequesterMessage> {
  if (target.requester === undefined) {
    throw new HttpApiError(
      404,
      "E_HTTP_NO_REQUESTER",
      `Node ${target.nodeId} does not take NEEDs (it plays no requester role)`,
    );
  }
  return target.requester;
}

/** The ledger query a path asks for; 404 for any other path under /ledger. */
function ledgerQuery(parts: readonly string[], url: URL): LedgerQuery {
  if (parts.length === 1) return { kind: "summary" };
  const subject = parts.length === 3 ? decodeURIComponent(parts[2]) : "";
  if (subject.length === 0 || subject.length > 4096) {
    throw new HttpApiError(404, "E_HTTP_NOT_FOUND", `No route ${url.pathname}`);
  }
  if (parts[1] === "accounts") {
    const raw = url.searchParams.get("limit") ?? "50";
    const historyLimit = Number(raw);
    if (!Number.isSafeInteger(historyLimit) || historyLimit < 0 || historyLimit > 256) {
      throw new HttpApiError(400, "E_HTTP_FIELD", `Query limit must be an integer in [0, 256]`);
    }
    return { kind: "account", account: subject, historyLimit };
  }
  if (parts[1] === "escrows") return { kind: "escrows", subject };
  throw new HttpApiError(404, "E_HTTP_NOT_FOUND", `No route ${url.pathname}`);
}

async function ledger(target: HttpApiTarget, query: LedgerQuery): Promise<LedgerAnswer> {
  const answer = await target.system.ask<CoreMessage, LedgerAnswer | undefined>(
    target.core,
    (replyTo) => ({ type: "ledger", query, replyTo }),
  );
  if (answer === undefined) {
    throw new HttpApiError(404, "E_HTTP_NO_LEDGER", "This node runs no economy");
  }
  return answer;
}

async function list(target: HttpApiTarget): Promise<NeedStatus[]> {
  return await target.system.ask<RequesterMessage, NeedStatus[]>(
    requesterOf(target),
    (replyTo) => ({ type: "list", replyTo }),
  );
}

async function thread(target: HttpApiTarget, needId: string) {
  const state = await target.system.ask<CoreMessage, ThreadState | undefined>(
    target.core,
    (replyTo) => ({ type: "thread", needId, replyTo }),
  );
  if (state === undefined) {
    throw new HttpApiError(404, "E_HTTP_UNKNOWN_NEED", `This node does not know NEED ${needId}`);
  }
  return {
    needId: state.needId,
    phase: state.phase,
    requester: state.requester,
    decision: state.decision,
    proposals: [...state.proposals.values()].map((proposal) => ({
      proposalId: proposal.proposalId,
      approvals: proposal.tally.approvals.length,
    })),
    tasks: [...state.tasks.values()].map((task) => ({
      taskId: task.taskId,
      status: task.status,
      verifiedCommit: task.verifiedCommit,
      // Who holds the task and until when: what a stuck task waits for.
      lease: task.lease === undefined ? undefined : {
        leaseId: task.lease.leaseId,
        holder: task.lease.holder,
        expiresAtMs: task.lease.expiresAtMs,
      },
      commits: task.commits.size,
    })),
  };
}

async function post(target: HttpApiTarget, request: Request): Promise<{ needId: string }> {
  const body = await readBody(request);
  const number = (key: string, fallback: number, max: number) => {
    const value = body[key] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max) {
      throw new HttpApiError(
        400,
        "E_HTTP_FIELD",
        `Field ${key} must be a number between 0 and ${max}`,
      );
    }
    return value;
  };
  if (typeof body.op !== "string" || typeof body.input !== "string") {
    throw new HttpApiError(400, "E_HTTP_FIELD", "Fields op and input must be strings");
  }
  const task = { op: body.op, input: body.input, rounds: Math.floor(number("rounds", 1, 100_000)) };
  try {
    checkTaskSpec(task);
  } catch (error) {
    throw new HttpApiError(400, errorCode(error), (error as Error).message);
  }
  const budget = number("budget", 10, 1_000_000);
  const bountyClass = body.bountyClass ?? "SIMPLE";
  if (!BOUNTY_CLASSES.includes(bountyClass as BountyClass)) {
    throw new HttpApiError(
      400,
      "E_HTTP_FIELD",
      `Field bountyClass must be one of ${BOUNTY_CLASSES.join(", ")}`,
    );
  }
  const needId = await target.system.ask<RequesterMessage, string>(
    requesterOf(target),
    (postedTo) => ({
      type: "post",
      task,
      budget,
      bounty: number("bounty", Math.min(5, budget), budget),
      deadlineInMs: number("deadlineInMs", 120_000, 86_400_000),
      bountyClass: bountyClass as BountyClass,
      postedTo,
    }),
  );
  return { needId };
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > HTTP_BODY_MAX_BYTES) {
    throw new HttpApiError(
      413,
      "E_HTTP_TOO_LARGE",
      `Request body must be at most ${HTTP_BODY_MAX_BYTES} bytes`,
    );
  }
  const text = await request.text();
  if (text.length > HTTP_BODY_MAX_BYTES) {
    throw new HttpApiError(
      413,
      "E_HTTP_TOO_LARGE",
      `Request body must be at most ${HTTP_BODY_MAX_BYTES} bytes`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpApiError(400, "E_HTTP_JSON", "Request body must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpApiError(400, "E_HTTP_JSON", "Request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

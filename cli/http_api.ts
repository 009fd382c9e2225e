/**
 * The node's small HTTP endpoint, so a user can post a NEED with curl and
 * watch it become FINAL:
 *
 *   GET  /health        node id, DID, epoch and core counters
 *   GET  /needs         NEEDs this node posted: in flight and recently ended
 *   GET  /needs/{id}    a thread as this node sees it (phase, tasks, decision)
 *   POST /needs         {"op","input","rounds"?,"bounty"?,"budget"?,"deadlineInMs"?,"bountyClass"?} → 202 {"needId"}
 *   GET  /ledger                  supply, burned, accounts, held escrows, state digest, invariant
 *   GET  /ledger/accounts/{did}   balance, stake, escrowed, unbonding, reputation, history (?limit=)
 *   GET  /ledger/escrows/{id}     escrows of a NEED or task, with blocked payouts
 *
 * Bad requests get a JSON error with a stable code and never reach the swarm.
 *
 * @module
 */

import type { ActorRef } from "../runtime/actor.ts";
import { errorCode, SwarmError } from "../runtime/errors.ts";
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

/** Largest accepted request body. */
export const HTTP_BODY_MAX_BYTES = 64 * 1024;

/** Raised for bad requests; carries the HTTP status. */
export class HttpApiError extends SwarmError {
  constructor(readonly status: number, code: string, message: string) {
    super(code, message);
  }
}

/** What the API talks to. */
export interface HttpApiTarget {
  readonly nodeId: string;
  readonly did: string;
  readonly system: ActorSystem;
  readonly core: ActorRef<CoreMessage>;
  readonly requester: ActorRef<RequesterMessage>;
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

function json(status: number, body: unknown, request: Request, method: string): Response {
  if (request.method !== method) {
    throw new HttpApiError(
      405,
      "E_HTTP_METHOD",
      `${request.method} is not allowed here; use ${method}`,
    );
  }
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
  return { status: "ok", node: target.nodeId, did: target.did, stats };
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
    target.requester,
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
    target.requester,
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

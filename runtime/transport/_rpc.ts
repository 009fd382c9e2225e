/**
 * Request/response over libp2p streams: one stream per call, one
 * length-prefixed CBOR request `[method, body]`, one length-prefixed reply
 * `[ok, body]`. It is the channel for what pubsub is bad at — node hellos
 * now, Automerge sync, CAS block fetch and ask-style calls later — and is
 * bounded like direct frames (size limit, timeout, handler errors become a
 * typed error at the caller, never a crash at the callee).
 *
 * @module
 */

import type { Stream } from "@libp2p/interface";
import { SwarmError } from "../errors.ts";
import { hostDeadline } from "../host_deadline.ts";
import type { WireValue } from "../wire.ts";
import { FrameError } from "./frame_check.ts";
import { decodeWire, encodeWire } from "./frame_codec.ts";
import { lengthPrefixed, LengthPrefixedDecoder } from "./length_prefix.ts";
import { closeWithin } from "./_stream_close.ts";

/** The request/response protocol id. */
export const RPC_PROTOCOL = "/can-swarm/rpc/1.0.0";

/**
 * Raised at the caller of a request: `E_RPC_TIMEOUT`, `E_RPC_UNKNOWN_NODE`,
 * `E_RPC_NO_HANDLER`, `E_RPC_FAILED` (the handler threw), `E_RPC_CLOSED`,
 * `E_RPC_BAD_REPLY`.
 */
export class RpcError extends SwarmError {}

/** Who called a handler. */
export interface RpcCaller {
  /** The caller's PeerId (authenticated by noise). */
  readonly peer: string;
  /** The caller's node id, when the directory knows it. */
  readonly node: string | undefined;
}

/** Serves one method. Throwing answers the caller with `E_RPC_FAILED`. */
export type RpcHandler = (body: WireValue, caller: RpcCaller) => WireValue | Promise<WireValue>;

/** Reads exactly one length-prefixed message from `stream` within `timeoutMs`. */
export function readOne(stream: Stream, bytesMax: number, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const decoder = new LengthPrefixedDecoder(bytesMax);
    const finish = (error: Error | undefined, message?: Uint8Array) => {
      timer.clear();
      stream.removeEventListener("message", onMessage);
      stream.removeEventListener("close", onClose);
      if (error !== undefined) reject(error);
      else resolve(message!);
    };
    const onMessage = (event: { data: { subarray(): Uint8Array } }) => {
      try {
        const [message] = decoder.push(event.data.subarray());
        if (message !== undefined) finish(undefined, message);
      } catch (error) {
        finish(error as Error);
      }
    };
    const onClose = () =>
      finish(new RpcError("E_RPC_CLOSED", "Stream closed before a complete message arrived"));
    // Forgiving this process's own delay: a busy node must not fail a reply it has not read yet.
    const timer = hostDeadline(
      timeoutMs,
      () => finish(new RpcError("E_RPC_TIMEOUT", `No message within ${timeoutMs} ms`)),
    );
    stream.addEventListener("message", onMessage);
    stream.addEventListener("close", onClose);
  });
}

/** Sends a request on a fresh stream and resolves with the reply body. */
export async function callRpc(
  stream: Stream,
  request: { method: string; body: WireValue },
  options: { bytesMax: number; timeoutMs: number },
): Promise<WireValue> {
  try {
    stream.send(lengthPrefixed(encodeWire([request.method, request.body])));
    const reply = await readOne(stream, options.bytesMax, options.timeoutMs);
    const decoded = decodeWire(reply);
    if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== "boolean") {
      throw new RpcError("E_RPC_BAD_REPLY", `Reply to ${request.method} is not [ok, body]`);
    }
    if (decoded[0]) return decoded[1];
    const detail = decoded[1] as { code?: unknown; message?: unknown } | null;
    throw new RpcError(
      typeof detail?.code === "string" ? detail.code : "E_RPC_FAILED",
      `Request ${request.method} failed at the peer: ${String(detail?.message)}`,
    );
  } finally {
    await closeWithin(stream, options.timeoutMs, "rpc done");
  }
}

/**
 * Answers one request on an inbound stream. Returns the error code when the
 * request itself was invalid (for the caller's peer score), else undefined.
 */
export async function serveRpc(
  stream: Stream,
  caller: RpcCaller,
  handlers: ReadonlyMap<string, RpcHandler>,
  options: { bytesMax: number; timeoutMs: number },
): Promise<string | undefined> {
  let invalid: string | undefined;
  let reply: WireValue;
  try {
    const request = decodeWire(await readOne(stream, options.bytesMax, options.timeoutMs));
    if (!Array.isArray(request) || request.length !== 2 || typeof request[0] !== "string") {
      throw new FrameError("E_FRAME_SHAPE", "Request must be [method, body]");
    }
    const handler = handlers.get(request[0]);
    reply = handler === undefined
      ? [false, { code: "E_RPC_NO_HANDLER", message: `No handler for ${request[0]}` }]
      : [true, await handler(request[1], caller)];
  } catch (error) {
    if (error instanceof FrameError) invalid = error.code;
    const code = error instanceof SwarmError ? error.code : "E_RPC_FAILED";
    reply = [false, { code, message: (error as Error).message ?? String(error) }];
  }
  try {
    stream.send(lengthPrefixed(encodeWire(reply)));
  } catch {
    stream.abort(new Error("rpc reply failed"));
    return invalid;
  }
  await closeWithin(stream, options.timeoutMs, "rpc reply not taken");
  return invalid;
}

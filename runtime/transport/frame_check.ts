/**
 * What every transport checks before a frame leaves a node: its addresses
 * and topic are well formed, its payload is a wire value, and it is not too
 * large. The same rules hold for the in-process, simulated and libp2p
 * transports, so a frame one of them refuses is refused by all.
 *
 * @module
 */

import { SwarmError } from "../errors.ts";
import { WIRE_DEPTH_MAX, WireRef } from "../wire.ts";
import type { Address, Frame } from "./transport.ts";

/** Default limit of an encoded frame: 1 MiB. */
export const FRAME_BYTES_MAX_DEFAULT = 1024 * 1024;
/** Longest node id. */
export const NODE_ID_LENGTH_MAX = 128;
/** Longest actor path. */
export const PATH_LENGTH_MAX = 1024;
/** Longest topic name. */
export const TOPIC_LENGTH_MAX = 512;

/**
 * Raised for a frame that breaks the transport contract. Codes:
 * `E_FRAME_INVALID` (shape or value), `E_FRAME_TOO_LARGE` (size), and for
 * received bytes `E_FRAME_CBOR`, `E_FRAME_SHAPE`, `E_FRAME_VERSION`,
 * `E_FRAME_VALUE`, `E_FRAME_ENCODE`.
 */
export class FrameError extends SwarmError {}

/** Checks a frame's addresses, topic and payload; throws {@linkcode FrameError}. */
export function checkFrame(frame: Frame): void {
  if (frame.kind === "direct") checkAddress(frame.to, "to");
  else if (frame.kind === "topic") checkTopic(frame.topic);
  else throw invalid(`kind must be "direct" or "topic", got ${String((frame as Frame).kind)}`);
  if (frame.from !== undefined) checkAddress(frame.from, "from");
  checkPayload(frame.payload, 0);
}

/** Checks a topic name: 1–512 characters. */
export function checkTopic(topic: unknown): void {
  if (typeof topic !== "string" || topic.length === 0 || topic.length > TOPIC_LENGTH_MAX) {
    throw invalid(
      `topic must be a string of 1-${TOPIC_LENGTH_MAX} characters, got ${describe(topic)}`,
    );
  }
}

function checkAddress(address: Address | undefined, field: string): void {
  const node = address?.node;
  const path = address?.path;
  if (typeof node !== "string" || node.length === 0 || node.length > NODE_ID_LENGTH_MAX) {
    throw invalid(
      `${field}.node must be a string of 1-${NODE_ID_LENGTH_MAX} characters, got ${describe(node)}`,
    );
  }
  if (typeof path !== "string" || !path.startsWith("/") || path.length > PATH_LENGTH_MAX) {
    throw invalid(
      `${field}.path must start with "/" and be at most ${PATH_LENGTH_MAX} characters, got ${
        describe(path)
      }`,
    );
  }
}

function checkPayload(value: unknown, depth: number): void {
  if (depth > WIRE_DEPTH_MAX) throw invalid(`payload nests deeper than ${WIRE_DEPTH_MAX} levels`);
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      return;
    case "object":
      break;
    default:
      throw invalid(`payload holds a ${typeof value}`);
  }
  if (value === null || value instanceof Uint8Array || value instanceof WireRef) return;
  if (Array.isArray(value)) {
    for (const item of value) checkPayload(item, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    throw invalid(`payload holds an instance of ${value.constructor?.name ?? "unknown"}`);
  }
  for (const item of Object.values(value)) checkPayload(item, depth + 1);
}

/**
 * An upper bound of the frame's CBOR size, cheap to compute; stops counting
 * once `stopAbove` is passed (the exact figure then needs an encode).
 */
export function frameSizeUpperBound(frame: Frame, stopAbove: number): number {
  let size = 64 + (frame.from === undefined ? 0 : stringBound(frame.from.node) +
    stringBound(frame.from.path));
  size += frame.kind === "direct"
    ? stringBound(frame.to.node) + stringBound(frame.to.path)
    : stringBound(frame.topic) + 2 * NODE_ID_LENGTH_MAX;
  return size + valueBound(frame.payload, stopAbove - size);
}

function valueBound(value: unknown, budget: number): number {
  if (typeof value === "string") return stringBound(value);
  if (typeof value === "bigint") return 11 + Math.ceil(value.toString(16).length / 2);
  if (typeof value !== "object" || value === null) return 9;
  if (value instanceof Uint8Array) return 9 + value.length;
  if (value instanceof WireRef) return 12 + stringBound(value.node) + stringBound(value.path);
  let size = 9;
  const items = Array.isArray(value) ? value : Object.entries(value).flat();
  for (const item of items) {
    size += valueBound(item, budget - size);
    if (size > budget) return size;
  }
  return size;
}

function stringBound(text: string): number {
  return 9 + text.length * 3;
}

function invalid(detail: string): FrameError {
  return new FrameError("E_FRAME_INVALID", `Cannot send frame: ${detail}`);
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : String(value);
}

/**
 * Wire values: the plain data that crosses a node boundary.
 *
 * A message leaving a node is copied into a wire value; actor references in
 * it become {@linkcode WireRef} addresses, and anything that cannot travel
 * (functions, symbols, class instances, cycles) is refused with a typed
 * error at the sender rather than corrupting the receiver. On arrival the
 * value is copied again with addresses turned back into references, so no
 * two nodes ever share a mutable object, in process or in simulation.
 *
 * @module
 */

import { SwarmError } from "./errors.ts";
import type { Address } from "./transport/transport.ts";

/** An actor reference in transit. */
export class WireRef implements Address {
  constructor(readonly node: string, readonly path: string) {}
}

/** Data that can cross a node boundary. */
export type WireValue =
  | null
  | undefined
  | boolean
  | number
  | string
  | bigint
  | Uint8Array
  | WireRef
  | WireValue[]
  | { [key: string]: WireValue };

/** Raised when a message contains something that cannot cross a node boundary. */
export class WireError extends SwarmError {
  constructor(message: string) {
    super("E_WIRE_VALUE", message);
  }
}

/** Objects that stand for an actor and know their address. */
export interface Addressable {
  readonly address: Address;
}

/** Maximum nesting depth of a wire value; deeper values are refused. */
export const WIRE_DEPTH_MAX = 64;

/**
 * Copies `value` into a wire value, turning anything {@linkcode Addressable}
 * (actor refs) into {@linkcode WireRef}s.
 *
 * @example
 * ```ts
 * const wire = toWire({ reply: someRef, amount: 5n });
 * ```
 */
export function toWire(value: unknown, depth = 0): WireValue {
  if (depth > WIRE_DEPTH_MAX) {
    throw new WireError(`Cannot send message: nesting deeper than ${WIRE_DEPTH_MAX} levels`);
  }
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      return value;
    case "object":
      return objectToWire(value, depth);
    default:
      throw new WireError(`Cannot send message: a ${typeof value} cannot cross a node boundary`);
  }
}

function objectToWire(value: object | null, depth: number): WireValue {
  if (value === null) return null;
  if (value instanceof Uint8Array) return value.slice();
  if (value instanceof WireRef) return value;
  if (Array.isArray(value)) return value.map((item) => toWire(item, depth + 1));
  if (isAddressable(value)) return new WireRef(value.address.node, value.address.path);
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "unknown";
    throw new WireError(`Cannot send message: instances of ${name} cannot cross a node boundary`);
  }
  const copy: { [key: string]: WireValue } = {};
  for (const [key, item] of Object.entries(value)) copy[key] = toWire(item, depth + 1);
  return copy;
}

function isAddressable(value: object): value is Addressable {
  const address = (value as { address?: unknown }).address;
  return typeof address === "object" && address !== null &&
    typeof (address as Address).node === "string" &&
    typeof (address as Address).path === "string" &&
    typeof (value as { tell?: unknown }).tell === "function";
}

/**
 * Copies a received wire value into a message, turning each {@linkcode WireRef}
 * into a live reference with `resolveRef`.
 */
export function fromWire(value: WireValue, resolveRef: (ref: WireRef) => unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof WireRef) return resolveRef(value);
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return value.map((item) => fromWire(item, resolveRef));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = fromWire(item, resolveRef);
  return copy;
}

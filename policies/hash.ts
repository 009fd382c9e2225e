/**
 * Hashing and canonical encoding for policy decisions and capsules.
 *
 * Policy requests and capsule bodies are small trees of strings, safe
 * integers, booleans, arrays and plain objects. Their canonical form is JSON
 * with object keys sorted by code unit and no whitespace, so two nodes that
 * hold equal values produce byte-identical text, whatever order the keys
 * were built in. Hashes are SHA-256 (WebCrypto), written as lowercase hex.
 *
 * @module
 */

import { assert } from "../runtime/errors.ts";

/** A value that has a canonical encoding. */
export type CanonicalValue =
  | string
  | number
  | boolean
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

const DEPTH_MAX = 16;

/**
 * Encodes `value` canonically. Numbers must be safe integers; anything else
 * (floats, undefined, nested too deep) is a programming error.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, "x"] }); // '{"a":[true,"x"],"b":1}'
 * ```
 */
export function canonicalJson(value: CanonicalValue, depth = 0): string {
  assert(depth <= DEPTH_MAX, `Canonical value nests deeper than ${DEPTH_MAX} levels`);
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      assert(Number.isSafeInteger(value), `Canonical numbers must be safe integers, got ${value}`);
      return String(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item, depth + 1)).join(",")}]`;
  }
  const record = value as { readonly [key: string]: CanonicalValue };
  const keys = Object.keys(record).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const item = record[key];
    assert(item !== undefined, `Canonical value has an undefined field '${key}'`);
    parts.push(`${JSON.stringify(key)}:${canonicalJson(item, depth + 1)}`);
  }
  return `{${parts.join(",")}}`;
}

const encoder = new TextEncoder();

/** SHA-256 of `data` (bytes, or text as UTF-8), as lowercase hex. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}

/** Bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** True for a 64-digit lowercase hex string (a SHA-256 as this module writes it). */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
}

/**
 * A canonical text form of any message, for the trace hash: keys sorted,
 * bigints and bytes spelled out (long byte arrays by length and a 64-bit
 * digest), actor references by address, so equal
 * messages always render identically and different ones differently.
 *
 * @module
 */

const DEPTH_MAX = 32;
/** Byte arrays up to this length are spelled out in hex; longer ones by length and digest. */
const BYTES_SPELLED_MAX = 32;

/**
 * Renders `value` canonically.
 *
 * @example
 * ```ts
 * canonicalString({ b: 1n, a: [true] }); // '{"a":[true],"b":1n}'
 * ```
 */
export function canonicalString(value: unknown, depth = 0, depthMax = DEPTH_MAX): string {
  if (depth > depthMax) return "…";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "undefined";
    case "symbol":
      return `symbol(${value.description ?? ""})`;
    case "function":
      return `fn(${value.name})`;
    default:
      return objectString(value as object | null, depth, depthMax);
  }
}

function objectString(value: object | null, depth: number, depthMax: number): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) {
    return value.length <= BYTES_SPELLED_MAX ? `0x${hex(value)}` : bytesDigest(value);
  }
  if (Array.isArray(value)) {
    let text = "[";
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ",";
      text += canonicalString(value[index], depth + 1, depthMax);
    }
    return text + "]";
  }
  const address = (value as { address?: { node?: unknown; path?: unknown } }).address;
  if (
    address !== undefined && typeof address.node === "string" && typeof address.path === "string"
  ) {
    return `ref(${address.node}${address.path})`;
  }
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([key, item]) =>
      `${canonicalString(key, depth + 1, depthMax)}=>${canonicalString(item, depth + 1, depthMax)}`
    ).sort();
    return `Map{${entries.join(",")}}`;
  }
  if (value instanceof Set) {
    return `Set{${
      [...value].map((item) => canonicalString(item, depth + 1, depthMax)).sort().join(",")
    }}`;
  }
  if (value instanceof Error) return `${value.name}(${JSON.stringify(value.message)})`;
  const prototype = Object.getPrototypeOf(value);
  let text = prototype === Object.prototype || prototype === null
    ? "{"
    : `${value.constructor?.name ?? "?"}{`;
  const keys = Object.keys(value).sort();
  for (let index = 0; index < keys.length; index++) {
    if (index > 0) text += ",";
    const key = keys[index];
    text += `${JSON.stringify(key)}:${
      canonicalString((value as Record<string, unknown>)[key], depth + 1, depthMax)
    }`;
  }
  return text + "}";
}

/**
 * A long byte array as its length and a 64-bit FNV-1a digest (two 32-bit
 * lanes): equal bytes render equally, different ones differ but for a
 * 2^-64 chance, at a fraction of the cost of hex (traces carry every
 * envelope a node receives).
 */
function bytesDigest(bytes: Uint8Array): string {
  let low = 0x811c9dc5;
  let high = 0xcbf29ce4 ^ bytes.length;
  for (let index = 0; index < bytes.length; index++) {
    low = Math.imul(low ^ bytes[index], 0x01000193);
    high = Math.imul(high ^ bytes[index] ^ (low >>> 24), 0x01000193);
  }
  return `bytes(${bytes.length}:${(high >>> 0).toString(16).padStart(8, "0")}${
    (low >>> 0).toString(16).padStart(8, "0")
  })`;
}

function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

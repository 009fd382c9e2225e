/**
 * A fast DAG-CBOR encoder for plain payloads: strings, booleans, null, safe
 * integers, finite non-integer numbers (as float64), arrays and plain
 * objects. Protocol payloads are nothing else, and encoding them this way
 * is several times cheaper than the generic library walk. Anything outside
 * that subset returns undefined so the caller falls back to
 * `@ipld/dag-cbor`; a property test checks the bytes are identical to the
 * library's on random values.
 *
 * @module
 */

const TEXT = new TextEncoder();

/** Growable output buffer. */
class Writer {
  bytes = new Uint8Array(512);
  length = 0;

  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  head(major: number, argument: number): void {
    this.reserve(9);
    const out = this.bytes;
    const type = major << 5;
    if (argument < 24) out[this.length++] = type | argument;
    else if (argument < 0x100) {
      out[this.length++] = type | 24;
      out[this.length++] = argument;
    } else if (argument < 0x10000) {
      out[this.length++] = type | 25;
      out[this.length++] = argument >> 8;
      out[this.length++] = argument & 0xff;
    } else if (argument < 0x100000000) {
      out[this.length++] = type | 26;
      new DataView(out.buffer).setUint32(this.length, argument);
      this.length += 4;
    } else {
      out[this.length++] = type | 27;
      new DataView(out.buffer).setBigUint64(this.length, BigInt(argument));
      this.length += 8;
    }
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  float64(value: number): void {
    this.reserve(9);
    this.bytes[this.length++] = 0xfb;
    new DataView(this.bytes.buffer).setFloat64(this.length, value);
    this.length += 8;
  }
}

/** The DAG-CBOR bytes of `value`, or undefined when it is outside the plain subset. */
export function encodePlain(value: unknown): Uint8Array | undefined {
  const writer = new Writer();
  if (!write(writer, value, 0)) return undefined;
  return writer.bytes.slice(0, writer.length);
}

const DEPTH_MAX = 64;

function write(writer: Writer, value: unknown, depth: number): boolean {
  if (depth > DEPTH_MAX) return false;
  switch (typeof value) {
    case "string":
      writeText(writer, value);
      return true;
    case "boolean":
      writer.reserve(1);
      writer.bytes[writer.length++] = value ? 0xf5 : 0xf4;
      return true;
    case "number":
      return writeNumber(writer, value);
    case "object":
      if (value === null) {
        writer.reserve(1);
        writer.bytes[writer.length++] = 0xf6;
        return true;
      }
      if (Array.isArray(value)) return writeArray(writer, value, depth);
      return writeMap(writer, value, depth);
    default:
      return false;
  }
}

function writeNumber(writer: Writer, value: number): boolean {
  if (!Number.isFinite(value) || Object.is(value, -0)) return false;
  if (!Number.isInteger(value)) {
    writer.float64(value);
    return true;
  }
  if (!Number.isSafeInteger(value)) return false;
  if (value >= 0) writer.head(0, value);
  else writer.head(1, -1 - value);
  return true;
}

function writeArray(writer: Writer, value: unknown[], depth: number): boolean {
  writer.head(4, value.length);
  for (const item of value) if (!write(writer, item, depth + 1)) return false;
  return true;
}

function writeMap(writer: Writer, value: object, depth: number): boolean {
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  const entries: { key: Uint8Array; value: unknown }[] = [];
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) return false;
    entries.push({ key: keyBytes(key), value: item });
  }
  if (entries.length > 1) entries.sort((left, right) => compareKeys(left.key, right.key));
  writer.head(5, entries.length);
  for (const entry of entries) {
    writer.head(3, entry.key.length);
    writer.raw(entry.key);
    if (!write(writer, entry.value, depth + 1)) return false;
  }
  return true;
}

/** Map keys are mostly the protocol's few field names: their UTF-8 bytes are kept, boundedly. */
const KEY_CACHE_MAX = 1024;
const KEY_CACHE_KEY_MAX = 32;
const keyCache = new Map<string, Uint8Array>();

function keyBytes(key: string): Uint8Array {
  const cached = keyCache.get(key);
  if (cached !== undefined) return cached;
  const bytes = TEXT.encode(key);
  if (key.length <= KEY_CACHE_KEY_MAX && keyCache.size < KEY_CACHE_MAX) keyCache.set(key, bytes);
  return bytes;
}

/** Writes a text string; ASCII (nearly every protocol string) is copied without a TextEncoder call. */
function writeText(writer: Writer, value: string): void {
  const length = value.length;
  let ascii = true;
  for (let index = 0; index < length; index++) {
    if (value.charCodeAt(index) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    const bytes = TEXT.encode(value);
    writer.head(3, bytes.length);
    writer.raw(bytes);
    return;
  }
  writer.head(3, length);
  writer.reserve(length);
  const out = writer.bytes;
  let at = writer.length;
  for (let index = 0; index < length; index++) out[at++] = value.charCodeAt(index);
  writer.length = at;
}

/** DAG-CBOR map key order: shorter first, then bytewise. */
function compareKeys(left: Uint8Array, right: Uint8Array): number {
  if (left.length !== right.length) return left.length - right.length;
  for (let index = 0; index < left.length; index++) {
    if (left[index] !== right[index]) return left[index] - right[index];
  }
  return 0;
}

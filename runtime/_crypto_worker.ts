/**
 * The crypto thread's worker: signs with the keys the main thread
 * registered, and verifies with public keys it imports and keeps
 * (`crypto_thread.ts`). Private keys arrive as opaque, non-extractable
 * `CryptoKey`s; both operations run as synchronous `node:crypto` calls, the
 * fastest Ed25519 on Deno (see `protocols/identity/ed25519.ts`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createPublicKey, KeyObject, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { EvictionCursor } from "./eviction_cursor.ts";

/** What one item of a batch asks. */
export const OP_SIGN = 0;
/** Verify: the item's bytes are public key (32) ‖ signature (64) ‖ message. */
export const OP_VERIFY = 1;

/**
 * A request from the main thread. A batch travels as one transferred
 * buffer: item `i` is `bytes[ends[i-1] .. ends[i]]`, its operation
 * `ops[i]`, and for a signature the key in `slots[i]`.
 */
export type CryptoRequest =
  | { readonly type: "key"; readonly slot: number; readonly key: CryptoKey }
  | {
    readonly type: "batch";
    readonly batch: number;
    readonly ops: Uint8Array;
    readonly slots: Uint32Array;
    readonly ends: Uint32Array;
    readonly bytes: Uint8Array;
  };

/**
 * The answer to one batch, in transferred buffers: 64 signature bytes per
 * item (zero for verifications), 1 or 0 per item for verifications, and an
 * error message for each signature that could not be made.
 */
export interface CryptoReply {
  readonly batch: number;
  readonly signatures: Uint8Array;
  readonly valid: Uint8Array;
  readonly errors: readonly (readonly [index: number, message: string])[];
}

const SIGNATURE_BYTES = 64;
const PUBLIC_KEY_BYTES = 32;
/** Imported public keys kept at most (oldest first out). */
const PUBLIC_KEYS_MAX = 4096;

const privateKeys = new Map<number, KeyObject>();
const publicKeys = new Map<string, KeyObject>();
const publicKeysOldest = new EvictionCursor(publicKeys);
// RFC 8410 SubjectPublicKeyInfo prefix for an Ed25519 public key; the 32-byte key follows.
const SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
/** The worker's global scope (typed here to keep the main program's lib). */
const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<CryptoRequest>) => void;
  postMessage(reply: CryptoReply, transfer: Transferable[]): void;
};

scope.onmessage = (event: MessageEvent<CryptoRequest>) => {
  const request = event.data;
  if (request.type === "key") {
    return void privateKeys.set(request.slot, KeyObject.from(request.key));
  }
  const { ops, slots, ends, bytes } = request;
  const signatures = new Uint8Array(ops.length * SIGNATURE_BYTES);
  const valid = new Uint8Array(ops.length);
  const errors: [number, string][] = [];
  for (let index = 0; index < ops.length; index++) {
    const item = bytes.subarray(index === 0 ? 0 : ends[index - 1], ends[index]);
    try {
      if (ops[index] === OP_VERIFY) valid[index] = verify(item) ? 1 : 0;
      else signatures.set(sign(slots[index], item), index * SIGNATURE_BYTES);
    } catch (error) {
      errors.push([index, error instanceof Error ? error.message : String(error)]);
    }
  }
  const reply: CryptoReply = { batch: request.batch, signatures, valid, errors };
  scope.postMessage(reply, [signatures.buffer, valid.buffer]);
};

function sign(slot: number, message: Uint8Array): Uint8Array {
  const key = privateKeys.get(slot);
  if (key === undefined) throw new Error(`no key in slot ${slot}`);
  return nodeSign(null, message, key);
}

/** Verifies; a malformed key or signature is a failed verification, not an error. */
function verify(item: Uint8Array): boolean {
  const publicKey = item.subarray(0, PUBLIC_KEY_BYTES);
  const signature = item.subarray(PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
  const message = item.subarray(PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return nodeVerify(null, message, importedKey(publicKey), signature);
  } catch {
    return false;
  }
}

function importedKey(publicKey: Uint8Array): KeyObject {
  const id = String.fromCharCode(...publicKey);
  const cached = publicKeys.get(id);
  if (cached !== undefined) return cached;
  const spki = Buffer.from([...SPKI_PREFIX, ...publicKey]);
  const imported = createPublicKey({ key: spki, format: "der", type: "spki" });
  if (publicKeys.size >= PUBLIC_KEYS_MAX) publicKeysOldest.evict();
  publicKeys.set(id, imported);
  return imported;
}

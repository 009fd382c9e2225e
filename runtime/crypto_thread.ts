/**
 * A crypto thread: Ed25519 signatures made and checked on a worker thread,
 * so the main thread (where the actors run) does other work meanwhile.
 *
 * In Deno an Ed25519 signature is computed, and checked, on the calling
 * thread. A node signs every envelope it emits and verifies every envelope
 * a peer sends, which at full load is a large share of its main thread.
 * Sent here, that work overlaps with the rest of the pipeline on a second
 * core. Requests made while a batch is on the worker queue up and go as the
 * next batch, in one transferred buffer, so crossing threads costs little
 * per signature at load and nothing waits at low load. Results are
 * the same as on the main thread (Ed25519 is deterministic).
 *
 * Used by the CLI (`run node`, `run swarm`) through `Identity.offloaded` and
 * `new SignatureVerifier(capacity, thread)`; simulation keeps its crypto
 * inline.
 *
 * @module
 */

import type {
  MessageSigner,
  SigningOffload,
  VerifyOffload,
} from "../protocols/identity/identity.ts";
import { SwarmError } from "./errors.ts";
import { type CryptoReply, type CryptoRequest, OP_SIGN, OP_VERIFY } from "./_crypto_worker.ts";

/**
 * Batches on the worker at once. One: requests made meanwhile gather into
 * the next batch, and fewer, larger batches cost the main thread less in
 * messages than keeping the worker busy with a second one (measured).
 */
const IN_FLIGHT_MAX = 1;
/** Items per batch at most. */
const BATCH_MAX = 256;
const SIGNATURE_BYTES = 64;
const PUBLIC_KEY_BYTES = 32;

/** Raised when a signature cannot be made on the crypto thread. */
export class CryptoThreadError extends SwarmError {}

interface Waiting {
  readonly op: number;
  readonly slot: number;
  /** The item's bytes: the message to sign, or public key ‖ signature ‖ message. */
  readonly parts: readonly Uint8Array[];
  readonly size: number;
  readonly resolve: (result: Uint8Array | boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** One worker thread signing and verifying for any number of keys (see the module doc). */
export class CryptoThread implements SigningOffload, VerifyOffload {
  readonly #worker: Worker;
  readonly #slots = new Map<CryptoKey, number>();
  readonly #inFlight = new Map<number, Waiting[]>();
  #queue: Waiting[] = [];
  #batches = 0;
  #closed = false;

  constructor() {
    this.#worker = new Worker(new URL("./_crypto_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent<CryptoReply>) => this.#settle(event.data);
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(`the crypto thread failed: ${event.message}`);
    };
  }

  /** A signer for `privateKey` (registered with the worker on first use). */
  signerFor(privateKey: CryptoKey): MessageSigner {
    let slot = this.#slots.get(privateKey);
    if (slot === undefined) {
      slot = this.#slots.size;
      this.#slots.set(privateKey, slot);
      this.#worker.postMessage({ type: "key", slot, key: privateKey } satisfies CryptoRequest);
    }
    const bound = slot;
    return (message) =>
      this.#submit(OP_SIGN, bound, [message], message.length) as Promise<Uint8Array>;
  }

  /** Verifies `signature` over `message` under a raw 32-byte public key; false when it does not hold. */
  verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
    if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) {
      return Promise.resolve(false);
    }
    const size = PUBLIC_KEY_BYTES + SIGNATURE_BYTES + message.length;
    return this.#submit(OP_VERIFY, 0, [publicKey, signature, message], size) as Promise<boolean>;
  }

  /** Batches sent to the worker so far. */
  get batches(): number {
    return this.#batches;
  }

  /** Stops the worker; work still waiting fails. */
  close(): void {
    if (this.#closed) return;
    this.#fail("the crypto thread is closed");
    this.#closed = true;
    this.#worker.terminate();
  }

  #submit(
    op: number,
    slot: number,
    parts: readonly Uint8Array[],
    size: number,
  ): Promise<Uint8Array | boolean> {
    if (this.#closed) {
      return Promise.reject(
        new CryptoThreadError(
          "E_CRYPTO_THREAD",
          "Cannot sign or verify: the crypto thread is closed",
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, slot, parts, size, resolve, reject });
      if (this.#queue.length === 1) queueMicrotask(() => this.#send());
    });
  }

  /** Sends the queue as one batch when the worker has room. */
  #send(): void {
    if (this.#closed || this.#queue.length === 0 || this.#inFlight.size >= IN_FLIGHT_MAX) return;
    const waiting = this.#queue.splice(0, BATCH_MAX);
    const batch = ++this.#batches;
    this.#inFlight.set(batch, waiting);
    const ops = new Uint8Array(waiting.length);
    const slots = new Uint32Array(waiting.length);
    const ends = new Uint32Array(waiting.length);
    let total = 0;
    waiting.forEach((each, index) => {
      ops[index] = each.op;
      slots[index] = each.slot;
      ends[index] = total += each.size;
    });
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const each of waiting) {
      for (const part of each.parts) {
        bytes.set(part, at);
        at += part.length;
      }
    }
    const request: CryptoRequest = { type: "batch", batch, ops, slots, ends, bytes };
    this.#worker.postMessage(request, [ops.buffer, slots.buffer, ends.buffer, bytes.buffer]);
    if (this.#queue.length > 0) this.#send();
  }

  #settle(reply: CryptoReply): void {
    const waiting = this.#inFlight.get(reply.batch);
    if (waiting === undefined) return;
    this.#inFlight.delete(reply.batch);
    const failed = new Map(reply.errors);
    waiting.forEach((each, index) => {
      const error = failed.get(index);
      if (error !== undefined) {
        each.reject(new CryptoThreadError("E_CRYPTO_THREAD", `Cannot sign: ${error}`));
      } else if (each.op === OP_VERIFY) each.resolve(reply.valid[index] === 1);
      else {
        each.resolve(
          reply.signatures.slice(index * SIGNATURE_BYTES, (index + 1) * SIGNATURE_BYTES),
        );
      }
    });
    this.#send();
  }

  #fail(reason: string): void {
    const waiting = [...this.#queue, ...[...this.#inFlight.values()].flat()];
    this.#queue = [];
    this.#inFlight.clear();
    for (const each of waiting) {
      each.reject(new CryptoThreadError("E_CRYPTO_THREAD", `Cannot sign or verify: ${reason}`));
    }
  }
}

/**
 * A signing thread: Ed25519 signatures made on a worker thread, so the main
 * thread (where the actors run) does other work meanwhile.
 *
 * In Deno a WebCrypto Ed25519 signature is computed on the calling thread;
 * a node signs every envelope it emits, which is a sixth of its main-thread
 * time at full load. Sent here, signatures overlap with the rest of the
 * pipeline on a second core. Requests made while a batch is on the worker
 * queue up and go as the next batch, so the per-message cost of crossing
 * threads is small at load and nothing waits at low load. Signatures are the
 * same bytes as on the main thread (Ed25519 is deterministic).
 *
 * Used by the CLI (`run node`, `run swarm`) through `Identity.offloaded`;
 * simulation keeps signing inline.
 *
 * @module
 */

import type { MessageSigner, SigningOffload } from "../protocols/identity/identity.ts";
import { SwarmError } from "./errors.ts";
import type { SigningReply, SigningRequest } from "./_signing_worker.ts";

/** Batches on the worker at once: one signing, one queued behind it. */
const IN_FLIGHT_MAX = 2;
/** Messages per batch at most. */
const BATCH_MAX = 256;
const SIGNATURE_BYTES = 64;

/** Raised when a signature cannot be made on the signing thread. */
export class SigningThreadError extends SwarmError {}

interface Waiting {
  readonly slot: number;
  readonly message: Uint8Array;
  readonly resolve: (signature: Uint8Array) => void;
  readonly reject: (error: unknown) => void;
}

/** One worker thread signing for any number of keys (see the module doc). */
export class SigningThread implements SigningOffload {
  readonly #worker: Worker;
  readonly #slots = new Map<CryptoKey, number>();
  readonly #inFlight = new Map<number, Waiting[]>();
  #queue: Waiting[] = [];
  #batches = 0;
  #closed = false;

  constructor() {
    this.#worker = new Worker(new URL("./_signing_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent<SigningReply>) => this.#settle(event.data);
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(`the signing thread failed: ${event.message}`);
    };
  }

  /** A signer for `privateKey` (registered with the worker on first use). */
  signerFor(privateKey: CryptoKey): MessageSigner {
    let slot = this.#slots.get(privateKey);
    if (slot === undefined) {
      slot = this.#slots.size;
      this.#slots.set(privateKey, slot);
      this.#worker.postMessage({ type: "key", slot, key: privateKey } satisfies SigningRequest);
    }
    const bound = slot;
    return (message) => this.#sign(bound, message);
  }

  /** Batches sent to the worker so far. */
  get batches(): number {
    return this.#batches;
  }

  /** Stops the worker; signatures still waiting fail. */
  close(): void {
    if (this.#closed) return;
    this.#fail("the signing thread is closed");
    this.#closed = true;
    this.#worker.terminate();
  }

  #sign(slot: number, message: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(
        new SigningThreadError("E_SIGNING_THREAD", "Cannot sign: the signing thread is closed"),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ slot, message, resolve, reject });
      if (this.#queue.length === 1) queueMicrotask(() => this.#send());
    });
  }

  /** Sends the queue as one batch when the worker has room. */
  #send(): void {
    if (this.#closed || this.#queue.length === 0 || this.#inFlight.size >= IN_FLIGHT_MAX) return;
    const waiting = this.#queue.splice(0, BATCH_MAX);
    const batch = ++this.#batches;
    this.#inFlight.set(batch, waiting);
    const slots = new Uint32Array(waiting.length);
    const ends = new Uint32Array(waiting.length);
    let total = 0;
    waiting.forEach((each, index) => {
      slots[index] = each.slot;
      ends[index] = total += each.message.length;
    });
    const bytes = new Uint8Array(total);
    waiting.forEach((each, index) => bytes.set(each.message, index === 0 ? 0 : ends[index - 1]));
    this.#worker.postMessage({ type: "sign", batch, slots, ends, bytes } satisfies SigningRequest, [
      bytes.buffer,
    ]);
    if (this.#queue.length > 0) this.#send();
  }

  #settle(reply: SigningReply): void {
    const waiting = this.#inFlight.get(reply.batch);
    if (waiting === undefined) return;
    this.#inFlight.delete(reply.batch);
    const failed = new Map(reply.errors);
    waiting.forEach((each, index) => {
      const error = failed.get(index);
      if (error === undefined) {
        each.resolve(
          reply.signatures.slice(index * SIGNATURE_BYTES, (index + 1) * SIGNATURE_BYTES),
        );
      } else each.reject(new SigningThreadError("E_SIGNING_THREAD", `Cannot sign: ${error}`));
    });
    this.#send();
  }

  #fail(reason: string): void {
    const waiting = [...this.#queue, ...[...this.#inFlight.values()].flat()];
    this.#queue = [];
    this.#inFlight.clear();
    for (const each of waiting) {
      each.reject(new SigningThreadError("E_SIGNING_THREAD", `Cannot sign: ${reason}`));
    }
  }
}

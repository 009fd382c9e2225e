/**
 * The signing thread's worker: signs batches of messages with the keys the
 * main thread registered (`signing_thread.ts`). Keys arrive as opaque,
 * non-extractable `CryptoKey`s.
 *
 * @module
 */

/**
 * A request from the main thread. A batch travels as one transferred
 * buffer: message `i` is `bytes[ends[i-1] .. ends[i]]`, signed with the key
 * in `slots[i]`.
 */
export type SigningRequest =
  | { readonly type: "key"; readonly slot: number; readonly key: CryptoKey }
  | {
    readonly type: "sign";
    readonly batch: number;
    readonly slots: Uint32Array;
    readonly ends: Uint32Array;
    readonly bytes: Uint8Array;
  };

/**
 * The answer to one batch: 64 signature bytes per message in one transferred
 * buffer, and an error message for each message that could not be signed.
 */
export interface SigningReply {
  readonly batch: number;
  readonly signatures: Uint8Array;
  readonly errors: readonly (readonly [index: number, message: string])[];
}

const SIGNATURE_BYTES = 64;
const keys = new Map<number, CryptoKey>();
/** The worker's global scope (typed here to keep the main program's lib). */
const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<SigningRequest>) => void;
  postMessage(reply: SigningReply, transfer: Transferable[]): void;
};

scope.onmessage = async (event: MessageEvent<SigningRequest>) => {
  const request = event.data;
  if (request.type === "key") return void keys.set(request.slot, request.key);
  const { slots, ends, bytes } = request;
  const signatures = new Uint8Array(slots.length * SIGNATURE_BYTES);
  const errors: [number, string][] = [];
  for (let index = 0; index < slots.length; index++) {
    const key = keys.get(slots[index]);
    const message = bytes.subarray(index === 0 ? 0 : ends[index - 1], ends[index]);
    try {
      if (key === undefined) throw new Error(`no key in slot ${slots[index]}`);
      const signature = await crypto.subtle.sign("Ed25519", key, message as BufferSource);
      signatures.set(new Uint8Array(signature), index * SIGNATURE_BYTES);
    } catch (error) {
      errors.push([index, error instanceof Error ? error.message : String(error)]);
    }
  }
  const reply: SigningReply = { batch: request.batch, signatures, errors };
  scope.postMessage(reply, [signatures.buffer]);
};

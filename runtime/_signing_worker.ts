/**
 * The signing thread's worker: signs batches of messages with the keys the
 * main thread registered (`signing_thread.ts`). Keys arrive as opaque,
 * non-extractable `CryptoKey`s.
 *
 * @module
 */

/** A request from the main thread. */
export type SigningRequest =
  | { readonly type: "key"; readonly slot: number; readonly key: CryptoKey }
  | {
    readonly type: "sign";
    readonly batch: number;
    readonly slots: readonly number[];
    readonly messages: readonly Uint8Array[];
  };

/** The answer to one batch: a signature, or an error message, per message. */
export interface SigningReply {
  readonly batch: number;
  readonly signatures: readonly (Uint8Array | string)[];
}

const keys = new Map<number, CryptoKey>();
/** The worker's global scope (typed here to keep the main program's lib). */
const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<SigningRequest>) => void;
  postMessage(reply: SigningReply): void;
};

scope.onmessage = async (event: MessageEvent<SigningRequest>) => {
  const request = event.data;
  if (request.type === "key") return void keys.set(request.slot, request.key);
  const signatures: (Uint8Array | string)[] = [];
  for (let index = 0; index < request.messages.length; index++) {
    const key = keys.get(request.slots[index]);
    try {
      if (key === undefined) throw new Error(`no key in slot ${request.slots[index]}`);
      signatures.push(
        new Uint8Array(
          await crypto.subtle.sign("Ed25519", key, request.messages[index] as BufferSource),
        ),
      );
    } catch (error) {
      signatures.push(error instanceof Error ? error.message : String(error));
    }
  }
  const reply: SigningReply = { batch: request.batch, signatures };
  scope.postMessage(reply);
};

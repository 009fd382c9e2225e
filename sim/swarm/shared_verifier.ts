/**
 * Signature verification shared by the simulated nodes of one run. Every
 * node of a real swarm verifies every envelope it receives; in simulation
 * they all live in one process, so the result of verifying one (DID,
 * signature, bytes) triple is computed once — for real, with Ed25519 — and
 * handed to every other node that checks the same triple. A changed byte,
 * another signer or another signature is a different triple and is verified
 * afresh, so a forgery is still caught at every node. Nothing about the run
 * changes but its speed (the trace hash is the same with or without it).
 *
 * @module
 */

import { SignatureVerifier } from "../../protocols/identity/mod.ts";

/** Verdicts remembered; the memo is cleared when it reaches this size. */
const MEMO_MAX = 200_000;

interface Verdict {
  readonly did: string;
  readonly message: Uint8Array;
  readonly valid: Promise<boolean>;
}

/** A {@linkcode SignatureVerifier} that remembers verdicts by signature. */
export class SharedSignatureVerifier extends SignatureVerifier {
  readonly #memo = new Map<string, Verdict>();
  /** Verifications answered from the memo. */
  hits = 0;

  override verify(did: string, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
    const key = signatureKey(signature);
    const known = this.#memo.get(key);
    if (known !== undefined && known.did === did && sameBytes(known.message, message)) {
      this.hits++;
      return known.valid;
    }
    const valid = super.verify(did, signature, message);
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(key, { did, message: message.slice(), valid });
    return valid;
  }
}

function signatureKey(signature: Uint8Array): string {
  let key = "";
  for (let index = 0; index < signature.length; index++) {
    key += String.fromCharCode(signature[index]);
  }
  return key;
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

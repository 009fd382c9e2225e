// Shared fixtures for policy tests: the real Cedar engine, real Ed25519 keys.

import { readCedarWasm } from "../../runtime/cedar_wasm_file.ts";
import { type CedarRuntime, loadCedarRuntime } from "../../policies/cedar_runtime.ts";
import { CedarEngine } from "../../policies/cedar_engine.ts";
import type { CapsuleSigner, SignatureVerifier } from "../../policies/capsule.ts";
import type { EnvelopeView } from "../../policies/envelope_view.ts";
import type { PolicyParameters } from "../../policies/parameters.ts";
import { basePolicySources } from "../../policies/sources.ts";

let runtimePromise: Promise<CedarRuntime> | undefined;

/** The process's Cedar engine, loaded once from the installed package. */
export function cedarRuntime(): Promise<CedarRuntime> {
  runtimePromise ??= readCedarWasm().then(loadCedarRuntime);
  return runtimePromise;
}

/** A fresh engine over the base policy. */
export async function baseEngine(overrides: Partial<PolicyParameters> = {}): Promise<CedarEngine> {
  return await CedarEngine.load(await cedarRuntime(), basePolicySources(overrides));
}

export const SENDER = "did:key:z6MkSenderTestKey";
export const THREAD = "thread-1";

/** A view of a benign envelope of `kind`, with the payload facts its rules need. */
export function view(kind: string, extra: Partial<EnvelopeView> = {}): EnvelopeView {
  const payload: EnvelopeView["payload"] = kind === "COMMIT"
    ? { artifacts: 1, telemetry: { cost: 10, timeMs: 1_000, memoryBytes: 1_000_000 } }
    : kind === "PROPOSE" || kind === "CLAIM"
    ? { cost: 10 }
    : kind === "CHALLENGE"
    ? { proofType: "OUTPUT_MISMATCH" }
    : {};
  return {
    kind,
    sender: SENDER,
    thread: THREAD,
    payloadBytes: 100,
    epoch: 1,
    ...extra,
    payload: { ...payload, ...extra.payload },
  };
}

/** Real Ed25519 keys behind test DIDs (DID resolution is the envelope layer's job). */
export class TestKeys {
  readonly #keys = new Map<string, CryptoKeyPair>();

  /** A signer for a new key named `did`. */
  async signer(did: string): Promise<CapsuleSigner> {
    const pair = await crypto.subtle.generateKey("Ed25519", false, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    this.#keys.set(did, pair);
    return {
      did,
      sign: async (bytes) =>
        new Uint8Array(
          await crypto.subtle.sign("Ed25519", pair.privateKey, bytes as Uint8Array<ArrayBuffer>),
        ),
    };
  }

  /** Verifies against the key registered for the DID; unknown DIDs fail. */
  readonly verify: SignatureVerifier = async (did, bytes, signature) => {
    const pair = this.#keys.get(did);
    if (pair === undefined) return false;
    return await crypto.subtle.verify(
      "Ed25519",
      pair.publicKey,
      signature as Uint8Array<ArrayBuffer>,
      bytes as Uint8Array<ArrayBuffer>,
    );
  };
}

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Condition did not hold in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

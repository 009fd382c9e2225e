/**
 * Verifying envelopes at a node's ingress (DESIGN.md §4): every check, in
 * order of cost, each failure a typed {@linkcode EnvelopeError} with a
 * stable code, returned rather than thrown so a receiving actor can count
 * it and move on. Nothing a peer sends makes this throw.
 *
 * Order: decode (encoding, version, unknown fields, field types, lamport,
 * canonical form) → kind allowed → payload size → policy hash → sender key →
 * signature → nonce replay. The nonce is recorded only for envelopes whose
 * signature verified, so forgeries cannot poison the replay cache.
 *
 * @module
 */

import { IdentityError } from "../identity/errors.ts";
import { SignatureVerifier } from "../identity/identity.ts";
import { assert } from "../../runtime/errors.ts";
import { decodeEnvelope, PAYLOAD_MAX_BYTES_DEFAULT, sealEnvelope } from "./codec.ts";
import { ENVELOPE_ERROR_CODES, EnvelopeError } from "./errors.ts";
import type { ReplayCache } from "./replay_cache.ts";
import type { Envelope, SignedEnvelope } from "./types.ts";
import { ALL_VERBS } from "./verbs.ts";

/** What a receiver checks envelopes against. Every field is optional. */
export interface VerifyContext {
  /** Kinds this receiver accepts; default every protocol verb. */
  readonly allowedKinds?: ReadonlySet<string>;
  /** Inline payload cap; default 64 KiB. */
  readonly payloadMaxBytes?: number;
  /** Hash(es) of the policy capsule(s) this node runs; unchecked when absent. */
  readonly policy?: string | ReadonlySet<string>;
  /** Replay cache; when given, `nowNs` is required. */
  readonly replay?: ReplayCache;
  /** Receiver time for the replay window (`ctx.now()`). */
  readonly nowNs?: bigint;
  /** When set, the only sender accepted (e.g. the authenticated transport peer). */
  readonly expectedSender?: string;
  /** Signature verifier with its key cache; default one shared per process. */
  readonly verifier?: SignatureVerifier;
}

/** The outcome of {@linkcode verifyEnvelope}. */
export type VerifyResult =
  | { readonly ok: true; readonly envelope: SignedEnvelope }
  | { readonly ok: false; readonly error: EnvelopeError };

const SHARED_VERIFIER = new SignatureVerifier();
const DID_KEY_PREFIX = "did:key:";

/**
 * Verifies an envelope (bytes off the wire, or an envelope object) against
 * `context`.
 *
 * @example
 * ```ts
 * const result = await verifyEnvelope(bytes, { policy: capsuleHash, replay, nowNs: ctx.now() });
 * if (!result.ok) metrics.count(result.error.code);
 * ```
 */
export async function verifyEnvelope(
  input: Uint8Array | Envelope,
  context: VerifyContext = {},
): Promise<VerifyResult> {
  try {
    return { ok: true, envelope: await verifyOrThrow(input, context) };
  } catch (error) {
    if (error instanceof EnvelopeError) return { ok: false, error };
    return {
      ok: false,
      error: new EnvelopeError(
        ENVELOPE_ERROR_CODES.encoding,
        `Cannot accept envelope: unexpected failure while checking it (${
          error instanceof Error ? error.message : String(error)
        })`,
        { cause: error },
      ),
    };
  }
}

/** Like {@linkcode verifyEnvelope} but throws the {@linkcode EnvelopeError}. */
export async function verifyOrThrow(
  input: Uint8Array | Envelope,
  context: VerifyContext = {},
): Promise<SignedEnvelope> {
  const payloadMaxBytes = context.payloadMaxBytes ?? PAYLOAD_MAX_BYTES_DEFAULT;
  const envelope = input instanceof Uint8Array
    ? decodeEnvelope(input, { payloadMaxBytes })
    : sealEnvelope(input);
  checkReceiverRules(envelope, context, payloadMaxBytes);
  await checkSignature(envelope, context.verifier ?? SHARED_VERIFIER);
  if (context.replay !== undefined) {
    assert(context.nowNs !== undefined, "verifyEnvelope: a replay cache needs context.nowNs");
    if (!context.replay.checkAndRecord(envelope.sender, envelope.nonce, context.nowNs)) {
      throw new EnvelopeError(
        ENVELOPE_ERROR_CODES.replay,
        `Cannot accept envelope ${envelope.id}: nonce from ${envelope.sender} was already seen within the replay window`,
      );
    }
  }
  return envelope;
}

/**
 * The receiver's rules without the signature or the replay cache: kind
 * allowed, payload size, policy hash, sender. Throws {@linkcode EnvelopeError}.
 * Exposed for replays that batch the signature checks.
 */
export function checkReceiverRules(
  envelope: SignedEnvelope,
  context: VerifyContext,
  payloadMaxBytes: number = context.payloadMaxBytes ?? PAYLOAD_MAX_BYTES_DEFAULT,
): void {
  const allowedKinds = context.allowedKinds ?? ALL_VERBS;
  if (!allowedKinds.has(envelope.kind)) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.kind,
      `Cannot accept envelope: kind ${envelope.kind} is not allowed here (allowed: ${
        [...allowedKinds].join(", ")
      })`,
    );
  }
  if (envelope.payloadSize > payloadMaxBytes) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.payloadSize,
      `Cannot accept envelope: payload of ${envelope.payloadSize} bytes exceeds the ${payloadMaxBytes}-byte cap`,
    );
  }
  const policy = context.policy;
  if (
    policy !== undefined &&
    (typeof policy === "string" ? policy !== envelope.policy : !policy.has(envelope.policy))
  ) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.policy,
      `Cannot accept envelope: policy hash ${
        envelope.policy.slice(0, 80)
      } is not this node's capsule ${
        typeof policy === "string" ? policy.slice(0, 80) : `(one of ${policy.size})`
      }`,
    );
  }
  if (!envelope.sender.startsWith(DID_KEY_PREFIX)) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.senderKey,
      `Cannot accept envelope: sender must be an Ed25519 did:key, got '${
        envelope.sender.slice(0, 80)
      }'`,
    );
  }
  if (context.expectedSender !== undefined && context.expectedSender !== envelope.sender) {
    throw new EnvelopeError(
      ENVELOPE_ERROR_CODES.senderKey,
      `Cannot accept envelope: sender ${envelope.sender} is not the expected ${context.expectedSender}`,
    );
  }
}

/**
 * Checks the envelope's signature under its sender's key; throws
 * {@linkcode EnvelopeError} (`E_SIG_INVALID` or `E_SENDER_KEY_MISMATCH`).
 */
export function checkSignature(
  envelope: SignedEnvelope,
  verifier: SignatureVerifier = SHARED_VERIFIER,
): Promise<void> {
  let check: Promise<boolean>;
  try {
    check = verifier.verify(envelope.sender, envelope.sig, envelope.signingBytes);
  } catch (error) {
    return Promise.reject(senderKeyError(error));
  }
  return check.then(
    (valid) => {
      if (!valid) {
        throw new EnvelopeError(
          ENVELOPE_ERROR_CODES.signature,
          `Cannot accept envelope ${envelope.id}: signature does not verify under ${envelope.sender}`,
        );
      }
    },
    (error) => {
      throw senderKeyError(error);
    },
  );
}

/** Maps a DID problem to `E_SENDER_KEY_MISMATCH`; anything else passes through. */
function senderKeyError(error: unknown): unknown {
  if (!(error instanceof IdentityError)) return error;
  return new EnvelopeError(
    ENVELOPE_ERROR_CODES.senderKey,
    `Cannot accept envelope: sender key cannot be used (${error.message})`,
    { cause: error },
  );
}

/**
 * How the protocol uses a real network: what the libp2p transport of a
 * swarm node is told about the frames it carries.
 *
 * - **Message ids.** A shard-topic frame wraps one signed envelope
 *   (`{type:"envelope", bytes}`); its gossipsub message id is the
 *   envelope's CID, so gossipsub deduplicates by content: the same envelope
 *   is one message however many times and by whomever it is published.
 *   Other frames keep the content hash of the whole frame.
 * - **Ingress.** Every inbound frame is checked before delivery:
 *   shard-topic frames must carry a well-formed envelope of a thread of
 *   that shard with a valid signature, sync requests must be well formed,
 *   and the only direct frames allowed are sync requests and replies to
 *   the node core, the replies carrying only well-formed signed envelopes.
 *   Capsule offers must carry a well-formed capsule package.
 *   A failure is a rejection with the envelope error's code, so the peer
 *   that sent it is scored down and, past the threshold, banned; gossipsub
 *   does not forward it.
 * - **Verified once.** The validator and the core share one
 *   {@linkcode CachingSignatureVerifier}: the signature checked at ingress is
 *   not checked again when the core verifies the envelope (policy hash,
 *   replay window and lifecycle rules are still the core's).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { errorCode } from "../runtime/errors.ts";
import { decodeFrame } from "../runtime/transport/frame_codec.ts";
import type { IngressDecision, IngressValidator } from "../runtime/transport/ingress.ts";
import type { Frame } from "../runtime/transport/transport.ts";
import { WireRef, type WireValue } from "../runtime/wire.ts";
import {
  checkSignature,
  decodeEnvelope,
  envelopeCid,
  type SignedEnvelope,
} from "../protocols/envelope/mod.ts";
import { SignatureVerifier, type VerifyOffload } from "../protocols/identity/identity.ts";
import {
  shardTopic,
  SYNC_CHUNK_MAX,
  SYNC_HAVE_ID_MAX,
  SYNC_HAVE_MAX,
  SYNC_THREADS_MAX,
  SYNC_TOPIC,
} from "../actors/node_core.ts";
import { CAPSULE_TOPIC } from "../actors/capsule_distributor.ts";
import { decodeCapsulePackage } from "../policies/capsule.ts";
import { EvictionCursor } from "../runtime/eviction_cursor.ts";

/** Prefix of the shard topics the node core publishes envelopes on. */
const SHARD_PREFIX = "/swarm/shard/";

/**
 * The gossipsub message id of a frame: the envelope's CID bytes for an
 * envelope frame, else SHA-256 of the frame.
 *
 * @example
 * ```ts
 * const transport = await Libp2pTransport.start({ ...options, messageId: envelopeMessageId });
 * ```
 */
export function envelopeMessageId(data: Uint8Array): Uint8Array {
  const bytes = envelopeBytesOf(data);
  if (bytes !== undefined) return envelopeCid(bytes).bytes;
  return createHash("sha256").update(data).digest();
}

function envelopeBytesOf(data: Uint8Array): Uint8Array | undefined {
  try {
    const { frame } = decodeFrame(data);
    if (frame.kind !== "topic" || !frame.topic.startsWith(SHARD_PREFIX)) return undefined;
    const payload = frame.payload as { type?: unknown; bytes?: unknown } | null;
    return payload?.type === "envelope" && payload.bytes instanceof Uint8Array
      ? payload.bytes
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A {@linkcode SignatureVerifier} that remembers signatures it has seen
 * verify (by sender, signature and a hash of the signed bytes), so the
 * ingress validator and the core verify each envelope once between them.
 * Only good signatures are remembered; the memory is bounded (oldest first).
 */
export class CachingSignatureVerifier extends SignatureVerifier {
  readonly #verified = new Set<string>();
  readonly #verifiedOldest = new EvictionCursor(this.#verified);
  readonly #capacity: number;
  #hits = 0;

  /** @param offload where signatures are checked (default inline) */
  constructor(capacity = 65_536, offload?: VerifyOffload) {
    super(undefined, offload);
    this.#capacity = capacity;
  }

  override verify(did: string, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
    const key = createHash("sha256").update(did).update(signature).update(message).digest(
      "base64",
    );
    if (this.#verified.has(key)) {
      this.#hits++;
      return Promise.resolve(true);
    }
    return super.verify(did, signature, message).then((valid) => {
      if (valid) this.#remember(key);
      return valid;
    });
  }

  /** Verifications answered from memory. */
  get hits(): number {
    return this.#hits;
  }

  #remember(key: string): void {
    if (this.#verified.size >= this.#capacity) {
      this.#verifiedOldest.evict();
    }
    this.#verified.add(key);
  }
}

/**
 * The ingress validator of a swarm node: shard-topic frames must carry a
 * signed envelope, sync-topic frames a sync request, and the only direct
 * frames a peer may send are sync requests and replies to the node core
 * (at `corePath`).
 * Anything else a peer sends to this node's actors — an `emit` to the core,
 * say, which would make this node sign a peer's words — is rejected.
 */
export function swarmIngress(verifier: SignatureVerifier, corePath: string): IngressValidator {
  return (frame: Frame) => {
    if (frame.kind === "topic") {
      if (frame.topic.startsWith(SHARD_PREFIX)) return checkEnvelopeFrame(frame, verifier);
      if (frame.topic === SYNC_TOPIC) return checkSyncRequest(frame.payload);
      if (frame.topic === CAPSULE_TOPIC) return checkCapsuleOffer(frame.payload);
      return "ignore";
    }
    const payload = frame.payload;
    const type = isRecord(payload) ? payload.type : undefined;
    if (frame.to.path !== corePath || (type !== "sync-reply" && type !== "sync-request")) {
      return reject(
        "E_SWARM_FRAME",
        `Peers may send only sync requests and replies to ${corePath}, got a frame for ${
          frame.to.path.slice(0, 80)
        }`,
      );
    }
    return type === "sync-request" ? checkSyncRequest(payload) : checkSyncReply(payload, verifier);
  };
}

async function checkEnvelopeFrame(
  frame: Frame & { kind: "topic" },
  verifier: SignatureVerifier,
): Promise<IngressDecision> {
  const payload = frame.payload;
  if (
    !isRecord(payload) || payload.type !== "envelope" || !(payload.bytes instanceof Uint8Array) ||
    Object.keys(payload).length !== 2
  ) {
    return reject("E_SWARM_FRAME", `A frame on ${frame.topic} must be {type:"envelope", bytes}`);
  }
  const checked = await checkedEnvelope(payload.bytes, verifier);
  if (typeof checked !== "object" || "verdict" in checked) return checked;
  if (shardTopic(checked.thread) !== frame.topic) {
    return reject(
      "E_FRAME_MISROUTED",
      `Envelope of thread ${checked.thread.slice(0, 80)} came on ${frame.topic}`,
    );
  }
  return "accept";
}

function checkSyncRequest(payload: WireValue): IngressDecision {
  if (
    !isRecord(payload) || payload.type !== "sync-request" || !(payload.replyTo instanceof WireRef)
  ) {
    return reject("E_SYNC_REQUEST", 'A sync request must be {type:"sync-request", replyTo}');
  }
  const { threads, have, unheard } = payload;
  if (unheard !== undefined && typeof unheard !== "boolean") {
    return reject("E_SYNC_REQUEST", "Sync request unheard must be a boolean");
  }
  if (
    threads !== undefined &&
    (!Array.isArray(threads) || threads.length > SYNC_THREADS_MAX ||
      !threads.every((thread) => typeof thread === "string"))
  ) {
    return reject(
      "E_SYNC_REQUEST",
      `Sync request threads must be at most ${SYNC_THREADS_MAX} strings`,
    );
  }
  if (
    have !== undefined &&
    (!Array.isArray(have) || have.length > SYNC_HAVE_MAX ||
      !have.every((id) => typeof id === "string" && id.length <= SYNC_HAVE_ID_MAX))
  ) {
    return reject(
      "E_SYNC_REQUEST",
      `Sync request "have" must be at most ${SYNC_HAVE_MAX} envelope ids of at most ${SYNC_HAVE_ID_MAX} characters`,
    );
  }
  return "accept";
}

async function checkSyncReply(
  payload: WireValue,
  verifier: SignatureVerifier,
): Promise<IngressDecision> {
  const envelopes = isRecord(payload) ? payload.envelopes : undefined;
  if (!Array.isArray(envelopes) || envelopes.length > SYNC_CHUNK_MAX) {
    return reject(
      "E_SYNC_REPLY",
      `A sync reply must carry at most ${SYNC_CHUNK_MAX} envelopes`,
    );
  }
  const checks = await Promise.all(envelopes.map((bytes) => checkedEnvelope(bytes, verifier)));
  for (const checked of checks) {
    if (typeof checked !== "object" || "verdict" in checked) return checked;
  }
  return "accept";
}

/**
 * A capsule offer must be `{type:"capsule-offer", package}` with a
 * well-formed package; its author and signature are the distributor's to
 * check (it knows which authors this node trusts).
 */
function checkCapsuleOffer(payload: WireValue): IngressDecision {
  if (!isRecord(payload) || payload.type !== "capsule-offer") {
    return reject("E_CAPSULE_MALFORMED", 'A capsule offer must be {type:"capsule-offer", package}');
  }
  try {
    decodeCapsulePackage(payload.package);
  } catch (error) {
    return reject(errorCode(error), (error as Error).message);
  }
  return "accept";
}

/** Decodes an envelope and checks its signature; the envelope, or the rejection. */
async function checkedEnvelope(
  bytes: unknown,
  verifier: SignatureVerifier,
): Promise<SignedEnvelope | IngressDecision> {
  if (!(bytes instanceof Uint8Array)) return reject("E_ENV_ENCODING", "An envelope must be bytes");
  try {
    const envelope = decodeEnvelope(bytes);
    await checkSignature(envelope, verifier);
    return envelope;
  } catch (error) {
    return reject(errorCode(error), (error as Error).message);
  }
}

function reject(code: string, message: string): IngressDecision {
  return { verdict: "reject", code, message };
}

function isRecord(value: WireValue): value is { [key: string]: WireValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array) && !(value instanceof WireRef);
}

/**
 * The ingress hook of a network transport: every inbound frame passes one
 * validator before the actor system sees it. The transport already refuses
 * bytes that are not frames; the validator is where a node checks what the
 * frames say — signed envelopes are verified here, once per node (issue 3),
 * and a `reject` lowers the sending peer's score.
 *
 * @module
 */

import type { Frame } from "./transport.ts";

/** Gossipsub topic of node announcements (node id, PeerId, addresses). */
export const ANNOUNCE_TOPIC = "/swarm/nodes";

/** `accept` delivers and forwards, `ignore` drops silently, `reject` drops and penalises. */
export type IngressVerdict = "accept" | "ignore" | "reject";

/** Where an inbound frame came from. */
export interface IngressSource {
  /** PeerId of the connection it arrived on (for topic frames: the forwarding peer). */
  readonly peer: string;
  /** That peer's node id, when known. */
  readonly node: string | undefined;
}

/**
 * A rejection that says why: the `code` (e.g. `E_SIG_INVALID`) is what the
 * transport counts and scores the peer under, instead of the generic
 * `E_INGRESS_REJECTED`.
 */
export interface IngressRejection {
  readonly verdict: "reject";
  readonly code: string;
  readonly message: string;
}

/** What a validator answers: a verdict, or a rejection with its reason. */
export type IngressDecision = IngressVerdict | IngressRejection;

/** Decides whether an inbound frame is delivered. May be async (signature checks). */
export type IngressValidator = (
  frame: Frame,
  source: IngressSource,
) => IngressDecision | Promise<IngressDecision>;

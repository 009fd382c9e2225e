/**
 * `did:peer` for the same Ed25519 keys (DIF Peer DID Method):
 *
 * - numalgo 0, `did:peer:0z6Mk…`: the inception key itself, like did:key;
 * - numalgo 2, `did:peer:2.Vz6Mk…[.S…]`: purpose-tagged keys (V
 *   authentication, A assertion, I/D capability invocation/delegation) plus
 *   optional services as abbreviated base64url JSON.
 *
 * Only Ed25519 keys are accepted; a key-agreement (`E`) key, which would be
 * X25519, is refused as unsupported.
 *
 * @module
 */

import { base64UrlToBytes, bytesToBase64Url } from "./ed25519.ts";
import { checkDidString, ed25519Multibase, parseEd25519Multibase } from "./did_key.ts";
import type { DidDocument, DidService, VerificationMethod } from "./did_document.ts";
import { IDENTITY_ERROR_CODES, IdentityError } from "./errors.ts";

/** The did:peer method prefix. */
export const DID_PEER_PREFIX = "did:peer:";

/** Purposes of a did:peer:2 key, by prefix letter. */
export type PeerKeyPurpose = "V" | "A" | "I" | "D";

type Relationship =
  | "authentication"
  | "assertionMethod"
  | "capabilityInvocation"
  | "capabilityDelegation";

const PURPOSE_RELATIONSHIP: Record<PeerKeyPurpose, Relationship> = {
  V: "authentication",
  A: "assertionMethod",
  I: "capabilityInvocation",
  D: "capabilityDelegation",
};

/** A service in a did:peer:2, before abbreviation. */
export interface PeerService {
  readonly type: string;
  readonly serviceEndpoint: unknown;
  readonly [extra: string]: unknown;
}

/** Options of {@linkcode didPeer2FromPublicKey}. */
export interface DidPeer2Options {
  /** Services to embed (abbreviated as the spec says). */
  readonly services?: readonly PeerService[];
}

const ABBREVIATIONS: Record<string, string> = {
  type: "t",
  serviceEndpoint: "s",
  routingKeys: "r",
  accept: "a",
  DIDCommMessaging: "dm",
};
const EXPANSIONS: Record<string, string> = Object.fromEntries(
  Object.entries(ABBREVIATIONS).map(([long, short]) => [short, long]),
);

/** `did:peer:0…` for an Ed25519 public key. */
export function didPeer0FromPublicKey(publicKey: Uint8Array): string {
  return `${DID_PEER_PREFIX}0${ed25519Multibase(publicKey)}`;
}

/**
 * `did:peer:2.V…` for an Ed25519 public key used for authentication and
 * assertion, with optional services.
 *
 * @example
 * ```ts
 * didPeer2FromPublicKey(key, { services: [{ type: "DIDCommMessaging", serviceEndpoint: "http://127.0.0.1:8080" }] });
 * ```
 */
export function didPeer2FromPublicKey(publicKey: Uint8Array, options?: DidPeer2Options): string {
  const multibase = ed25519Multibase(publicKey);
  const parts = [`${DID_PEER_PREFIX}2`, `V${multibase}`, `A${multibase}`];
  for (const service of options?.services ?? []) {
    parts.push(
      `S${bytesToBase64Url(new TextEncoder().encode(JSON.stringify(abbreviate(service))))}`,
    );
  }
  return parts.join(".");
}

/** Resolves a did:peer (numalgo 0 or 2) to its DID document. */
export function resolveDidPeer(did: string): DidDocument {
  checkDidString(did);
  const numalgo = did.slice(DID_PEER_PREFIX.length, DID_PEER_PREFIX.length + 1);
  if (!did.startsWith(DID_PEER_PREFIX) || (numalgo !== "0" && numalgo !== "2")) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didUnsupported,
      `Only did:peer numalgo 0 and 2 are supported, got '${did.slice(0, 64)}'`,
    );
  }
  return numalgo === "0" ? resolveNumalgo0(did) : resolveNumalgo2(did);
}

/** The Ed25519 authentication key of a did:peer (the first `V` key for numalgo 2). */
export function publicKeyFromDidPeer(did: string): Uint8Array {
  const document = resolveDidPeer(did);
  const authentication = document.authentication?.[0];
  const method = document.verificationMethod.find((candidate) => candidate.id === authentication);
  if (method === undefined) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `did:peer '${did.slice(0, 64)}' has no authentication key`,
    );
  }
  return parseEd25519Multibase(method.publicKeyMultibase, `Cannot read '${did.slice(0, 64)}'`);
}

function resolveNumalgo0(did: string): DidDocument {
  const multibase = did.slice(DID_PEER_PREFIX.length + 1);
  parseEd25519Multibase(multibase, `Cannot read did:peer:0 '${did.slice(0, 96)}'`);
  const methodId = `${did}#${multibase}`;
  return {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    id: did,
    verificationMethod: [{
      id: methodId,
      type: "Multikey",
      controller: did,
      publicKeyMultibase: multibase,
    }],
    authentication: [methodId],
    assertionMethod: [methodId],
    capabilityInvocation: [methodId],
    capabilityDelegation: [methodId],
  };
}

function resolveNumalgo2(did: string): DidDocument {
  const elements = did.slice(DID_PEER_PREFIX.length + 1).split(".");
  if (elements[0] !== "" || elements.length < 2) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `A did:peer:2 must be '2.' followed by purpose-tagged elements, got '${did.slice(0, 96)}'`,
    );
  }
  const methods: VerificationMethod[] = [];
  const byMultibase = new Map<string, string>();
  const relationships: Partial<Record<Relationship, string[]>> = {};
  const services: DidService[] = [];
  for (const element of elements.slice(1)) {
    const purpose = element.slice(0, 1);
    const value = element.slice(1);
    if (purpose === "S") {
      services.push(expandService(value, services.length, did));
      continue;
    }
    if (purpose === "E") {
      throw new IdentityError(
        IDENTITY_ERROR_CODES.didUnsupported,
        `did:peer:2 key-agreement (E) keys are not supported, in '${did.slice(0, 96)}'`,
      );
    }
    const relationship = PURPOSE_RELATIONSHIP[purpose as PeerKeyPurpose];
    if (relationship === undefined) {
      throw new IdentityError(
        IDENTITY_ERROR_CODES.didInvalid,
        `did:peer:2 element has unknown purpose '${purpose}', in '${did.slice(0, 96)}'`,
      );
    }
    parseEd25519Multibase(value, `Cannot read did:peer:2 '${did.slice(0, 96)}'`);
    let methodId = byMultibase.get(value);
    if (methodId === undefined) {
      methodId = `#key-${methods.length + 1}`;
      byMultibase.set(value, methodId);
      methods.push({ id: methodId, type: "Multikey", controller: did, publicKeyMultibase: value });
    }
    (relationships[relationship] ??= []).push(methodId);
  }
  return {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    id: did,
    verificationMethod: methods,
    ...relationships,
    ...(services.length > 0 ? { service: services } : {}),
  };
}

function abbreviate(service: PeerService): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(service)) {
    const short = ABBREVIATIONS[key] ?? key;
    out[short] = key === "type" && typeof value === "string"
      ? ABBREVIATIONS[value] ?? value
      : value;
  }
  return out;
}

function expandService(encoded: string, index: number, did: string): DidService {
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(base64UrlToBytes(encoded)),
    );
  } catch {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `did:peer:2 service ${index + 1} is not base64url JSON, in '${did.slice(0, 96)}'`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `did:peer:2 service ${index + 1} must be a JSON object, in '${did.slice(0, 96)}'`,
    );
  }
  const expanded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const long = EXPANSIONS[key] ?? key;
    expanded[long] = long === "type" && typeof value === "string"
      ? EXPANSIONS[value] ?? value
      : value;
  }
  if (typeof expanded.type !== "string" || expanded.serviceEndpoint === undefined) {
    throw new IdentityError(
      IDENTITY_ERROR_CODES.didInvalid,
      `did:peer:2 service ${index + 1} needs a type and a serviceEndpoint, in '${
        did.slice(0, 96)
      }'`,
    );
  }
  const id = index === 0 ? "#service" : `#service-${index}`;
  return { ...expanded, id, type: expanded.type, serviceEndpoint: expanded.serviceEndpoint };
}

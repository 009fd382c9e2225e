/**
 * Identities of CAN Swarm: Ed25519 keys named by `did:key` (and `did:peer`),
 * DID resolution, deterministic simulation identities, and signed agent
 * manifests with a registry by DID and capability.
 *
 * @example
 * ```ts
 * import { Identity, SignatureVerifier } from "./protocols/identity/mod.ts";
 * const alice = await Identity.fromSeed(seed);
 * const sig = await alice.sign(bytes);
 * await new SignatureVerifier().verify(alice.did, sig, bytes); // true
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export {
  base64UrlToBytes,
  bytesToBase64Url,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  VERIFY_KEY_CACHE_MAX,
} from "./ed25519.ts";
export * from "./did_key.ts";
export * from "./did_peer.ts";
export * from "./did_document.ts";
export * from "./identity.ts";
export * from "./manifest.ts";
export * from "./manifest_registry.ts";

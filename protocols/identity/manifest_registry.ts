/**
 * The registry of verified agent manifests, indexed by agent DID and by
 * capability, so a planner can find who can do a task.
 *
 * Only manifests whose signature verifies get in. Per agent the highest
 * version wins; re-adding the same signed manifest is a no-op, and an equal
 * version with different content is refused (an agent must bump its version).
 * The registry is bounded: beyond `capacity` agents, new agents are refused.
 *
 * @module
 */

import { MANIFEST_ERROR_CODES, ManifestError } from "./errors.ts";
import type { SignatureVerifier } from "./identity.ts";
import { compareVersions, type SignedManifest, verifyManifest } from "./manifest.ts";

/** Default bound on the number of agents a registry holds. */
export const MANIFEST_REGISTRY_CAPACITY_DEFAULT = 100_000;

/** What {@linkcode ManifestRegistry.put} did. */
export type ManifestPutOutcome = "added" | "replaced" | "unchanged";

/** Options of {@linkcode ManifestRegistry}. */
export interface ManifestRegistryOptions {
  /** Most agents held; default {@linkcode MANIFEST_REGISTRY_CAPACITY_DEFAULT}. */
  readonly capacity?: number;
}

/** Verified manifests by DID and by capability. */
export class ManifestRegistry {
  readonly #verifier: SignatureVerifier;
  readonly #capacity: number;
  readonly #byDid = new Map<string, SignedManifest>();
  readonly #byCapability = new Map<string, Set<string>>();

  constructor(verifier: SignatureVerifier, options?: ManifestRegistryOptions) {
    const capacity = options?.capacity ?? MANIFEST_REGISTRY_CAPACITY_DEFAULT;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new ManifestError(
        MANIFEST_ERROR_CODES.invalid,
        `Manifest registry capacity must be a positive integer, got ${capacity}`,
      );
    }
    this.#verifier = verifier;
    this.#capacity = capacity;
  }

  /**
   * Verifies and stores `signed`; throws {@linkcode ManifestError} for a bad
   * signature, an older or conflicting version, or a full registry.
   *
   * @example
   * ```ts
   * await registry.put(await signManifest(manifest, identity)); // "added"
   * registry.byCapability("summarise:v1");
   * ```
   */
  async put(signed: SignedManifest): Promise<ManifestPutOutcome> {
    const manifest = await verifyManifest(signed, this.#verifier);
    const current = this.#byDid.get(manifest.agent);
    if (current !== undefined) {
      if (current.id === signed.id) return "unchanged";
      const order = compareVersions(manifest.version, current.manifest.version);
      if (order <= 0) {
        throw new ManifestError(
          MANIFEST_ERROR_CODES.stale,
          `Cannot register manifest ${manifest.version} of ${manifest.agent}: version ${current.manifest.version} is already registered${
            order === 0 ? " with different content" : ""
          }`,
        );
      }
      this.#unindex(current);
    } else if (this.#byDid.size >= this.#capacity) {
      throw new ManifestError(
        MANIFEST_ERROR_CODES.registryFull,
        `Cannot register ${manifest.agent}: the registry holds its maximum of ${this.#capacity} agents`,
      );
    }
    this.#byDid.set(manifest.agent, signed);
    for (const capability of manifest.capabilities) {
      let agents = this.#byCapability.get(capability);
      if (agents === undefined) this.#byCapability.set(capability, agents = new Set());
      agents.add(manifest.agent);
    }
    return current === undefined ? "added" : "replaced";
  }

  /** The manifest of `did`, if registered. */
  get(did: string): SignedManifest | undefined {
    return this.#byDid.get(did);
  }

  /** Manifests offering `capability`, ordered by agent DID (deterministic). */
  byCapability(capability: string): SignedManifest[] {
    const agents = [...(this.#byCapability.get(capability) ?? [])].sort();
    return agents.map((did) => this.#byDid.get(did) as SignedManifest);
  }

  /** Every capability offered by at least one agent, sorted. */
  capabilities(): string[] {
    return [...this.#byCapability.keys()].sort();
  }

  /** Forgets `did`; true when it was registered. */
  remove(did: string): boolean {
    const current = this.#byDid.get(did);
    if (current === undefined) return false;
    this.#unindex(current);
    this.#byDid.delete(did);
    return true;
  }

  /** Agents registered. */
  get size(): number {
    return this.#byDid.size;
  }

  #unindex(signed: SignedManifest): void {
    for (const capability of signed.manifest.capabilities) {
      const agents = this.#byCapability.get(capability);
      agents?.delete(signed.manifest.agent);
      if (agents?.size === 0) this.#byCapability.delete(capability);
    }
  }
}

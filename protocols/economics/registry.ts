/**
 * The participant registry: who is in the swarm's economy, with the
 * metadata that diversity caps and related-party rules need (organisation,
 * autonomous system, region, and the entity that links identities run by
 * the same operator) and each participant's genesis allocation.
 *
 * Entries come from configuration or from signed agent manifests
 * (`protocols/identity/manifest.ts`: `constraints.org`, `.asn`, `.region`,
 * `.entity`, and `stake.amount`). A DID without metadata is its own
 * organisation, AS, region and entity, so it never collides with anyone.
 *
 * @module
 */

import { SwarmError } from "../../runtime/errors.ts";
import type { AgentManifest } from "../identity/manifest.ts";
import { CREDITS_PARAM_MAX, type EconomicsParams } from "./params.ts";

/** One participant as configured. */
export interface ParticipantEntry {
  readonly did: string;
  readonly org?: string;
  readonly asn?: string;
  readonly region?: string;
  /** Identities with the same entity are linked (one operator). */
  readonly entity?: string;
  /** Credits minted at genesis; default the economics parameter. */
  readonly genesisBalance?: number;
  /** Credits of which are staked at genesis; default the economics parameter. */
  readonly genesisStake?: number;
}

/** A participant with every field resolved. */
export interface Participant {
  readonly did: string;
  readonly org: string;
  readonly asn: string;
  readonly region: string;
  readonly entity: string;
  readonly genesisBalance: number;
  readonly genesisStake: number;
}

/** Raised for an invalid registry entry. */
export class RegistryError extends SwarmError {
  constructor(message: string) {
    super("E_REGISTRY", message);
  }
}

/** Most participants one registry holds. */
export const REGISTRY_MAX = 100_000;
const LABEL_MAX = 256;
const ENTRY_FIELDS = new Set([
  "did",
  "org",
  "asn",
  "region",
  "entity",
  "genesisBalance",
  "genesisStake",
]);

/** Participants by DID. */
export class ParticipantRegistry {
  readonly #byDid = new Map<string, Participant>();

  private constructor(participants: readonly Participant[]) {
    for (const participant of participants) this.#byDid.set(participant.did, participant);
  }

  /**
   * Validates entries and fills defaults; throws {@linkcode RegistryError}
   * (`E_REGISTRY`) naming the bad entry.
   *
   * @example
   * ```ts
   * const registry = ParticipantRegistry.from([{ did, org: "acme", region: "eu" }], economics);
   * ```
   */
  static from(entries: readonly ParticipantEntry[], params: EconomicsParams): ParticipantRegistry {
    if (!Array.isArray(entries) || entries.length > REGISTRY_MAX) {
      throw new RegistryError(`Registry must be a list of at most ${REGISTRY_MAX} entries`);
    }
    const seen = new Set<string>();
    const participants = entries.map((entry, index) => {
      const participant = resolve(entry, index, params);
      if (seen.has(participant.did)) {
        throw new RegistryError(`Registry lists ${participant.did} twice`);
      }
      seen.add(participant.did);
      return participant;
    });
    return new ParticipantRegistry(participants);
  }

  /** Every registered participant, sorted by DID. */
  participants(): Participant[] {
    return [...this.#byDid.values()].sort((a, b) => (a.did < b.did ? -1 : a.did > b.did ? 1 : 0));
  }

  /** Whether `did` is registered. */
  has(did: string): boolean {
    return this.#byDid.has(did);
  }

  /** A participant's metadata; an unregistered DID is its own org, AS, region and entity. */
  meta(did: string): Participant {
    return this.#byDid.get(did) ?? {
      did,
      org: `org:${did}`,
      asn: `asn:${did}`,
      region: `region:${did}`,
      entity: did,
      genesisBalance: 0,
      genesisStake: 0,
    };
  }

  /**
   * Whether two parties are related: the same identity, the same
   * organisation, the same autonomous system, or linked identities (one
   * entity). Payouts between related parties are blocked.
   */
  related(left: string, right: string): boolean {
    if (left === right) return true;
    const a = this.meta(left);
    const b = this.meta(right);
    return a.org === b.org || a.asn === b.asn || a.entity === b.entity;
  }
}

/**
 * Registry entries from agent manifests: `constraints.org`, `.asn`,
 * `.region` and `.entity` give the metadata, `stake.amount` the genesis stake.
 */
export function entriesFromManifests(manifests: readonly AgentManifest[]): ParticipantEntry[] {
  return manifests.map((manifest) => {
    const label = (key: string) => {
      const value = manifest.constraints[key];
      return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
    };
    return {
      did: manifest.agent,
      org: label("org"),
      asn: label("asn"),
      region: label("region"),
      entity: label("entity"),
      genesisStake: manifest.stake.amount,
    };
  });
}

function resolve(entry: ParticipantEntry, index: number, params: EconomicsParams): Participant {
  if (typeof entry !== "object" || entry === null) {
    throw new RegistryError(`Registry entry ${index} must be an object`);
  }
  for (const key of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(key)) {
      throw new RegistryError(`Registry entry ${index} has an unknown field ${key}`);
    }
  }
  if (typeof entry.did !== "string" || !entry.did.startsWith("did:") || entry.did.length > 512) {
    throw new RegistryError(`Registry entry ${index} needs a did, got ${String(entry.did)}`);
  }
  const label = (key: "org" | "asn" | "region" | "entity", fallback: string) => {
    const value = entry[key];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || value.length === 0 || value.length > LABEL_MAX) {
      throw new RegistryError(
        `Registry entry ${entry.did} field ${key} must be a string of 1 to ${LABEL_MAX} characters`,
      );
    }
    return value;
  };
  const amount = (key: "genesisBalance" | "genesisStake", fallback: number) => {
    const value = entry[key] ?? fallback;
    if (
      typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > CREDITS_PARAM_MAX
    ) {
      throw new RegistryError(
        `Registry entry ${entry.did} field ${key} must be credits in [0, ${CREDITS_PARAM_MAX}], got ${
          String(value)
        }`,
      );
    }
    return value;
  };
  const genesisBalance = amount("genesisBalance", params.genesisBalance);
  const genesisStake = amount("genesisStake", Math.min(params.genesisStake, genesisBalance));
  if (genesisStake > genesisBalance) {
    throw new RegistryError(
      `Registry entry ${entry.did} stakes ${genesisStake} of a genesis balance of ${genesisBalance}`,
    );
  }
  return {
    did: entry.did,
    org: label("org", `org:${entry.did}`),
    asn: label("asn", `asn:${entry.did}`),
    region: label("region", `region:${entry.did}`),
    entity: label("entity", entry.did),
    genesisBalance,
    genesisStake,
  };
}

/**
 * Signed agent manifests: what an agent offers (capabilities, I/O schema,
 * price, latency, stake), signed by the agent's own DID so any node can
 * check it without trusting the one that relayed it.
 *
 * The signature is Ed25519 over the canonical DAG-CBOR bytes of the manifest;
 * the manifest's id is the CIDv1 of the signed form.
 *
 * @module
 */

import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { checkDidString } from "./did_key.ts";
import { publicKeyFromDid } from "./did_document.ts";
import { ED25519_SIGNATURE_BYTES } from "./ed25519.ts";
import { IdentityError, MANIFEST_ERROR_CODES, ManifestError } from "./errors.ts";
import type { Identity, SignatureVerifier } from "./identity.ts";

/** Format version of manifests. */
export const MANIFEST_VERSION = 1;
/** Largest encoded manifest accepted. */
export const MANIFEST_BYTES_MAX = 64 * 1024;
/** Most capabilities (and most tags) one manifest may list. */
export const MANIFEST_LIST_MAX = 64;

/** A JSON-like value that DAG-CBOR can carry (used for schemas and constraints). */
export type ManifestValue =
  | null
  | boolean
  | number
  | string
  | readonly ManifestValue[]
  | { readonly [key: string]: ManifestValue };

/** Stake backing an agent, in ledger units. */
export interface ManifestStake {
  /** Bonded stake. */
  readonly amount: number;
  /** Stake currently unbonding (not usable for selection). */
  readonly unbonding: number;
}

/** What an agent offers. */
export interface AgentManifest {
  readonly v: typeof MANIFEST_VERSION;
  /** The agent's DID; the manifest must be signed by this key. */
  readonly agent: string;
  /** Semantic version `MAJOR.MINOR.PATCH`; a registry keeps the highest. */
  readonly version: string;
  /** Capability names, e.g. `summarise:v1`. */
  readonly capabilities: readonly string[];
  /** JSON Schemas of the task input and output. */
  readonly ioSchema: { readonly input: ManifestValue; readonly output: ManifestValue };
  readonly tags: readonly string[];
  /** Free-form constraints, e.g. `{ regions: ["eu"], maxInputBytes: 65536 }`. */
  readonly constraints: { readonly [key: string]: ManifestValue };
  /** Asking price per task, in ledger units. */
  readonly pricePerTask: number;
  /** Average task latency the agent has observed, in milliseconds. */
  readonly latencyMsAverage: number;
  readonly stake: ManifestStake;
}

/** A manifest with its agent's signature and canonical bytes. */
export interface SignedManifest {
  readonly manifest: AgentManifest;
  readonly sig: Uint8Array;
  /** Canonical DAG-CBOR of `{ manifest, sig }`: what travels. */
  readonly bytes: Uint8Array;
  /** CIDv1 (dag-cbor, sha2-256) of `bytes`. */
  readonly id: string;
}

const FIELDS = [
  "v",
  "agent",
  "version",
  "capabilities",
  "ioSchema",
  "tags",
  "constraints",
  "pricePerTask",
  "latencyMsAverage",
  "stake",
];
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._/-]{0,127}$/;
const SEMVER_PATTERN = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
const VALUE_DEPTH_MAX = 32;

/**
 * Checks every field of a manifest and returns it typed; throws
 * {@linkcode ManifestError} (`E_MANIFEST_INVALID`) naming the bad field.
 */
export function checkManifest(value: unknown): AgentManifest {
  const record = requireRecord(value, "manifest");
  for (const key of Object.keys(record)) {
    if (!FIELDS.includes(key)) invalid(`has unknown field '${key.slice(0, 64)}'`);
  }
  if (record.v !== MANIFEST_VERSION) {
    invalid(`version field v must be ${MANIFEST_VERSION}, got ${describe(record.v)}`);
  }
  try {
    checkDidString(record.agent);
    publicKeyFromDid(record.agent);
  } catch (error) {
    invalid(`agent must be a did:key or did:peer, ${(error as Error).message}`);
  }
  if (typeof record.version !== "string" || !SEMVER_PATTERN.test(record.version)) {
    invalid(`version must be MAJOR.MINOR.PATCH, got ${describe(record.version)}`);
  }
  checkNames(record.capabilities, "capabilities", 1);
  checkNames(record.tags, "tags", 0);
  const io = requireRecord(record.ioSchema, "ioSchema");
  if (Object.keys(io).sort().join(",") !== "input,output") {
    invalid(`ioSchema must have exactly the fields input and output`);
  }
  checkValue(io.input, "ioSchema.input", 0);
  checkValue(io.output, "ioSchema.output", 0);
  checkValue(requireRecord(record.constraints, "constraints"), "constraints", 0);
  checkAmount(record.pricePerTask, "pricePerTask");
  checkAmount(record.latencyMsAverage, "latencyMsAverage");
  const stake = requireRecord(record.stake, "stake");
  if (Object.keys(stake).sort().join(",") !== "amount,unbonding") {
    invalid(`stake must have exactly the fields amount and unbonding`);
  }
  checkAmount(stake.amount, "stake.amount");
  checkAmount(stake.unbonding, "stake.unbonding");
  return record as unknown as AgentManifest;
}

/**
 * Signs a manifest with the agent's identity.
 *
 * @example
 * ```ts
 * const signed = await signManifest(manifest, agentIdentity);
 * registry.put(signed);
 * ```
 */
export async function signManifest(
  manifest: AgentManifest,
  identity: Identity,
): Promise<SignedManifest> {
  const checked = checkManifest(manifest);
  if (checked.agent !== identity.did) {
    invalid(`agent ${checked.agent} is not the signer ${identity.did}`);
  }
  const unsigned = encodeManifestBody(checked);
  const sig = await identity.sign(unsigned);
  return sealManifest(checked, sig);
}

/** Decodes a signed manifest from its bytes (does not verify the signature). */
export function decodeSignedManifest(bytes: Uint8Array): SignedManifest {
  if (!(bytes instanceof Uint8Array) || bytes.length > MANIFEST_BYTES_MAX) {
    invalid(`bytes must be a Uint8Array of at most ${MANIFEST_BYTES_MAX} bytes`);
  }
  let decoded: unknown;
  try {
    decoded = dagCbor.decode(bytes);
  } catch (error) {
    invalid(`is not valid DAG-CBOR: ${(error as Error).message}`);
  }
  const outer = requireRecord(decoded, "signed manifest");
  if (Object.keys(outer).sort().join(",") !== "manifest,sig") {
    invalid(`signed manifest must have exactly the fields manifest and sig`);
  }
  if (!(outer.sig instanceof Uint8Array) || outer.sig.length !== ED25519_SIGNATURE_BYTES) {
    invalid(`sig must be ${ED25519_SIGNATURE_BYTES} bytes`);
  }
  const sealed = sealManifest(checkManifest(outer.manifest), outer.sig);
  if (!equalBytes(sealed.bytes, bytes)) invalid(`is not in canonical DAG-CBOR form`);
  return sealed;
}

/**
 * Verifies a signed manifest's fields and signature; throws
 * {@linkcode ManifestError} with `E_MANIFEST_INVALID` or `E_MANIFEST_SIG_INVALID`.
 */
export async function verifyManifest(
  signed: SignedManifest,
  verifier: SignatureVerifier,
): Promise<AgentManifest> {
  const manifest = checkManifest(signed.manifest);
  let valid = false;
  try {
    valid = await verifier.verify(manifest.agent, signed.sig, encodeManifestBody(manifest));
  } catch (error) {
    if (!(error instanceof IdentityError)) throw error;
  }
  if (!valid) {
    throw new ManifestError(
      MANIFEST_ERROR_CODES.signatureInvalid,
      `Manifest of ${manifest.agent} version ${manifest.version}: signature does not verify`,
    );
  }
  return manifest;
}

/** Compares two `MAJOR.MINOR.PATCH` versions: negative, zero or positive. */
export function compareVersions(left: string, right: string): number {
  const a = left.split(".").map(Number);
  const b = right.split(".").map(Number);
  for (let index = 0; index < 3; index++) {
    if (a[index] !== b[index]) return a[index] - b[index];
  }
  return 0;
}

function encodeManifestBody(manifest: AgentManifest): Uint8Array {
  const bytes = dagCbor.encode(manifest);
  if (bytes.length > MANIFEST_BYTES_MAX) {
    invalid(`encodes to ${bytes.length} bytes, more than ${MANIFEST_BYTES_MAX}`);
  }
  return bytes;
}

function sealManifest(manifest: AgentManifest, sig: Uint8Array): SignedManifest {
  const bytes = dagCbor.encode({ manifest, sig });
  const id = CID.createV1(dagCbor.code, sha256.digest(bytes) as never).toString();
  return Object.freeze({ manifest, sig, bytes, id });
}

function checkNames(value: unknown, field: string, minimum: number): void {
  if (!Array.isArray(value) || value.length < minimum || value.length > MANIFEST_LIST_MAX) {
    invalid(`${field} must be a list of ${minimum} to ${MANIFEST_LIST_MAX} names`);
  }
  const seen = new Set<string>();
  for (const name of value) {
    if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
      invalid(`${field} entry must match ${NAME_PATTERN}, got ${describe(name)}`);
    }
    if (seen.has(name)) invalid(`${field} lists '${name}' twice`);
    seen.add(name);
  }
}

function checkAmount(value: unknown, field: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    invalid(`${field} must be a finite number >= 0, got ${describe(value)}`);
  }
}

function checkValue(value: unknown, path: string, depth: number): void {
  if (depth > VALUE_DEPTH_MAX) invalid(`${path} nests deeper than ${VALUE_DEPTH_MAX} levels`);
  if (value === null || typeof value === "boolean" || typeof value === "string") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) invalid(`${path} must be finite, got ${value}`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkValue(item, `${path}[${index}]`, depth + 1));
    return;
  }
  const record = requireRecord(value, path);
  for (const [key, item] of Object.entries(record)) checkValue(item, `${path}.${key}`, depth + 1);
}

function requireRecord(value: unknown, path: string): Record<string, unknown> {
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
  ) {
    invalid(`${path} must be a plain object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function invalid(detail: string): never {
  throw new ManifestError(MANIFEST_ERROR_CODES.invalid, `Invalid agent manifest: ${detail}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return `'${value.slice(0, 64)}'`;
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

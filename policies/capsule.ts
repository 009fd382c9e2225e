/**
 * Policy capsules: the signed statement "this engine, this policy text and
 * this schema pass these conformance tests", by an author DID. A capsule is
 * identified by the hash of its body; envelopes name that hash in their
 * `policy` field. A capsule travels as a {@linkcode CapsulePackage}, which
 * also carries the policy and schema texts so a receiver can load it.
 *
 * A node installs a received capsule only when the author is trusted, the
 * signature verifies, the texts match their hashes, the engine is the one
 * this node runs, the policy loads, and the conformance suite passes on
 * this node ({@linkcode verifyCapsule}).
 *
 * @module
 */

import type { CedarRuntime } from "./cedar_runtime.ts";
import { CedarEngine } from "./cedar_engine.ts";
import {
  BASE_CONFORMANCE_SUITE,
  type ConformanceReport,
  type ConformanceSuite,
  runConformance,
} from "./conformance.ts";
import type { PolicyEngine, PolicyEngineOptions } from "./engine.ts";
import { CapsuleError, PolicyLoadError, short } from "./errors.ts";
import { canonicalJson, isSha256Hex, sha256Hex } from "./hash.ts";
import { describe } from "./request.ts";

/** Format version of capsule bodies. */
export const CAPSULE_VERSION = 1;

/** What a capsule states; its canonical form is hashed and signed. */
export interface CapsuleBody {
  readonly v: typeof CAPSULE_VERSION;
  /** Engine family, `cedar`. */
  readonly engine: string;
  /** SHA-256 of the engine binary. */
  readonly engineHash: string;
  /** SHA-256 of the policy text. */
  readonly policyTextHash: string;
  /** SHA-256 of the schema text. */
  readonly schemaHash: string;
  readonly schemaVersion: string;
  /** The engine's policy hash (reported in every decision). */
  readonly policyHash: string;
  /** Ids of the conformance vectors the author ran and passed, sorted. */
  readonly conformance: readonly string[];
  /** First epoch in which this capsule may be in force. */
  readonly activationEpoch: number;
  /** The author's DID. */
  readonly author: string;
}

/** A capsule and what it takes to load it. */
export interface CapsulePackage {
  readonly body: CapsuleBody;
  /** The author's signature over {@linkcode capsuleSigningBytes}. */
  readonly signature: Uint8Array;
  readonly policyText: string;
  readonly schemaText: string;
}

/** Signs capsule bodies as their author. */
export interface CapsuleSigner {
  /** The author's DID. */
  readonly did: string;
  sign(bytes: Uint8Array): Promise<Uint8Array>;
}

/** Checks a signature by `did` over `bytes` (resolving the DID is the caller's business). */
export type SignatureVerifier = (
  did: string,
  bytes: Uint8Array,
  signature: Uint8Array,
) => Promise<boolean>;

/** A verified, loaded capsule, ready to be put in force. */
export interface InstalledCapsule {
  /** Hash of the capsule body. */
  readonly hash: string;
  readonly body: CapsuleBody;
  readonly engine: PolicyEngine;
  /** The conformance run on this node. */
  readonly conformance: ConformanceReport;
}

const SIGNING_DOMAIN = "can-swarm/capsule/v1\n";
const TEXT_BYTES_MAX = 256 * 1024;
const SIGNATURE_BYTES_MAX = 512;

/** The bytes an author signs: a domain label and the canonical body. */
export function capsuleSigningBytes(body: CapsuleBody): Uint8Array {
  return new TextEncoder().encode(SIGNING_DOMAIN + canonicalJson(bodyValue(body)));
}

/** The capsule hash: SHA-256 of the canonical body. */
export function capsuleHash(body: CapsuleBody): Promise<string> {
  return sha256Hex(canonicalJson(bodyValue(body)));
}

/** Options of {@linkcode createCapsule}. */
export interface CreateCapsuleOptions {
  readonly signer: CapsuleSigner;
  /** First epoch the capsule may be in force. Default 0. */
  readonly activationEpoch?: number;
  /** The suite to pass. Default: the shipped suite. */
  readonly suite?: ConformanceSuite;
}

/**
 * Runs the conformance suite on `engine` and, if every vector passes, signs
 * a capsule for it. Throws `E_CAPSULE_CONFORMANCE` otherwise: an author
 * cannot sign a policy that fails the suite by accident.
 *
 * @example
 * ```ts
 * const pkg = await createCapsule(engine, { signer, activationEpoch: 7 });
 * ```
 */
export async function createCapsule(
  engine: PolicyEngine,
  options: CreateCapsuleOptions,
): Promise<CapsulePackage> {
  const report = runConformance(engine, options.suite ?? BASE_CONFORMANCE_SUITE);
  if (report.failed.length > 0) throw conformanceError(report);
  const body = bodyOf(engine, report, options.activationEpoch ?? 0, options.signer.did);
  return await signCapsule(body, engine.sources, options.signer);
}

/** The author named by genesis capsules. */
export const GENESIS_AUTHOR = "genesis";

/**
 * The capsule a node starts with: the policy it ships with, on its engine,
 * in force from epoch 0. It is installed locally, never received, so it
 * needs no signature; every node with the same engine, policy and suite
 * computes the same body and so the same hash. Throws
 * `E_CAPSULE_CONFORMANCE` when the engine fails the suite.
 *
 * @example
 * ```ts
 * const registry = new CapsuleRegistry(await genesisCapsule(engine));
 * ```
 */
export async function genesisCapsule(
  engine: PolicyEngine,
  suite: ConformanceSuite = BASE_CONFORMANCE_SUITE,
): Promise<InstalledCapsule> {
  const conformance = runConformance(engine, suite);
  if (conformance.failed.length > 0) throw conformanceError(conformance);
  const body = bodyOf(engine, conformance, 0, GENESIS_AUTHOR);
  return { hash: await capsuleHash(body), body, engine, conformance };
}

function bodyOf(
  engine: PolicyEngine,
  report: ConformanceReport,
  activationEpoch: number,
  author: string,
): CapsuleBody {
  return {
    v: CAPSULE_VERSION,
    engine: engine.engineName,
    engineHash: engine.engineHash,
    policyTextHash: engine.policyTextHash,
    schemaHash: engine.schemaHash,
    schemaVersion: engine.sources.schemaVersion,
    policyHash: engine.policyHash,
    conformance: report.passed,
    activationEpoch,
    author,
  };
}

/** Signs `body` as is (no conformance run); for tools and tests that build bodies by hand. */
export async function signCapsule(
  body: CapsuleBody,
  texts: { readonly policyText: string; readonly schemaText: string },
  signer: CapsuleSigner,
): Promise<CapsulePackage> {
  checkBody(body);
  if (signer.did !== body.author) {
    throw new CapsuleError(
      "E_CAPSULE_AUTHOR",
      `Capsule author ${body.author} cannot be signed by ${signer.did}`,
    );
  }
  const signature = await signer.sign(capsuleSigningBytes(body));
  return { body, signature, policyText: texts.policyText, schemaText: texts.schemaText };
}

/** Options of {@linkcode verifyCapsule}. */
export interface VerifyCapsuleOptions {
  /** The engine this node runs. */
  readonly runtime: CedarRuntime;
  readonly verify: SignatureVerifier;
  /** DIDs allowed to author capsules. */
  readonly trustedAuthors: ReadonlySet<string>;
  /** This node's suite. Default: the shipped suite. */
  readonly suite?: ConformanceSuite;
  /** Options for loading the engine (clock, limits). */
  readonly engine?: PolicyEngineOptions;
}

/**
 * Verifies a received package and loads it; throws {@linkcode CapsuleError}
 * naming what failed. The checks run cheapest first.
 */
export async function verifyCapsule(
  value: unknown,
  options: VerifyCapsuleOptions,
): Promise<InstalledCapsule> {
  const pkg = decodeCapsulePackage(value);
  const { body } = pkg;
  if (!options.trustedAuthors.has(body.author)) {
    throw new CapsuleError("E_CAPSULE_AUTHOR", `Capsule author ${body.author} is not trusted`);
  }
  const signed = await options.verify(body.author, capsuleSigningBytes(body), pkg.signature);
  if (signed !== true) {
    throw new CapsuleError(
      "E_CAPSULE_SIGNATURE",
      `Capsule signature does not verify for author ${body.author}`,
    );
  }
  await checkTexts(pkg);
  if (body.engineHash !== options.runtime.engineHash || body.engine !== "cedar") {
    throw new CapsuleError(
      "E_CAPSULE_ENGINE",
      `Capsule needs engine ${body.engine} ${short(body.engineHash)}, this node runs cedar ${
        short(options.runtime.engineHash)
      }`,
    );
  }
  const engine = await loadCapsuleEngine(pkg, options);
  const conformance = runConformance(engine, options.suite ?? BASE_CONFORMANCE_SUITE);
  checkConformance(body, conformance);
  return { hash: await capsuleHash(body), body, engine, conformance };
}

async function checkTexts(pkg: CapsulePackage): Promise<void> {
  const policyTextHash = await sha256Hex(pkg.policyText);
  const schemaHash = await sha256Hex(pkg.schemaText);
  if (policyTextHash !== pkg.body.policyTextHash || schemaHash !== pkg.body.schemaHash) {
    throw new CapsuleError(
      "E_CAPSULE_TAMPERED",
      `Capsule texts do not match the signed hashes (policy ${short(policyTextHash)} vs ${
        short(pkg.body.policyTextHash)
      }, schema ${short(schemaHash)} vs ${short(pkg.body.schemaHash)})`,
    );
  }
}

async function loadCapsuleEngine(
  pkg: CapsulePackage,
  options: VerifyCapsuleOptions,
): Promise<PolicyEngine> {
  let engine: CedarEngine;
  try {
    engine = await CedarEngine.load(options.runtime, {
      policyText: pkg.policyText,
      schemaText: pkg.schemaText,
      schemaVersion: pkg.body.schemaVersion,
    }, options.engine);
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    throw new CapsuleError(
      "E_CAPSULE_POLICY",
      `Capsule policy does not load: ${error.message}`,
      error.diagnostics,
      { cause: error },
    );
  }
  if (engine.policyHash !== pkg.body.policyHash) {
    throw new CapsuleError(
      "E_CAPSULE_TAMPERED",
      `Capsule policy hash ${short(pkg.body.policyHash)} differs from the loaded ${
        short(engine.policyHash)
      }`,
    );
  }
  return engine;
}

function checkConformance(body: CapsuleBody, report: ConformanceReport): void {
  if (report.failed.length > 0) throw conformanceError(report);
  const passed = new Set(report.passed);
  const unproven = body.conformance.filter((id) => !passed.has(id));
  if (unproven.length > 0) {
    throw new CapsuleError(
      "E_CAPSULE_CONFORMANCE",
      `Capsule claims conformance vectors this node does not have: ${unproven.join(", ")}`,
    );
  }
}

function conformanceError(report: ConformanceReport): CapsuleError {
  const failures = report.failed.map((f) => `${f.id} (expected ${f.expected}, got ${f.got})`);
  return new CapsuleError(
    "E_CAPSULE_CONFORMANCE",
    `Policy fails ${report.failed.length} conformance vector(s): ${failures.join(", ")}`,
  );
}

/**
 * Checks the shape of a package received from a peer; throws
 * `E_CAPSULE_MALFORMED` naming the first bad field.
 */
export function decodeCapsulePackage(value: unknown): CapsulePackage {
  const pkg = value as Partial<CapsulePackage>;
  if (typeof pkg !== "object" || pkg === null) {
    throw malformed(`Capsule package must be an object, got ${describe(value)}`);
  }
  if (!(pkg.signature instanceof Uint8Array) || pkg.signature.length > SIGNATURE_BYTES_MAX) {
    throw malformed(`Capsule signature must be at most ${SIGNATURE_BYTES_MAX} bytes`);
  }
  for (const field of ["policyText", "schemaText"] as const) {
    const text = pkg[field];
    if (typeof text !== "string" || text.length > TEXT_BYTES_MAX) {
      throw malformed(`Capsule ${field} must be a string of at most ${TEXT_BYTES_MAX} characters`);
    }
  }
  checkBody(pkg.body);
  return pkg as CapsulePackage;
}

function checkBody(body: unknown): asserts body is CapsuleBody {
  const b = body as Record<string, unknown>;
  if (typeof b !== "object" || b === null) throw malformed("Capsule body must be an object");
  if (b.v !== CAPSULE_VERSION) throw malformed(`Capsule version must be 1, got ${describe(b.v)}`);
  for (const field of ["engineHash", "policyTextHash", "schemaHash", "policyHash"]) {
    if (!isSha256Hex(b[field])) {
      throw malformed(`Capsule ${field} must be a SHA-256 in hex, got ${describe(b[field])}`);
    }
  }
  for (const field of ["engine", "schemaVersion", "author"]) {
    const text = b[field];
    if (typeof text !== "string" || text.length === 0 || text.length > 512) {
      throw malformed(`Capsule ${field} must be a non-empty string, got ${describe(text)}`);
    }
  }
  const epoch = b.activationEpoch;
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 0) {
    throw malformed(`Capsule activationEpoch must be an integer >= 0, got ${describe(epoch)}`);
  }
  const ids = b.conformance;
  if (
    !Array.isArray(ids) || ids.length > 1_024 ||
    !ids.every((id) => typeof id === "string" && id.length <= 64)
  ) {
    throw malformed("Capsule conformance must be an array of at most 1,024 vector ids");
  }
  const keys = Object.keys(b).sort().join(",");
  const expected = Object.keys(bodyValue(b as unknown as CapsuleBody)).sort().join(",");
  if (keys !== expected) {
    throw malformed(`Capsule body has fields [${keys}], expected [${expected}]`);
  }
}

function bodyValue(body: CapsuleBody) {
  return {
    v: body.v,
    engine: body.engine,
    engineHash: body.engineHash,
    policyTextHash: body.policyTextHash,
    schemaHash: body.schemaHash,
    schemaVersion: body.schemaVersion,
    policyHash: body.policyHash,
    conformance: [...body.conformance],
    activationEpoch: body.activationEpoch,
    author: body.author,
  };
}

function malformed(message: string): CapsuleError {
  return new CapsuleError("E_CAPSULE_MALFORMED", message);
}

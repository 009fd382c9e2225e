/**
 * Capsule packages as JSON, for files and HTTP: the body and texts as they
 * are, the signature in base64. Decoding checks the shape like a package
 * received from a peer (`E_CAPSULE_MALFORMED`); it verifies nothing else.
 *
 * @module
 */

import { type CapsulePackage, decodeCapsulePackage } from "./capsule.ts";
import { CapsuleError } from "./errors.ts";

/** A capsule package in JSON form. */
export interface CapsulePackageJson {
  readonly body: CapsulePackage["body"];
  /** The author's signature, base64. */
  readonly signature: string;
  readonly policyText: string;
  readonly schemaText: string;
}

/** The JSON form of a package. */
export function capsuleToJson(pkg: CapsulePackage): CapsulePackageJson {
  return {
    body: pkg.body,
    signature: btoa(String.fromCharCode(...pkg.signature)),
    policyText: pkg.policyText,
    schemaText: pkg.schemaText,
  };
}

/**
 * A package from its JSON form (a parsed value); throws
 * `E_CAPSULE_MALFORMED` naming what is wrong.
 *
 * @example
 * ```ts
 * const pkg = capsuleFromJson(JSON.parse(await Deno.readTextFile("capsule.json")));
 * ```
 */
export function capsuleFromJson(value: unknown): CapsulePackage {
  const json = value as Partial<CapsulePackageJson> | null;
  if (typeof json !== "object" || json === null || typeof json.signature !== "string") {
    throw new CapsuleError(
      "E_CAPSULE_MALFORMED",
      "Capsule JSON must be an object with a base64 signature",
    );
  }
  let signature: Uint8Array;
  try {
    signature = Uint8Array.from(atob(json.signature), (char) => char.charCodeAt(0));
  } catch {
    throw new CapsuleError("E_CAPSULE_MALFORMED", "Capsule signature is not base64");
  }
  return decodeCapsulePackage({ ...json, signature });
}

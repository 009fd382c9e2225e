/**
 * The Cedar WebAssembly engine, instantiated from bytes the caller supplies
 * (read by `runtime/cedar_wasm_file.ts`), so the engine hash is the SHA-256
 * of exactly the bytes that run. The web build of `@cedar-policy/cedar-wasm`
 * keeps one instance per process; offering different bytes after the first
 * load is refused rather than silently ignored.
 *
 * @module
 */

import * as cedar from "@cedar-policy/cedar-wasm/web";
import { PolicyEngineError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";

/** The Cedar functions CAN Swarm uses. */
export type CedarApi = Pick<
  typeof cedar,
  | "checkParsePolicySet"
  | "checkParseSchema"
  | "policySetTextToParts"
  | "policyToJson"
  | "validate"
  | "preparsePolicySet"
  | "statefulIsAuthorized"
  | "isAuthorized"
  | "getCedarVersion"
>;

/** A ready Cedar engine. */
export interface CedarRuntime {
  /** SHA-256 of the wasm bytes, lowercase hex. */
  readonly engineHash: string;
  /** Cedar's version string, e.g. `4.13.0`. */
  readonly cedarVersion: string;
  /** The engine's functions. */
  readonly api: CedarApi;
}

let loaded: CedarRuntime | undefined;

/**
 * Instantiates Cedar from `wasmBytes` (once per process) and returns it with
 * its hash. Throws `E_POLICY_ENGINE` for bytes that are not the Cedar module
 * and `E_POLICY_ENGINE_MISMATCH` for bytes other than the ones already loaded.
 *
 * @example
 * ```ts
 * const runtime = await loadCedarRuntime(await readCedarWasm());
 * ```
 */
export async function loadCedarRuntime(wasmBytes: Uint8Array): Promise<CedarRuntime> {
  if (!(wasmBytes instanceof Uint8Array) || wasmBytes.length === 0) {
    throw new PolicyEngineError(
      "E_POLICY_ENGINE",
      "Cedar engine bytes must be a non-empty Uint8Array",
    );
  }
  const engineHash = await sha256Hex(wasmBytes);
  if (loaded !== undefined) {
    if (loaded.engineHash === engineHash) return loaded;
    throw new PolicyEngineError(
      "E_POLICY_ENGINE_MISMATCH",
      `Cedar engine ${engineHash.slice(0, 12)}… offered, but ${
        loaded.engineHash.slice(0, 12)
      }… is already loaded in this process`,
    );
  }
  try {
    cedar.initSync({ module: wasmBytes as Uint8Array<ArrayBuffer> });
  } catch (error) {
    throw new PolicyEngineError(
      "E_POLICY_ENGINE",
      `Cannot instantiate the Cedar engine from ${wasmBytes.length} bytes: ${String(error)}`,
    );
  }
  loaded = { engineHash, cedarVersion: cedar.getCedarVersion(), api: cedar };
  return loaded;
}

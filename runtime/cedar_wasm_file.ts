/**
 * Reads the Cedar WebAssembly engine from the installed npm package. This is
 * file I/O, so it lives in the runtime; the policy layer receives the bytes
 * and hashes exactly what it instantiates.
 *
 * @module
 */

import { SwarmError } from "./errors.ts";

/** Raised when the Cedar engine binary cannot be read (code `E_CEDAR_WASM_READ`). */
export class CedarWasmReadError extends SwarmError {
  constructor(message: string, options?: ErrorOptions) {
    super("E_CEDAR_WASM_READ", message, options);
  }
}

/** Where the web build of `@cedar-policy/cedar-wasm` keeps its engine, as a file URL. */
export function cedarWasmUrl(): URL {
  const entry = import.meta.resolve("@cedar-policy/cedar-wasm/web");
  if (!entry.startsWith("file:")) {
    throw new CedarWasmReadError(
      `Cannot locate the Cedar engine: @cedar-policy/cedar-wasm/web resolves to ${entry}, not a file`,
    );
  }
  return new URL("./cedar_wasm_bg.wasm", entry);
}

/**
 * Reads the Cedar engine bytes, from `path` when given (e.g. a vendored
 * copy), else from the installed package.
 *
 * @example
 * ```ts
 * const runtime = await loadCedarRuntime(await readCedarWasm());
 * ```
 */
export async function readCedarWasm(path?: string | URL): Promise<Uint8Array> {
  const location = path ?? cedarWasmUrl();
  try {
    return await Deno.readFile(location);
  } catch (error) {
    throw new CedarWasmReadError(
      `Cannot read the Cedar engine at ${String(location)}: ${String(error)}`,
      { cause: error },
    );
  }
}

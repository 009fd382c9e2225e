/**
 * Secret seed files in a node's data directory, readable by the owner only
 * (mode 0600), like SSH private keys: a file that others can read is
 * refused rather than used, because its key may already be known.
 *
 * The file is JSON `{"v":1,"type":"ed25519-seed","seed":"<base64url>"}`
 * plus an optional `label` (the DID, for people reading the directory). It
 * is written to a temporary file, made durable and renamed into place, so a
 * crash never leaves a half-written key.
 *
 * @module
 */

import { SwarmError } from "../errors.ts";

/** Stable codes of {@linkcode KeyFileError}. */
export const KEY_FILE_ERROR_CODES = {
  /** The file is readable or writable by group or others. */
  permissions: "E_KEY_FILE_PERMISSIONS",
  /** The file is not a seed file of the expected shape. */
  invalid: "E_KEY_FILE_INVALID",
  /** Two key files of one node hold different keys. */
  conflict: "E_KEY_FILE_CONFLICT",
} as const;

/** Raised for unsafe or unreadable key files. */
export class KeyFileError extends SwarmError {}

/** A loaded (or freshly created) seed. */
export interface SeedFile {
  readonly path: string;
  readonly seed: Uint8Array;
  /** True when this call created the file. */
  readonly created: boolean;
  readonly label?: string;
}

/** Options of {@linkcode loadOrCreateSeedFile}. */
export interface SeedFileOptions {
  /** Seed length in bytes; default 32. */
  readonly seedBytes?: number;
  /** Makes the label stored with a new seed (e.g. its DID). */
  readonly label?: (seed: Uint8Array) => Promise<string> | string;
}

/**
 * Loads the seed at `path`, or creates one from the system CSPRNG.
 *
 * @example
 * ```ts
 * const { seed, created } = await loadOrCreateSeedFile("./data/node-1/identity.key");
 * ```
 */
export async function loadOrCreateSeedFile(
  path: string,
  options?: SeedFileOptions,
): Promise<SeedFile> {
  const seedBytes = options?.seedBytes ?? 32;
  const existing = await loadSeedFile(path, seedBytes);
  if (existing !== undefined) return existing;
  const seed = crypto.getRandomValues(new Uint8Array(seedBytes));
  const label = options?.label === undefined ? undefined : await options.label(seed);
  return await writeSeedFile(path, seed, label);
}

/**
 * Writes `seed` (with an optional `label`) to a new seed file at `path`,
 * mode 0600, durably; when another process created the file first, theirs
 * is loaded and returned instead.
 */
export async function writeSeedFile(
  path: string,
  seed: Uint8Array,
  label?: string,
): Promise<SeedFile> {
  const text = JSON.stringify({ v: 1, type: "ed25519-seed", seed: toBase64Url(seed), label }) +
    "\n";
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o600 });
  try {
    // `mode` is filtered by the umask; set it exactly (a no-op on Windows).
    if (Deno.build.os !== "windows") await Deno.chmod(temporary, 0o600);
    await file.write(new TextEncoder().encode(text));
    await file.syncData();
  } finally {
    file.close();
  }
  try {
    await Deno.link(temporary, path);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    // Another process created it first: use theirs.
    await Deno.remove(temporary);
    return (await loadSeedFile(path, seed.length)) as SeedFile;
  }
  await Deno.remove(temporary);
  return label === undefined ? { path, seed, created: true } : { path, seed, created: true, label };
}

/**
 * Whether a key file exists at `path`; throws {@linkcode KeyFileError}
 * (`E_KEY_FILE_PERMISSIONS`) when others may read it.
 */
export async function privateKeyFileExists(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new KeyFileError(
      KEY_FILE_ERROR_CODES.permissions,
      `Key file ${path} has mode ${
        (info.mode & 0o777).toString(8)
      }, readable by others: refusing to use it (run 'chmod 600 ${path}' if it was never exposed)`,
    );
  }
  return true;
}

/** Loads the seed at `path`; undefined when absent; throws {@linkcode KeyFileError} when unsafe. */
export async function loadSeedFile(path: string, seedBytes = 32): Promise<SeedFile | undefined> {
  if (!await privateKeyFileExists(path)) return undefined;
  let parsed: { v?: unknown; type?: unknown; seed?: unknown; label?: unknown };
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new KeyFileError(
      KEY_FILE_ERROR_CODES.invalid,
      `Key file ${path} is not valid JSON (${(error as Error).message})`,
    );
  }
  const seed = typeof parsed?.seed === "string" ? fromBase64Url(parsed.seed) : undefined;
  if (parsed?.v !== 1 || parsed.type !== "ed25519-seed" || seed?.length !== seedBytes) {
    throw new KeyFileError(
      KEY_FILE_ERROR_CODES.invalid,
      `Key file ${path} must hold {"v":1,"type":"ed25519-seed","seed":<${seedBytes} bytes base64url>}`,
    );
  }
  const label = typeof parsed.label === "string" ? parsed.label : undefined;
  return label === undefined
    ? { path, seed, created: false }
    : { path, seed, created: false, label };
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

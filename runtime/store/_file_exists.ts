/**
 * Whether a path exists, for the file-backed stores.
 *
 * @module
 */

/** True when something is at `path` (following links); other errors are thrown. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

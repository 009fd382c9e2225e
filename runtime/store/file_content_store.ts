/**
 * The embedded {@linkcode ContentStore}: one file per block under a
 * directory, named by CID and fanned out by the CID's last two characters.
 * Writes go to a temporary file and are renamed into place, so a crash never
 * leaves a partial block under a CID; reads re-hash the bytes and refuse a
 * block that does not match its name.
 *
 * Retention ({@linkcode FileContentStore.prune}) removes blocks nobody has
 * put for a while, and temporary files a crash left; putting a block that
 * is already there counts as writing it again.
 *
 * @module
 */

import type { CID } from "multiformats/cid";
import {
  BLOCK_MAX_BYTES_DEFAULT,
  checkBlock,
  checkBlockSize,
  checkContentCid,
  cidForBytes,
  type ContentStore,
  RAW_CODEC,
} from "./content_store.ts";
import { type Prunable, type PruneResult, StaleFiles } from "./stale_files.ts";
import { Removals, removeFile } from "./removals.ts";
import { fileExists } from "./_file_exists.ts";

/** Options of {@linkcode FileContentStore.open}. */
export interface FileContentStoreOptions {
  /** Largest block; default 16 MiB. */
  readonly blockMaxBytes?: number;
  /** Create the directory when absent (default true); false opens an existing store only. */
  readonly create?: boolean;
}

/** Blocks as files under a directory. */
export class FileContentStore implements ContentStore, Prunable {
  readonly #root: string;
  readonly #blockMaxBytes: number;
  readonly #stale: StaleFiles;
  /** Puts in flight by block path: retention leaves these blocks. */
  readonly #putting = new Map<string, number>();
  /** Retention's removals by path: a put waits for its block's. */
  readonly #removals = new Removals();
  /** Fan-out directories known to exist: a put makes one only the first time. */
  readonly #directories = new Set<string>();

  private constructor(root: string, blockMaxBytes: number) {
    this.#root = root;
    this.#blockMaxBytes = blockMaxBytes;
    this.#stale = new StaleFiles(root, 1);
  }

  /**
   * Opens (creating) the store rooted at `directory`.
   *
   * @example
   * ```ts
   * const cas = await FileContentStore.open("./data/node-1/cas");
   * const cid = await cas.put(bytes);
   * ```
   */
  static async open(
    directory: string,
    options?: FileContentStoreOptions,
  ): Promise<FileContentStore> {
    if (options?.create === false) {
      if (!(await Deno.stat(directory)).isDirectory) {
        throw new Deno.errors.NotADirectory(`Content store '${directory}' is not a directory`);
      }
    } else {
      await Deno.mkdir(directory, { recursive: true });
    }
    return new FileContentStore(directory, options?.blockMaxBytes ?? BLOCK_MAX_BYTES_DEFAULT);
  }

  async put(bytes: Uint8Array, codec: number = RAW_CODEC): Promise<CID> {
    checkBlockSize(bytes.length, this.#blockMaxBytes);
    const cid = cidForBytes(bytes, codec);
    const path = this.#pathOf(cid);
    // Held while it is put, touched when it is let go: retention never takes a block put meanwhile.
    this.#putting.set(path, (this.#putting.get(path) ?? 0) + 1);
    try {
      await this.#removals.of(path);
      await this.#write(path, bytes);
    } finally {
      this.#removals.touch(path);
      const left = (this.#putting.get(path) ?? 1) - 1;
      if (left > 0) this.#putting.set(path, left);
      else this.#putting.delete(path);
    }
    return cid;
  }

  /**
   * Retention: looks at up to `budget` more files (a walk over the store that
   * resumes where the last call stopped) and removes the blocks and
   * temporary files last written before `beforeMs`, except blocks being put.
   */
  prune(beforeMs: number, budget: number): Promise<PruneResult> {
    return this.#removals.step(
      async () => {
        const step = await this.#stale.step(beforeMs, budget);
        return { ...step, keys: step.stale.map((file) => file.path) };
      },
      (path) => this.#putting.has(path),
      removeFile,
    );
  }

  /** Writes a block at `path`, or marks the one there written now. */
  async #write(path: string, bytes: Uint8Array): Promise<void> {
    if (await fileExists(path)) {
      const now = new Date();
      return await Deno.utime(path, now, now).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        return this.#write(path, bytes);
      });
    }
    const directory = path.slice(0, path.lastIndexOf("/"));
    if (!this.#directories.has(directory)) {
      await Deno.mkdir(directory, { recursive: true });
      this.#directories.add(directory);
    }
    const temporary = `${directory}/.tmp-${crypto.randomUUID()}`;
    try {
      await Deno.writeFile(temporary, bytes, { mode: 0o644 });
      await Deno.rename(temporary, path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      if (!(error instanceof Deno.errors.NotFound) || !this.#directories.delete(directory)) {
        throw error;
      }
      // The directory went (an operator emptied the store): make it again, once.
      await this.#write(path, bytes);
    }
  }

  async get(cid: CID): Promise<Uint8Array | undefined> {
    const checked = checkContentCid(cid);
    const path = this.#pathOf(checked);
    let size: number;
    try {
      size = (await Deno.stat(path)).size;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    checkBlockSize(size, this.#blockMaxBytes);
    return checkBlock(checked, await Deno.readFile(path));
  }

  async has(cid: CID): Promise<boolean> {
    return await fileExists(this.#pathOf(checkContentCid(cid)));
  }

  /** The file of `cid` (for operators and corruption tests). */
  pathOf(cid: CID): string {
    return this.#pathOf(checkContentCid(cid));
  }

  #pathOf(cid: CID): string {
    const name = cid.toString();
    return `${this.#root}/${name.slice(-2)}/${name}`;
  }
}

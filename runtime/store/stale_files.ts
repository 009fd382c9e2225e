/**
 * Finding the files of a directory tree that nobody has written for a
 * while, a little at a time: what a node's retention walks its audit logs
 * and content store with. A walk resumes where the last call stopped, and
 * starts over once it has seen every file, so each call costs a bounded
 * number of entries however many files the tree holds.
 *
 * @module
 */

/** What one step of a retention walk did. */
export interface PruneResult {
  /** Entries looked at. */
  readonly examined: number;
  /** Files removed. */
  readonly removed: number;
  /** The walk reached the end of the tree (the next call starts over). */
  readonly passDone: boolean;
}

/** A store that forgets what has not been written since some time. */
export interface Prunable {
  /**
   * Looks at up to `budget` more entries and removes those last written
   * before `beforeMs` (ms since the epoch) that nothing holds open.
   */
  prune(beforeMs: number, budget: number): Promise<PruneResult>;
}

/** A file the walk found, last written before the time asked for. */
export interface StaleFile {
  /** Its path. */
  readonly path: string;
  /** Its name in its directory. */
  readonly name: string;
}

/** Files found by one step, and how far the walk got. */
export interface StaleStep {
  readonly stale: StaleFile[];
  readonly examined: number;
  readonly passDone: boolean;
}

/**
 * A resumable walk over a directory and, with `depth` 1, its immediate
 * subdirectories (a fanned-out store).
 */
export class StaleFiles {
  readonly #root: string;
  readonly #depth: 0 | 1;
  /** Directories left to read in this pass, and the one being read. */
  #pending: string[] = [];
  #current: { readonly path: string; readonly entries: AsyncIterator<Deno.DirEntry> } | undefined;

  /**
   * @param root the directory walked
   * @param depth 0 for files in `root` only, 1 for files one directory down too
   */
  constructor(root: string, depth: 0 | 1) {
    this.#root = root;
    this.#depth = depth;
  }

  /**
   * Looks at up to `budget` more entries and returns the files among them
   * whose last write was before `beforeMs`. Files that vanish meanwhile are
   * passed over.
   */
  async step(beforeMs: number, budget: number): Promise<StaleStep> {
    const stale: StaleFile[] = [];
    let examined = 0;
    if (this.#current === undefined && this.#pending.length === 0) this.#pending = [this.#root];
    while (examined < budget) {
      if (this.#current === undefined) {
        const path = this.#pending.shift();
        if (path === undefined) return { stale, examined, passDone: true };
        this.#current = { path, entries: Deno.readDir(path)[Symbol.asyncIterator]() };
      }
      const { path, entries } = this.#current;
      let next: IteratorResult<Deno.DirEntry>;
      try {
        next = await entries.next();
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        next = { done: true, value: undefined };
      }
      if (next.done) {
        this.#current = undefined;
        continue;
      }
      examined++;
      const entry = next.value;
      const entryPath = `${path}/${entry.name}`;
      if (entry.isDirectory) {
        if (path === this.#root && this.#depth === 1) this.#pending.push(entryPath);
        continue;
      }
      if (!entry.isFile) continue;
      const modified = await modifiedMs(entryPath);
      if (modified !== undefined && modified < beforeMs) {
        stale.push({ path: entryPath, name: entry.name });
      }
    }
    return { stale, examined, passDone: false };
  }
}

/** When `path` was last written (ms), or undefined when it is gone. */
async function modifiedMs(path: string): Promise<number | undefined> {
  try {
    return (await Deno.lstat(path)).mtime?.getTime();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

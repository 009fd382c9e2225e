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

/** What a retention walk found: removal candidates, and how far it got. */
export interface StaleKeys {
  readonly keys: readonly string[];
  readonly examined: number;
  readonly passDone: boolean;
}

/**
 * Retention's removals for one store, by key (a path, a log name), kept
 * safe against the store's own writes. A key the store held (open, being
 * written) at any time during a step is left alone, even if the walk saw it
 * old: the step's `held` check sees it held then, or the store touched it
 * ({@linkcode Removals.touch}) when it took it up or let it go. Whatever
 * opens or writes a key while its removal is under way waits for it
 * ({@linkcode Removals.of}). Steps run one after another.
 */
export class Removals {
  readonly #pending = new Map<string, Promise<boolean>>();
  /** Keys touched since the running step began; undefined between steps. */
  #touched: Set<string> | undefined;
  #steps: Promise<unknown> = Promise.resolve();

  /** Marks `key` taken up or let go by the store now: the step under way leaves it. */
  touch(key: string): void {
    this.#touched?.add(key);
  }

  /** Settles once no removal of `key` is under way (undefined when none is). */
  of(key: string): Promise<boolean> | undefined {
    return this.#pending.get(key);
  }

  /**
   * One retention step: `find` walks for candidates, and each that `held`
   * does not claim and nobody touched since the step began is removed with
   * `remove`, one at a time.
   */
  step(
    find: () => Promise<StaleKeys>,
    held: (key: string) => boolean,
    remove: (key: string) => Promise<boolean>,
  ): Promise<PruneResult> {
    const run = this.#steps.then(() => this.#step(find, held, remove));
    this.#steps = run.catch(() => {});
    return run;
  }

  async #step(
    find: () => Promise<StaleKeys>,
    held: (key: string) => boolean,
    remove: (key: string) => Promise<boolean>,
  ): Promise<PruneResult> {
    const touched = new Set<string>();
    this.#touched = touched;
    try {
      const found = await find();
      let removed = 0;
      for (const key of found.keys) {
        if (held(key) || touched.has(key) || this.#pending.has(key)) continue;
        // Registered before the first await: from now on, an open or a write of `key` waits.
        const removal = remove(key);
        this.#pending.set(key, removal.catch(() => false));
        try {
          if (await removal) removed++;
        } finally {
          this.#pending.delete(key);
        }
      }
      return { examined: found.examined, removed, passDone: found.passDone };
    } finally {
      this.#touched = undefined;
    }
  }
}

/** Removes `path`; true when this call removed it, false when it was already gone. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

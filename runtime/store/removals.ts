/**
 * Removing what a store's retention found old without losing what the
 * store writes meanwhile: a removal never takes a key the store held during
 * the step, and an open or a write of a key waits for its removal.
 *
 * @module
 */

import type { PruneResult } from "./stale_files.ts";

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
 * old: the step's `held` check sees it still held, or the store touched it
 * ({@linkcode Removals.touch}) when it let it go. Whatever
 * opens or writes a key while its removal is under way waits for it
 * ({@linkcode Removals.of}). Steps run one after another.
 */
export class Removals {
  readonly #pending = new Map<string, Promise<boolean>>();
  /** Keys touched since the running step began; undefined between steps. */
  #touched: Set<string> | undefined;
  #steps: Promise<unknown> = Promise.resolve();

  /** Marks `key` let go by the store now (no longer held): the step under way leaves it. */
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

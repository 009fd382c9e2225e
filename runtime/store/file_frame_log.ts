/**
 * Frame logs as files in a directory fanned out by name:
 * `<directory>/<xx>/<name><extension>`, where `xx` is one of 256 hex pairs
 * drawn from a hash of the name, so a node keeping a log per thread for days
 * does not pile millions of files into one directory. Opening reads the
 * file, truncates a torn tail (reporting it), and keeps an append handle;
 * each append is one `write` of whole frames, optionally followed by
 * `fdatasync`.
 *
 * @module
 */

import {
  checkFrameLogName,
  encodeFrames,
  FRAME_FILE_MAGIC,
  FRAME_LOG_ERROR_CODES,
  FRAME_MAX_BYTES_DEFAULT,
  type FrameLog,
  type FrameLogDirectory,
  FrameLogError,
  isFrameLogName,
  type OpenedFrameLog,
  scanFrames,
} from "./frame_log.ts";
import { StaleFiles } from "./stale_files.ts";
import { fileExists } from "./_file_exists.ts";
import { removeFile, type StaleKeys } from "./removals.ts";

/** Options of {@linkcode FileFrameLogDirectory.open}. */
export interface FileFrameLogOptions {
  /** File name suffix; default `.log`. */
  readonly extension?: string;
  /** `fdatasync` after every append (slow, strongest); default false. */
  readonly syncEachAppend?: boolean;
  /** Largest frame payload; default 1 MiB. */
  readonly maxFrameBytes?: number;
}

/** A directory of frame log files. */
export class FileFrameLogDirectory implements FrameLogDirectory {
  readonly #directory: string;
  readonly #extension: string;
  readonly #syncEachAppend: boolean;
  readonly #maxFrameBytes: number;
  readonly #stale: StaleFiles;
  /** Fan-out directories known to exist. */
  readonly #shards = new Set<string>();

  private constructor(directory: string, options: FileFrameLogOptions) {
    this.#directory = directory;
    this.#stale = new StaleFiles(directory, 1);
    this.#extension = options.extension ?? ".log";
    this.#syncEachAppend = options.syncEachAppend ?? false;
    this.#maxFrameBytes = options.maxFrameBytes ?? FRAME_MAX_BYTES_DEFAULT;
  }

  /**
   * Opens (creating) the directory. Logs an earlier version kept in the
   * directory itself (`<directory>/<name><extension>`) move to their fan-out
   * directories first.
   *
   * @example
   * ```ts
   * const logs = await FileFrameLogDirectory.open("./data/node-1/audit");
   * const { log, frames, recovered } = await logs.open("thread-1");
   * ```
   */
  static async open(
    directory: string,
    options?: FileFrameLogOptions,
  ): Promise<FileFrameLogDirectory> {
    await Deno.mkdir(directory, { recursive: true });
    const logs = new FileFrameLogDirectory(directory, options ?? {});
    await logs.#fanOutFlatLogs();
    return logs;
  }

  /** The file that holds log `name`. */
  pathOf(name: string): string {
    return `${this.#directory}/${shardOf(checkFrameLogName(name))}/${name}${this.#extension}`;
  }

  async open(name: string): Promise<OpenedFrameLog> {
    const path = this.pathOf(name);
    const file = await this.#openForAppend(path);
    try {
      let size = (await file.stat()).size;
      let frames: Uint8Array[] = [];
      let recovered: OpenedFrameLog["recovered"];
      if (size > 0) {
        const scan = scanFrames(await readAll(file, size), { maxFrameBytes: this.#maxFrameBytes });
        if (scan.stop?.kind === "corrupt") {
          throw new FrameLogError(FRAME_LOG_ERROR_CODES.corrupt, `${path}: ${scan.stop.message}`);
        }
        frames = scan.frames.map((frame) => frame.slice());
        if (scan.stop !== undefined) {
          recovered = scan.stop;
          await file.truncate(scan.validBytes);
          size = scan.validBytes;
        }
      }
      if (size === 0) {
        await writeAll(file, FRAME_FILE_MAGIC);
        size = FRAME_FILE_MAGIC.length;
      }
      const log = new FileFrameLog(name, file, size, this.#syncEachAppend, this.#maxFrameBytes);
      return recovered === undefined ? { log, frames } : { log, frames, recovered };
    } catch (error) {
      file.close();
      throw error;
    }
  }

  async reopen(name: string, size: number): Promise<FrameLog | undefined> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.pathOf(name), { append: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      if ((await file.stat()).size !== size) {
        file.close();
        return undefined;
      }
    } catch (error) {
      file.close();
      throw error;
    }
    return new FileFrameLog(name, file, size, this.#syncEachAppend, this.#maxFrameBytes);
  }

  async names(): Promise<string[]> {
    const names: string[] = [];
    for await (const shard of Deno.readDir(this.#directory)) {
      if (!shard.isDirectory || !SHARD_NAME.test(shard.name)) continue;
      for await (const entry of Deno.readDir(`${this.#directory}/${shard.name}`)) {
        const name = entry.isFile ? this.#logName(entry.name) : undefined;
        if (name !== undefined) names.push(name);
      }
    }
    return names.sort();
  }

  async staleNames(beforeMs: number, budget: number): Promise<StaleKeys> {
    const step = await this.#stale.step(beforeMs, budget);
    // Anything else in the directory is not this store's to remove.
    const keys = step.stale.flatMap((file) => this.#logName(file.name) ?? []);
    return { keys, examined: step.examined, passDone: step.passDone };
  }

  async remove(name: string): Promise<boolean> {
    return await removeFile(this.pathOf(name));
  }

  /**
   * Opens a log file for reading and appending, creating it (and its fan-out
   * directory, made again if an operator emptied the store under a running
   * node). One handle reads and appends: a new log (the common case) costs no
   * failed read.
   */
  async #openForAppend(path: string): Promise<Deno.FsFile> {
    const shard = path.slice(0, path.lastIndexOf("/"));
    if (!this.#shards.has(shard)) {
      await Deno.mkdir(shard, { recursive: true });
      this.#shards.add(shard);
    }
    try {
      return await Deno.open(path, { read: true, append: true, create: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound) || !this.#shards.delete(shard)) throw error;
      return await this.#openForAppend(path);
    }
  }

  /** The log name of a file name, if it is one of this store's logs. */
  #logName(fileName: string): string | undefined {
    if (!fileName.endsWith(this.#extension)) return undefined;
    const name = fileName.slice(0, fileName.length - this.#extension.length);
    return isFrameLogName(name) ? name : undefined;
  }

  /** Moves logs kept in the directory itself (before the fan-out) to their fan-out directories. */
  async #fanOutFlatLogs(): Promise<void> {
    const flat: string[] = [];
    for await (const entry of Deno.readDir(this.#directory)) {
      const name = entry.isFile ? this.#logName(entry.name) : undefined;
      if (name !== undefined) flat.push(name);
    }
    for (const name of flat) {
      const path = this.pathOf(name);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      if (await fileExists(path)) {
        throw new FrameLogError(
          FRAME_LOG_ERROR_CODES.name,
          `Log '${name}' is both in ${this.#directory} and in ${path}: keep one and open again`,
        );
      }
      await Deno.rename(`${this.#directory}/${name}${this.#extension}`, path);
    }
  }
}

/** A fan-out directory's name: two lowercase hex digits. */
const SHARD_NAME = /^[0-9a-f]{2}$/;

/**
 * The fan-out directory of log `name` (two hex digits: the low byte of the
 * name's FNV-1a hash), so a tool can find `<directory>/<shard>/<name>.log`.
 */
export function shardOf(name: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) {
    hash = Math.imul(hash ^ name.charCodeAt(index), 0x01000193) >>> 0;
  }
  return (hash & 0xff).toString(16).padStart(2, "0");
}

class FileFrameLog implements FrameLog {
  readonly name: string;
  readonly #file: Deno.FsFile;
  readonly #syncEachAppend: boolean;
  readonly #maxFrameBytes: number;
  #size: number;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    name: string,
    file: Deno.FsFile,
    size: number,
    syncEachAppend: boolean,
    maxFrameBytes: number,
  ) {
    this.name = name;
    this.#file = file;
    this.#size = size;
    this.#syncEachAppend = syncEachAppend;
    this.#maxFrameBytes = maxFrameBytes;
  }

  get size(): number {
    return this.#size;
  }

  append(payloads: readonly Uint8Array[]): Promise<void> {
    let bytes: Uint8Array;
    try {
      this.#checkOpen();
      bytes = encodeFrames(payloads, this.#maxFrameBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.#tail.then(async () => {
      await writeAll(this.#file, bytes);
      this.#size += bytes.length;
      if (this.#syncEachAppend) await this.#file.syncData();
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  async sync(): Promise<void> {
    this.#checkOpen();
    await this.#tail;
    await this.#file.syncData();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    this.#file.close();
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new FrameLogError(FRAME_LOG_ERROR_CODES.closed, `Frame log '${this.name}' is closed`);
    }
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** The first `size` bytes of `file`, read from its start. */
async function readAll(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let read = 0;
  while (read < size) {
    const count = await file.read(bytes.subarray(read));
    if (count === null) return bytes.subarray(0, read);
    read += count;
  }
  return bytes;
}

/**
 * Reads and scans a frame file without changing it: for replay and
 * inspection, which must see a torn tail rather than repair it.
 */
export async function readFrameFile(
  path: string,
  options?: { readonly maxFrameBytes?: number },
): Promise<ReturnType<typeof scanFrames> & { readonly size: number }> {
  const bytes = await Deno.readFile(path);
  return { ...scanFrames(bytes, options), size: bytes.length };
}

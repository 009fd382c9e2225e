/**
 * Frame logs in memory, byte-compatible with the file logs: the simulator's
 * disk for audit logs. The bytes outlive a simulated crash, and tests can
 * damage them (a torn tail, a flipped bit) exactly as a crash or an
 * attacker would damage a file.
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
  type OpenedFrameLog,
  scanFrames,
} from "./frame_log.ts";

/** A file's bytes as appended chunks, so an append costs its own size only. */
class Chunks {
  #parts: Uint8Array[];
  #size: number;

  constructor(initial: Uint8Array) {
    this.#parts = [initial];
    this.#size = initial.length;
  }

  push(bytes: Uint8Array): void {
    this.#parts.push(bytes);
    this.#size += bytes.length;
  }

  get size(): number {
    return this.#size;
  }

  bytes(): Uint8Array {
    if (this.#parts.length > 1) {
      const whole = new Uint8Array(this.size);
      let offset = 0;
      for (const part of this.#parts) {
        whole.set(part, offset);
        offset += part.length;
      }
      this.#parts = [whole];
    }
    return this.#parts[0];
  }
}

/** Named frame logs held as byte arrays. */
export class MemoryFrameLogDirectory implements FrameLogDirectory {
  readonly #files = new Map<string, Chunks>();
  readonly #maxFrameBytes: number;

  constructor(options?: { readonly maxFrameBytes?: number }) {
    this.#maxFrameBytes = options?.maxFrameBytes ?? FRAME_MAX_BYTES_DEFAULT;
  }

  open(name: string): Promise<OpenedFrameLog> {
    try {
      checkFrameLogName(name);
    } catch (error) {
      return Promise.reject(error);
    }
    const existing = this.#files.get(name)?.bytes();
    let frames: Uint8Array[] = [];
    let recovered: OpenedFrameLog["recovered"];
    if (existing !== undefined) {
      const scan = scanFrames(existing, { maxFrameBytes: this.#maxFrameBytes });
      if (scan.stop?.kind === "corrupt") {
        return Promise.reject(
          new FrameLogError(FRAME_LOG_ERROR_CODES.corrupt, `${name}: ${scan.stop.message}`),
        );
      }
      frames = scan.frames.map((frame) => frame.slice());
      if (scan.stop !== undefined) {
        recovered = scan.stop;
        this.#files.set(name, new Chunks(existing.slice(0, scan.validBytes)));
      }
    }
    if ((this.#files.get(name)?.size ?? 0) === 0) {
      this.#files.set(name, new Chunks(FRAME_FILE_MAGIC.slice()));
    }
    const log = new MemoryFrameLog(name, this.#files, this.#maxFrameBytes);
    return Promise.resolve(recovered === undefined ? { log, frames } : { log, frames, recovered });
  }

  reopen(name: string, size: number): Promise<FrameLog | undefined> {
    try {
      checkFrameLogName(name);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#files.get(name)?.size !== size) return Promise.resolve(undefined);
    return Promise.resolve(new MemoryFrameLog(name, this.#files, this.#maxFrameBytes));
  }

  names(): Promise<string[]> {
    return Promise.resolve([...this.#files.keys()].sort());
  }

  /** The raw bytes of log `name` (a copy), as a file would hold them. */
  bytesOf(name: string): Uint8Array | undefined {
    return this.#files.get(name)?.bytes().slice();
  }

  /** Replaces the raw bytes of log `name`: how tests simulate crashes and tampering. */
  replaceBytes(name: string, bytes: Uint8Array): void {
    this.#files.set(checkFrameLogName(name), new Chunks(bytes.slice()));
  }
}

class MemoryFrameLog implements FrameLog {
  readonly name: string;
  readonly #files: Map<string, Chunks>;
  readonly #maxFrameBytes: number;
  #closed = false;

  constructor(name: string, files: Map<string, Chunks>, maxFrameBytes: number) {
    this.name = name;
    this.#files = files;
    this.#maxFrameBytes = maxFrameBytes;
  }

  get size(): number {
    return this.#files.get(this.name)?.size ?? 0;
  }

  append(payloads: readonly Uint8Array[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new FrameLogError(FRAME_LOG_ERROR_CODES.closed, `Frame log '${this.name}' is closed`),
      );
    }
    let frames: Uint8Array;
    try {
      frames = encodeFrames(payloads, this.#maxFrameBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    let file = this.#files.get(this.name);
    if (file === undefined) this.#files.set(this.name, file = new Chunks(FRAME_FILE_MAGIC.slice()));
    file.push(frames);
    return Promise.resolve();
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/**
 * Append-only logs of length-prefixed, checksummed frames: the storage
 * under the audit log, knowing nothing of what the frames mean.
 *
 * File layout: the 8-byte magic `CSFRAME1`, then frames of
 * `u32 length (big-endian) ‖ payload ‖ u32 CRC-32(payload)`.
 *
 * A crash can leave the last frame half-written. {@linkcode scanFrames}
 * tells such a *torn tail* (a partial header, a frame longer than the
 * bytes left, a zero-filled or checksum-failing last frame) from
 * *corruption* (a bad frame with more frames after it). Opening a log for
 * appending truncates a torn tail and reports it; corruption is refused.
 * Nothing is ever silently accepted.
 *
 * @module
 */

import type { StaleKeys } from "./removals.ts";
import { SwarmError } from "../errors.ts";
import { crc32 } from "./_crc32.ts";

/** First bytes of every frame file. */
export const FRAME_FILE_MAGIC: Uint8Array = new TextEncoder().encode("CSFRAME1");
/** Bytes around each payload: length before, checksum after. */
export const FRAME_OVERHEAD_BYTES = 8;
/** Default largest frame payload: 1 MiB. */
export const FRAME_MAX_BYTES_DEFAULT = 1024 * 1024;

/** Stable codes of {@linkcode FrameLogError}. */
export const FRAME_LOG_ERROR_CODES = {
  /** The file does not start with {@linkcode FRAME_FILE_MAGIC}. */
  magic: "E_FRAME_MAGIC",
  /** A frame in the middle of the log is damaged. */
  corrupt: "E_FRAME_CORRUPT",
  /** A payload over the frame bound. */
  tooLarge: "E_FRAME_TOO_LARGE",
  /** A log name that is not a safe file name. */
  name: "E_FRAME_NAME",
  /** A call on a closed log. */
  closed: "E_FRAME_CLOSED",
} as const;

/** Raised for damaged logs and misuse. */
export class FrameLogError extends SwarmError {}

/** Where and why a scan stopped before the end of the bytes. */
export interface FrameScanStop {
  /** `torn`: an interrupted last append, safe to truncate. `corrupt`: damage with data after it. */
  readonly kind: "torn" | "corrupt";
  /** Byte offset of the first byte not accepted. */
  readonly offset: number;
  /** Index the next frame would have had. */
  readonly frameIndex: number;
  /** A precise, human-readable account. */
  readonly message: string;
}

/** The result of {@linkcode scanFrames}. */
export interface FrameScan {
  /** Payloads of the whole frames, in order. */
  readonly frames: Uint8Array[];
  /** Byte offset of each frame's header. */
  readonly offsets: number[];
  /** Bytes up to the end of the last whole frame (the magic counts). */
  readonly validBytes: number;
  /** Set when the scan stopped before the end. */
  readonly stop?: FrameScanStop;
}

/** Options of {@linkcode scanFrames}. */
export interface FrameScanOptions {
  /** Largest payload accepted; default 1 MiB. */
  readonly maxFrameBytes?: number;
}

/** Encodes one payload as a frame. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(payload.length + FRAME_OVERHEAD_BYTES);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length);
  frame.set(payload, 4);
  view.setUint32(4 + payload.length, crc32(payload));
  return frame;
}

/**
 * Splits a frame file's bytes into payloads, stopping at the first damaged
 * frame with a precise account of it. Never throws on damage; throws
 * {@linkcode FrameLogError} only when the bytes are not a frame file at all.
 */
export function scanFrames(bytes: Uint8Array, options?: FrameScanOptions): FrameScan {
  const maxFrameBytes = options?.maxFrameBytes ?? FRAME_MAX_BYTES_DEFAULT;
  const frames: Uint8Array[] = [];
  const offsets: number[] = [];
  checkMagic(bytes);
  if (bytes.length < FRAME_FILE_MAGIC.length) {
    const message = `Torn file header: ${bytes.length} of ${FRAME_FILE_MAGIC.length} magic bytes`;
    return {
      frames,
      offsets,
      validBytes: 0,
      stop: { kind: "torn", offset: 0, frameIndex: 0, message },
    };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = FRAME_FILE_MAGIC.length;
  while (offset < bytes.length) {
    const stop = (kind: "torn" | "corrupt", message: string) => ({
      frames,
      offsets,
      validBytes: offset,
      stop: { kind, offset, frameIndex: frames.length, message },
    });
    const remaining = bytes.length - offset;
    const where = `frame ${frames.length} at byte ${offset}`;
    if (remaining < 4) return stop("torn", `Torn ${where}: ${remaining} of 4 length bytes`);
    const length = view.getUint32(offset);
    if (length === 0 || length > maxFrameBytes) {
      if (allZero(bytes, offset)) {
        return stop("torn", `Torn ${where}: ${remaining} zero bytes after the last whole frame`);
      }
      return stop(
        "corrupt",
        `Corrupt ${where}: declares ${length} bytes (allowed 1..${maxFrameBytes})`,
      );
    }
    if (remaining < length + FRAME_OVERHEAD_BYTES) {
      return stop(
        "torn",
        `Torn ${where}: declares ${length} bytes but only ${
          Math.max(0, remaining - FRAME_OVERHEAD_BYTES)
        } follow`,
      );
    }
    const payload = bytes.subarray(offset + 4, offset + 4 + length);
    if (view.getUint32(offset + 4 + length) !== crc32(payload)) {
      const last = offset + length + FRAME_OVERHEAD_BYTES === bytes.length;
      return stop(
        last ? "torn" : "corrupt",
        `${last ? "Torn" : "Corrupt"} ${where}: checksum mismatch over its ${length} bytes${
          last ? " (last frame, interrupted write)" : ""
        }`,
      );
    }
    frames.push(payload);
    offsets.push(offset);
    offset += length + FRAME_OVERHEAD_BYTES;
  }
  return { frames, offsets, validBytes: offset };
}

function checkMagic(bytes: Uint8Array): void {
  const length = Math.min(bytes.length, FRAME_FILE_MAGIC.length);
  for (let index = 0; index < length; index++) {
    if (bytes[index] !== FRAME_FILE_MAGIC[index]) {
      throw new FrameLogError(
        FRAME_LOG_ERROR_CODES.magic,
        `Not a frame log: expected it to start with 'CSFRAME1', byte ${index} is 0x${
          bytes[index].toString(16).padStart(2, "0")
        }`,
      );
    }
  }
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let index = from; index < bytes.length; index++) if (bytes[index] !== 0) return false;
  return true;
}

/** An open, append-only frame log. Appends are applied in call order. */
export interface FrameLog {
  /** The log's name in its directory. */
  readonly name: string;
  /** Bytes the log holds, header included, once the appends so far are written. */
  readonly size: number;
  /** Appends payloads as frames, in order, in one write. */
  append(payloads: readonly Uint8Array[]): Promise<void>;
  /** Makes every append so far durable (fsync). */
  sync(): Promise<void>;
  /** Releases the log; further calls fail. */
  close(): Promise<void>;
}

/** What opening a log found. */
export interface OpenedFrameLog {
  readonly log: FrameLog;
  /** Payloads already in the log, after recovery. */
  readonly frames: Uint8Array[];
  /** The torn tail that was truncated on open, if any. */
  readonly recovered?: FrameScanStop;
}

/** A set of named frame logs (files in a directory, or memory in simulation). */
export interface FrameLogDirectory {
  /**
   * Opens (creating) the log `name`, truncating a torn tail; throws
   * {@linkcode FrameLogError} for a corrupt log.
   */
  open(name: string): Promise<OpenedFrameLog>;
  /**
   * Opens log `name` to append to it without reading it, when it is exactly
   * `size` bytes: as this process left it after a clean close. Resolves
   * undefined otherwise (absent, or changed since): then {@linkcode open} it.
   */
  reopen(name: string, size: number): Promise<FrameLog | undefined>;
  /** Names of the logs present, sorted. */
  names(): Promise<string[]>;
  /**
   * Looks at up to `budget` more entries of a walk that resumes where the
   * last call stopped, and returns the names (`keys`) of the logs among them last
   * written before `beforeMs`. Absent where logs keep no write time (memory).
   */
  staleNames?(beforeMs: number, budget: number): Promise<StaleKeys>;
  /** Deletes log `name`, which nothing may hold open; false when it was absent. */
  remove?(name: string): Promise<boolean>;
}

const NAME_PATTERN = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}$/;

/** True when `name` is a valid log name (see {@linkcode checkFrameLogName}). */
export function isFrameLogName(name: string): boolean {
  return typeof name === "string" && NAME_PATTERN.test(name);
}

/** Validates a log name (a safe file name: letters, digits, `._~-`, ≤ 128, no leading dot). */
export function checkFrameLogName(name: string): string {
  if (!isFrameLogName(name)) {
    throw new FrameLogError(
      FRAME_LOG_ERROR_CODES.name,
      `Frame log name must be 1-128 letters, digits or ._~- without a leading dot, got '${
        String(name).slice(0, 64)
      }'`,
    );
  }
  return name;
}

/** Frames for `payloads`, concatenated; throws for a payload over `maxFrameBytes`. */
export function encodeFrames(payloads: readonly Uint8Array[], maxFrameBytes: number): Uint8Array {
  let size = 0;
  for (const payload of payloads) {
    if (payload.length === 0 || payload.length > maxFrameBytes) {
      throw new FrameLogError(
        FRAME_LOG_ERROR_CODES.tooLarge,
        `Frame payload must be 1..${maxFrameBytes} bytes, got ${payload.length}`,
      );
    }
    size += payload.length + FRAME_OVERHEAD_BYTES;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const payload of payloads) {
    const frame = encodeFrame(payload);
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

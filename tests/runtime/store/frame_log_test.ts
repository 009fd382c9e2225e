// Proves frame logs tell a torn tail from corruption, truncate only the former on open, and keep every whole frame.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeFrame,
  FRAME_FILE_MAGIC,
  FRAME_LOG_ERROR_CODES,
  type FrameLogDirectory,
  scanFrames,
} from "../../../runtime/store/frame_log.ts";
import {
  FileFrameLogDirectory,
  readFrameFile,
  shardOf,
} from "../../../runtime/store/file_frame_log.ts";
import { MemoryFrameLogDirectory } from "../../../runtime/store/memory_frame_log.ts";

const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7), new Uint8Array([9])];

function file(...frames: Uint8Array[]): Uint8Array {
  return Uint8Array.from([
    ...FRAME_FILE_MAGIC,
    ...frames.flatMap((frame) => [...encodeFrame(frame)]),
  ]);
}

Deno.test("scanFrames() returns every payload of an intact file with its offset", () => {
  const scan = scanFrames(file(...payloads));
  assert.deepEqual(scan.frames, payloads);
  assert.deepEqual(scan.offsets, [8, 8 + 11, 8 + 11 + 308]);
  assert.equal(scan.stop, undefined);
  assert.equal(scan.validBytes, file(...payloads).length);
});

Deno.test("every proper prefix of a frame file is whole frames plus a torn tail, never corruption", () => {
  const whole = file(...payloads);
  for (let cut = 0; cut < whole.length; cut++) {
    const scan = scanFrames(whole.subarray(0, cut));
    const boundary = cut === 8 || cut === 19 || cut === 327;
    if (boundary) {
      assert.equal(scan.stop, undefined, `cut ${cut}`);
    } else {
      assert.equal(scan.stop?.kind, "torn", `cut ${cut}: ${scan.stop?.message}`);
      assert.equal(scan.validBytes, cut < 8 ? 0 : cut < 19 ? 8 : cut < 327 ? 19 : 327);
    }
  }
});

Deno.test("a torn tail is described precisely", () => {
  const whole = file(...payloads);
  const scan = scanFrames(whole.subarray(0, whole.length - 5));
  assert.equal(scan.stop?.kind, "torn");
  assert.equal(scan.stop?.frameIndex, 2);
  assert.match(
    scan.stop?.message ?? "",
    /Torn frame 2 at byte 327: declares 1 bytes but only 0 follow/,
  );
  const zeroFilled = Uint8Array.from([...file(payloads[0]), ...new Uint8Array(64)]);
  assert.match(
    scanFrames(zeroFilled).stop?.message ?? "",
    /64 zero bytes after the last whole frame/,
  );
});

Deno.test("damage before the last frame is corruption, and a bad last checksum is a torn tail", () => {
  const damaged = file(...payloads);
  damaged[8 + 4] ^= 0xff; // inside the first payload
  const scan = scanFrames(damaged);
  assert.equal(scan.stop?.kind, "corrupt");
  assert.match(scan.stop?.message ?? "", /Corrupt frame 0 at byte 8: checksum mismatch/);
  const lastDamaged = file(...payloads);
  lastDamaged[lastDamaged.length - 5] ^= 0x01; // the last payload byte
  assert.equal(scanFrames(lastDamaged).stop?.kind, "torn");
  const hugeLength = file(...payloads);
  hugeLength.set([0x7f, 0, 0, 0], 8);
  assert.match(scanFrames(hugeLength).stop?.message ?? "", /declares 2130706432 bytes/);
});

Deno.test("a file that is not a frame log is refused by its magic", () => {
  assert.throws(
    () => scanFrames(new TextEncoder().encode("hello world")),
    (error: Error & { code?: string }) => error.code === FRAME_LOG_ERROR_CODES.magic,
  );
});

Deno.test("scanFrames() never throws on damaged frame files (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
      const scan = scanFrames(Uint8Array.from([...FRAME_FILE_MAGIC, ...tail]));
      assert.ok(scan.validBytes >= 8 && scan.validBytes <= 8 + tail.length);
    }),
    { numRuns: 2000 },
  );
});

async function conformance(
  directory: FrameLogDirectory,
  damage: (name: string, bytes: Uint8Array) => Promise<void>,
  read: (name: string) => Promise<Uint8Array>,
) {
  const first = await directory.open("thread-1");
  assert.deepEqual(first.frames, []);
  await first.log.append(payloads.slice(0, 2));
  await first.log.append([payloads[2]]);
  await first.log.close();
  const whole = await read("thread-1");
  await damage("thread-1", whole.subarray(0, whole.length - 3));
  const reopened = await directory.open("thread-1");
  assert.deepEqual(reopened.frames, payloads.slice(0, 2));
  assert.equal(reopened.recovered?.kind, "torn");
  assert.equal((await read("thread-1")).length, 8 + 11 + 308, "torn tail truncated on open");
  await reopened.log.append([payloads[2]]);
  await reopened.log.close();
  assert.deepEqual((await directory.open("thread-1")).frames, payloads);
  const corrupt = await read("thread-1");
  corrupt[12] ^= 1;
  await damage("thread-1", corrupt);
  await assert.rejects(
    directory.open("thread-1"),
    (error: Error & { code?: string }) => error.code === FRAME_LOG_ERROR_CODES.corrupt,
  );
  assert.deepEqual(await directory.names(), ["thread-1"]);
  // A log closed cleanly reopens for appending without a read, while its size is unchanged.
  const fresh = await directory.open("thread-2");
  await fresh.log.append([payloads[0]]);
  await fresh.log.close();
  assert.equal(fresh.log.size, 8 + 11);
  const warm = await directory.reopen("thread-2", fresh.log.size);
  assert.ok(warm !== undefined);
  await warm.append([payloads[2]]);
  await warm.close();
  assert.equal(warm.size, 8 + 11 + 9);
  const whole2 = await directory.open("thread-2");
  assert.deepEqual(whole2.frames, [payloads[0], payloads[2]]);
  await whole2.log.close();
  assert.equal(
    await directory.reopen("thread-2", 8 + 11),
    undefined,
    "changed since: read it again",
  );
  assert.equal(await directory.reopen("absent", 8), undefined);
  await assert.rejects(
    directory.open("../escape"),
    (error: Error & { code?: string }) => error.code === FRAME_LOG_ERROR_CODES.name,
  );
}

Deno.test("memory frame logs recover a torn tail, refuse corruption and keep appending", async () => {
  const directory = new MemoryFrameLogDirectory();
  await conformance(
    directory,
    (name, bytes) => Promise.resolve(directory.replaceBytes(name, bytes)),
    (name) => Promise.resolve(directory.bytesOf(name) as Uint8Array),
  );
});

Deno.test("file frame logs recover a torn tail, refuse corruption and keep appending", async () => {
  const root = await Deno.makeTempDir({ prefix: "frames-" });
  try {
    const directory = await FileFrameLogDirectory.open(root);
    await conformance(
      directory,
      (name, bytes) => Deno.writeFile(directory.pathOf(name), bytes),
      (name) => Deno.readFile(directory.pathOf(name)),
    );
    const scan = await readFrameFile(directory.pathOf("thread-1"));
    assert.equal(scan.stop?.kind, "corrupt", "readFrameFile() reports without repairing");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("file frame logs fan out by name, and logs kept flat by an earlier version move in", async () => {
  const root = await Deno.makeTempDir({ prefix: "frames-" });
  const bytes = (text: string) => new TextEncoder().encode(text);
  try {
    const names = Array.from({ length: 40 }, (_, index) => `thread-${index}`);
    assert.ok(new Set(names.map(shardOf)).size > 20, "names spread over the fan-out");
    const directory = await FileFrameLogDirectory.open(root);
    for (const name of names.slice(0, 30)) {
      const { log } = await directory.open(name);
      await log.append([bytes(name)]);
      await log.close();
      assert.equal(directory.pathOf(name), `${root}/${shardOf(name)}/${name}.log`);
      assert.ok((await Deno.stat(directory.pathOf(name))).isFile);
    }
    assert.deepEqual(await directory.names(), names.slice(0, 30).sort());

    // Logs of an earlier version sit in the directory itself: opening it moves them in.
    for (const name of names.slice(30)) {
      const { log } = await directory.open(name);
      await log.append([bytes(name)]);
      await log.close();
      await Deno.rename(directory.pathOf(name), `${root}/${name}.log`);
    }
    const reopened = await FileFrameLogDirectory.open(root);
    assert.deepEqual(await reopened.names(), [...names].sort());
    for (const name of names.slice(30)) {
      const { frames, log } = await reopened.open(name);
      assert.deepEqual(frames, [bytes(name)], `${name} kept its frames`);
      await log.close();
    }
    assert.deepEqual(
      [...Deno.readDirSync(root)].filter((entry) => entry.isFile),
      [],
      "no log left in the directory itself",
    );

    // The same log in both places is refused, not overwritten.
    await Deno.copyFile(reopened.pathOf("thread-0"), `${root}/thread-0.log`);
    await assert.rejects(
      FileFrameLogDirectory.open(root),
      (error: Error & { code?: string }) =>
        error.code === FRAME_LOG_ERROR_CODES.name && /both in/.test(error.message),
    );
    await Deno.remove(`${root}/thread-0.log`);

    // An operator empties the store under a running node: the next log makes its directory again.
    for (const entry of [...Deno.readDirSync(root)]) {
      await Deno.remove(`${root}/${entry.name}`, { recursive: true });
    }
    const { log } = await reopened.open("thread-1");
    await log.append([bytes("again")]);
    await log.close();
    assert.deepEqual(await reopened.names(), ["thread-1"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

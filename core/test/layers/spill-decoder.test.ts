/**
 * A layer decoded by the zstd program is written into an unlinked temp file (SpillDecoder) and the
 * walker pulls its tar into two recycled buffers; uncompressed blobs in files are pulled the same
 * way. What must hold: files bigger than a read buffer come out byte for byte (a buffer still held
 * by an open entry is never overwritten); a corrupt stream, a tampered blob and a decompression
 * bomb are refused and never look complete; the spill file exists only as an open descriptor of
 * this process (never a name in any directory) and is closed when the layer is done or refused.
 * Expected bytes come from the random content we put in the tar; compression is the zstd program's.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs, { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { HostileInputError, ImageError } from "../../src/errors.js";
import { BLOB_READ_BYTES, FileBlob } from "../../src/image/file-blob.js";
import { DEFAULT_LAYER_LIMITS, walkLayer, type WalkOptions } from "../../src/image/layer-walker.js";
import type { FileCataloger, FileContent } from "../../src/catalog/types.js";
import { buildLayer, zstdUnavailableReason, type BuiltLayer } from "../helpers/image-builder.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-spill-"));
const spillDir = path.join(dir, "tmp");
mkdirSync(spillDir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = process.env.STOWAWAY_SPILL;
afterEach(() => {
  if (saved === undefined) delete process.env.STOWAWAY_SPILL;
  else process.env.STOWAWAY_SPILL = saved;
});

const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Spill files this process has open: the kernel shows an unlinked file's old name with "(deleted)". */
function openSpills(): string[] {
  const found: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.includes(".decode-")) found.push(target);
    } catch {
      // closed between the listing and the readlink
    }
  }
  return found;
}

async function noSpillsLeft(): Promise<string[]> {
  for (let i = 0; i < 50 && openSpills().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return openSpills();
}

// 3.5 MiB of random bytes: four 1 MiB reads, so the entry holds views of chunks across buffer turns.
const big = randomBytes(3.5 * 1024 * 1024);
const small = Buffer.from("Package: demo\nVersion: 1.0\n");
const entries = [
  { path: "usr/share/filler-a", content: randomBytes(700 * 1024) },
  { path: "opt/app/big.bin", content: big },
  { path: "usr/share/filler-b", content: randomBytes(1300 * 1024) },
  { path: "var/lib/dpkg/status", content: small },
];
const wanted = new Set(["opt/app/big.bin", "var/lib/dpkg/status"]);

/** A file cataloger that notes, while the walk runs, which spill files are open. */
function spyCataloger(seen: string[][]): FileCataloger {
  return {
    kind: "file",
    name: "spy",
    version: 1,
    wants: (p) => p === "var/lib/dpkg/status",
    async analyze() {
      seen.push(openSpills());
      return [];
    },
  };
}

let fileCount = 0;
async function blobFile(layer: BuiltLayer, blob = layer.blob, digest = layer.digest): Promise<FileBlob> {
  const file = path.join(dir, `blob-${fileCount++}`);
  writeFileSync(file, blob);
  return FileBlob.open({ file, start: 0, size: blob.length }, digest, "test blob");
}

function walk(blob: FileBlob, layer: BuiltLayer, extra: Partial<WalkOptions> = {}) {
  return walkLayer(blob, layer.diffId, {
    what: "test layer",
    wants: (p) => wanted.has(p),
    tempDir: spillDir,
    verifyDiffId: false,
    ...extra,
  });
}

const zstdOk = zstdUnavailableReason() === undefined;

describe.skipIf(!zstdOk)("layers decoded through a spill file", () => {
  it("a zstd layer decodes through an unlinked file, and big files come out whole", async () => {
    const layer = await buildLayer(entries, { compression: "zstd" });
    const seen: string[][] = [];
    const snapshot = await walk(await blobFile(layer), layer, { fileCatalogers: [spyCataloger(seen)] });
    expect(sha256(snapshot.files.get("opt/app/big.bin")!)).toBe(sha256(big));
    expect(snapshot.files.get("var/lib/dpkg/status")).toEqual(small);
    expect(snapshot.stats.compression).toBe("zstd");
    expect(snapshot.stats.uncompressedBytes).toBe(layer.tar.length);
    // While the layer was read, its decoded file was open here, and only as a deleted file.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.length).toBe(1);
    expect(seen[0]![0]).toMatch(/\.decode-.* \(deleted\)$/);
    expect(readdirSync(spillDir)).toEqual([]);
    expect(await noSpillsLeft()).toEqual([]);
  });

  it("an uncompressed layer pulled into recycled buffers keeps its big files whole", async () => {
    const layer = await buildLayer(entries, { compression: "none" });
    const snapshot = await walk(await blobFile(layer), layer);
    expect(sha256(snapshot.files.get("opt/app/big.bin")!)).toBe(sha256(big));
    expect(snapshot.files.get("var/lib/dpkg/status")).toEqual(small);
    expect(snapshot.stats.uncompressedBytes).toBe(layer.tar.length);
  });

  it("with STOWAWAY_SPILL=0 the program's output is read through a pipe instead, to the same result", async () => {
    process.env.STOWAWAY_SPILL = "0";
    const layer = await buildLayer(entries, { compression: "zstd" });
    const seen: string[][] = [];
    const snapshot = await walk(await blobFile(layer), layer, { fileCatalogers: [spyCataloger(seen)] });
    expect(sha256(snapshot.files.get("opt/app/big.bin")!)).toBe(sha256(big));
    expect(seen).toEqual([[]]);
  });

  it("a corrupt zstd stream (digest intact) is refused and its spill file closed", async () => {
    const layer = await buildLayer(entries, { compression: "zstd" });
    const corrupt = Buffer.from(layer.blob);
    // Past the frame header, into the compressed blocks.
    const middle = Math.floor(corrupt.length / 2);
    for (let i = middle; i < middle + 64; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
    const error = await walk(await blobFile(layer, corrupt, sha256(corrupt)), layer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(/test layer|zstd/);
    expect(await noSpillsLeft()).toEqual([]);
  });

  it("a tampered blob is refused with the digest error, never as a complete layer", async () => {
    const layer = await buildLayer(entries, { compression: "zstd" });
    // A valid zstd stream of other content under the original digest.
    const other = await buildLayer([{ path: "etc/other", content: "x" }], { compression: "zstd" });
    const error = await walk(await blobFile(layer, other.blob, layer.digest), layer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toContain(layer.digest);
    expect(await noSpillsLeft()).toEqual([]);
  });

  it("a layer that decodes past the limit stops there as a decompression bomb", async () => {
    const layer = await buildLayer(entries, { compression: "zstd" });
    const limits = { ...DEFAULT_LAYER_LIMITS, maxLayerBytes: 2 * 1024 * 1024 };
    const error = await walk(await blobFile(layer), layer, { limits }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostileInputError);
    expect((error as Error).message).toContain("2097152-byte limit");
    expect(await noSpillsLeft()).toEqual([]);
  });
});

/** Bytes read with readSync from spill files while `run` runs (what the walker read of decoded output). */
async function spillBytesRead<T>(run: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const original = fs.readSync;
  let bytes = 0;
  fs.readSync = ((fd: number, ...rest: unknown[]) => {
    const n = (original as (...args: unknown[]) => number)(fd, ...rest);
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).includes(".decode-")) bytes += n;
    } catch {
      // not a descriptor we can name
    }
    return n;
  }) as typeof fs.readSync;
  syncBuiltinESMExports();
  try {
    return { result: await run(), bytes };
  } finally {
    fs.readSync = original;
    syncBuiltinESMExports();
  }
}

const zstdProgram = (data: Buffer): Buffer =>
  spawnSync("zstd", ["-q", "-c", "-"], { input: data, maxBuffer: 1 << 30 }).stdout;

describe.skipIf(!zstdOk)("data no one reads in a spilled layer", () => {
  // 6 MiB no one wants and 3 MiB a file cataloger sniffs and turns down, around a small wanted file.
  const unwanted = randomBytes(6 * 1024 * 1024);
  const sniffedOut = randomBytes(3 * 1024 * 1024);
  const layerEntries = [
    { path: "usr/share/unwanted.bin", content: unwanted },
    { path: "usr/lib/sniffed.so", content: sniffedOut },
    { path: "var/lib/dpkg/status", content: small },
  ];
  const sniffer: FileCataloger = {
    kind: "file",
    name: "sniffer",
    version: 1,
    wants: (p) => p === "usr/lib/sniffed.so",
    sniff: () => false,
    analyze: () => Promise.resolve([]),
  };

  /** A file cataloger that wants only `path` and reads it with `read`, finding nothing. */
  const readerOf = (path: string, read: (file: FileContent) => Promise<void>): FileCataloger => ({
    kind: "file",
    name: `reader of ${path}`,
    version: 1,
    wants: (p) => p === path,
    analyze: async (file) => {
      await read(file);
      return [];
    },
  });

  it("is stepped over unread, and the layer comes out the same", async () => {
    const layer = await buildLayer(layerEntries, { compression: "zstd" });
    const { result: snapshot, bytes } = await spillBytesRead(async () =>
      walk(await blobFile(layer), layer, { fileCatalogers: [sniffer] }),
    );
    expect(snapshot.files.get("var/lib/dpkg/status")).toEqual(small);
    expect(snapshot.analyzed.get("usr/lib/sniffed.so")).toEqual([]);
    expect(snapshot.stats.uncompressedBytes).toBe(layer.tar.length);
    // Read: headers, the sniffed head and the wanted file, not the 9 MiB behind them.
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(1024 * 1024);
    expect(await noSpillsLeft()).toEqual([]);
  });

  it("a big file only file catalogers read is read by position: what they ask for, not the whole file", async () => {
    const asked: string[] = [];
    const tail = readerOf("usr/share/unwanted.bin", async (file) => {
      // A format whose index sits at the end (an ELF's section headers, a jar's directory).
      const last = await file.read(file.size - 16, 16);
      asked.push(last.toString("hex"), (await file.read(file.size - 4, 100)).toString("hex"));
    });
    const whole = readerOf("usr/lib/sniffed.so", async (file) => {
      asked.push(sha256(await file.readAll()));
    });
    const layer = await buildLayer(layerEntries, { compression: "zstd" });
    const { result: snapshot, bytes } = await spillBytesRead(async () =>
      walk(await blobFile(layer), layer, { fileCatalogers: [tail] }),
    );
    expect(asked).toEqual([
      unwanted.subarray(unwanted.length - 16).toString("hex"),
      unwanted.subarray(unwanted.length - 4).toString("hex"),
    ]);
    expect(snapshot.analyzed.get("usr/share/unwanted.bin")).toEqual([]);
    expect(snapshot.files.get("var/lib/dpkg/status")).toEqual(small);
    expect(bytes).toBeLessThan(1024 * 1024);
    // readAll gives the whole file, byte for byte.
    asked.length = 0;
    await walk(await blobFile(layer), layer, { fileCatalogers: [whole] });
    expect(asked).toEqual([sha256(sniffedOut)]);
    expect(await noSpillsLeft()).toEqual([]);
  });

  it("an output that ends inside a file a cataloger reads by position is refused as truncated", async () => {
    const layer = await buildLayer(layerEntries, { compression: "zstd" });
    const cut = layer.tar.subarray(0, 512 + 3 * 1024 * 1024);
    const blob = zstdProgram(cut);
    const tail = readerOf("usr/share/unwanted.bin", async (file) => {
      await file.read(file.size - 16, 16);
    });
    const error = await walk(await blobFile(layer, blob, sha256(blob)), layer, { fileCatalogers: [tail] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(/unexpected end of data/);
    expect(await noSpillsLeft()).toEqual([]);
  });

  it("an output that ends inside skipped data is refused as truncated", async () => {
    const layer = await buildLayer(layerEntries, { compression: "zstd" });
    // A complete zstd stream of a tar cut in the middle of the unwanted file.
    const cut = layer.tar.subarray(0, 512 + 3 * 1024 * 1024);
    const blob = zstdProgram(cut);
    const error = await walk(await blobFile(layer, blob, sha256(blob)), layer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(/^test layer is not a readable layer tar \(unexpected end of data/);
    expect(await noSpillsLeft()).toEqual([]);
  });
});

describe.skipIf(!zstdOk)("read buffers of a spilled layer", () => {
  it("a read after a small one goes into the rest of its buffer while an entry holds views of it", async () => {
    // Runs of small files (kept ones are copied, ones only a file cataloger reads stay views of the
    // read buffer) between fillers no one wants: each filler is skipped, so reads are small, and
    // many end inside a file whose entry is still open. Compressible but for one random file: the
    // blob is big enough to be decoded through a spill file, and smaller than a read buffer.
    const layerEntries = [{ path: "random.bin", content: randomBytes(200 * 1024) }];
    const expected = new Map<string, string>();
    const kept = new Map<string, Buffer>();
    for (let group = 0; group < 40; group++) {
      for (let i = 0; i < 6; i++) {
        const n = group * 6 + i;
        const content = Buffer.concat([Buffer.from(`file ${n}\n`), Buffer.alloc(100 + ((n * 7919) % 30_000), n % 251)]);
        const name = `d${group}/f${i}.${i % 2 === 0 ? "pkg" : "view"}`;
        layerEntries.push({ path: name, content });
        if (name.endsWith(".pkg")) expected.set(name, sha256(content));
        else kept.set(name, content);
      }
      layerEntries.push({ path: `d${group}/filler.bin`, content: Buffer.alloc(96 * 1024, 0xee) });
    }
    const layer = await buildLayer(layerEntries, { compression: "zstd" });
    expect(layer.blob.length).toBeGreaterThan(64 * 1024);
    expect(layer.blob.length).toBeLessThan(BLOB_READ_BYTES);
    const digests = new Map<string, string>();
    const hashing: FileCataloger = {
      kind: "file",
      name: "hash",
      version: 1,
      wants: (p) => p.endsWith(".pkg"),
      async analyze(file) {
        digests.set(file.path, sha256(await file.readAll()));
        return [];
      },
    };
    const allocations = vi.spyOn(Buffer, "allocUnsafeSlow");
    let snapshot;
    let sizes: number[];
    try {
      snapshot = await walkLayer(await blobFile(layer), layer.diffId, {
        what: "test layer",
        wants: (p) => p.endsWith(".view"),
        fileCatalogers: [hashing],
        tempDir: spillDir,
        verifyDiffId: false,
      });
    } finally {
      sizes = allocations.mock.calls.map(([bytes]) => bytes);
      allocations.mockRestore();
    }
    expect(digests).toEqual(expected);
    expect(snapshot.files.size).toBe(kept.size);
    for (const [name, content] of kept) expect(snapshot.files.get(name)?.equals(content), name).toBe(true);
    expect(snapshot.stats.uncompressedBytes).toBe(layer.tar.length);
    // 3.4 MiB of tar, most of it skipped: read into one buffer (a new one only when one fills up),
    // not a new MiB each time a read ended inside a file still open.
    const readBuffers = sizes.filter((bytes) => bytes === BLOB_READ_BYTES).length;
    expect(readBuffers).toBeGreaterThan(0);
    expect(readBuffers).toBeLessThanOrEqual(2);
    expect(await noSpillsLeft()).toEqual([]);
  });
});

describe("chunks from a stream decoder", () => {
  it("are parsed after the decoder hands them over, not inside its push, so it can decode on meanwhile", async () => {
    // zlib pushes a chunk and only afterwards starts on the next: parsing inside the push would keep
    // it idle. A plain tar through a PassThrough reaches the walker inside write() when parsed at
    // once; the probe notes, whenever the walker looks at an entry, whether write() had returned.
    const layer = await buildLayer(
      [
        { path: "etc/os-release", content: "ID=debian\n" },
        { path: "usr/share/doc/a", content: "a" },
      ],
      { compression: "none" },
    );
    const source = new PassThrough();
    let insidePush = false;
    const seenInsidePush: boolean[] = [];
    const walking = walkLayer(source, layer.diffId, {
      what: "test layer",
      wants: (p) => {
        seenInsidePush.push(insidePush);
        return p === "etc/os-release";
      },
      verifyDiffId: false,
    });
    insidePush = true;
    source.write(layer.blob);
    insidePush = false;
    source.end();
    const snapshot = await walking;
    expect(snapshot.files.get("etc/os-release")?.toString()).toBe("ID=debian\n");
    expect(seenInsidePush.length).toBeGreaterThan(0);
    expect(seenInsidePush.every((inside) => !inside)).toBe(true);
  });
});

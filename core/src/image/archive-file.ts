import { closeSync, createWriteStream, openSync, readSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { HostileInputError, ImageError } from "../errors.js";
import { TarStore } from "./member-store.js";

export type OuterCompression = "gzip" | "zstd" | "none";

/** Reads the magic bytes of a file (compression is detected by content, never by extension). */
export function sniffFile(file: string): OuterCompression {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    throw new ImageError(`${file}: cannot open (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
    if (n === 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
    return "none";
  } finally {
    closeSync(fd);
  }
}

export interface OpenedArchive {
  store: TarStore;
  /** Removes the decompressed copy, if one was made. */
  release(): Promise<void>;
}

/**
 * Opens an image archive for random access. A compressed archive (`docker save | gzip`, or zstd)
 * cannot be seeked, so it is decompressed once into a private temp directory that release()
 * deletes; plain tars are read in place.
 */
export interface OpenArchiveOptions {
  /** Parent of the private directory a compressed archive is decompressed into (default: the OS temp dir). */
  tempDir?: string;
  /** Cap on the decompressed archive, so a bomb stops instead of filling the disk. */
  maxBytes?: number;
}

const DEFAULT_MAX_ARCHIVE_BYTES = 64 * 1024 ** 3;

export async function openArchive(file: string, options: OpenArchiveOptions = {}): Promise<OpenedArchive> {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new ImageError(`${file}: no such file`);
  }
  if (!stat.isFile()) throw new ImageError(`${file}: not a regular file; pass an image archive (.tar)`);
  const compression = sniffFile(file);
  if (compression === "none") return { store: TarStore.open(file), release: async () => {} };

  // The decoders (zlib, the zstd program, fzstd) load only for a compressed archive: a plain tar, the
  // usual case and the whole of a warm rescan, never needs them.
  const [{ ByteLimit, decompressAuto }, { BLOB_READ_BYTES, FileBlob }] = await Promise.all([
    import("./decompress.js"),
    import("./file-blob.js"),
  ]);
  const parent = options.tempDir ?? os.tmpdir();
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(path.join(parent, "stowaway-archive-"));
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    const plain = path.join(dir, "archive.tar");
    try {
      const limit = new ByteLimit(options.maxBytes ?? DEFAULT_MAX_ARCHIVE_BYTES, file);
      // Read by position into reused buffers that feed the decoder directly (see FileBlob).
      const source = await FileBlob.open({ file, start: 0, size: stat.size }, undefined, file);
      await pipeline(decompressAuto(source), limit, createWriteStream(plain, { highWaterMark: BLOB_READ_BYTES }));
    } catch (error) {
      if (error instanceof HostileInputError) throw error;
      throw new ImageError(
        `${file}: cannot decompress the ${compression} archive (${(error as Error).message}); it is truncated or damaged`,
      );
    }
    return { store: TarStore.open(plain, file), release };
  } catch (error) {
    await release();
    throw error;
  }
}

import { createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { inflateRawSync } from "node:zlib";
import type Yauzl from "yauzl";
import type { ByteSource } from "../elf/index.js";
import { LimitExceeded } from "../warnings.js";
import { lazyDependency } from "../../lazy-dependency.js";

// Loaded with the first archive, not with core (README "Caching and speed").
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see lazyDependency
const yauzl = lazyDependency<typeof Yauzl>("yauzl", () => require("yauzl"));

/** yauzl reads the central directory 46 bytes at a time; a window turns that into a few large reads. */
const WINDOW_BYTES = 256 * 1024;
const STREAM_CHUNK_BYTES = 64 * 1024;

/** Serves small reads from one cached window, so a spilled jar is not reopened per central-directory entry. */
const defineWindowedReader = () =>
  class WindowedReader extends yauzl().RandomAccessReader {
    private window?: { offset: number; data: Buffer };

    constructor(private readonly source: ByteSource) {
      super();
    }

    private async readRange(offset: number, length: number): Promise<Buffer> {
      if (length > WINDOW_BYTES) return this.source.read(offset, length);
      const cached = this.window;
      if (!cached || offset < cached.offset || offset + length > cached.offset + cached.data.length) {
        this.window = {
          offset,
          data: await this.source.read(offset, Math.min(WINDOW_BYTES, this.source.size - offset)),
        };
      }
      const start = offset - this.window!.offset;
      return this.window!.data.subarray(start, start + length);
    }

    override read(
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
      callback: (err: Error | null, bytesRead?: number) => void,
    ): void {
      this.readRange(position, length).then(
        (data) => {
          data.copy(buffer, offset);
          callback(null, data.length);
        },
        (error: Error) => callback(error),
      );
    }

    override _readStreamForRange(start: number, end: number): Readable {
      const source = this.source;
      return Readable.from(
        (async function* () {
          for (let offset = start; offset < end; offset += STREAM_CHUNK_BYTES) {
            const data = await source.read(offset, Math.min(STREAM_CHUNK_BYTES, end - offset));
            if (data.length === 0) throw new Error("unexpected end of archive");
            yield data;
          }
        })(),
        { objectMode: false },
      );
    }
  };

let windowedReader: ReturnType<typeof defineWindowedReader> | undefined;

export type ZipEntry = Yauzl.Entry;

/** An open archive: its entry list (only what `keep` selected) and a way to read entries. */
export interface OpenZip {
  entryCount: number;
  entries: ZipEntry[];
  readEntry(entry: ZipEntry, maxBytes: number): Promise<Buffer>;
  /** Streams an entry into a temp file and returns random access to it; `dispose` removes it. */
  spillEntry(entry: ZipEntry, maxBytes: number, tempDir: string): Promise<ByteSource & { dispose(): Promise<void> }>;
  close(): void;
}

export class EntryCountError extends LimitExceeded {}

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;
const STORED = 0;
const DEFLATED = 8;

/** zlib's smallest output chunk (zlib.constants.Z_MIN_CHUNK). */
const MIN_CHUNK_BYTES = 64;

/**
 * One output chunk for the whole entry, one byte more than the directory says: inflating then
 * returns (a view of) that chunk instead of joining 16 KiB pieces, a copy of every inflated byte
 * (a nested jar is hundreds of kilobytes). An entry that inflates to more still works, in more chunks,
 * and is refused by the size check. Bounded by maxBytes, which readEntry has checked the size against.
 */
function inflateChunkBytes(entry: ZipEntry, maxBytes: number): number {
  return Math.max(MIN_CHUNK_BYTES, Math.min(entry.uncompressedSize, maxBytes) + 1);
}

/**
 * Reads one entry whole by locating its data through the local header and inflating it in one
 * synchronous call. For the small entries read whole (manifests, pom.properties, nested jars held in
 * memory) this avoids a stream pipeline and a thread-pool round trip per entry, which dominated the
 * time spent on wars with many small jars. Sizes are checked against the central directory.
 */
async function readWhole(source: ByteSource, entry: ZipEntry, maxBytes: number): Promise<Buffer> {
  if (entry.isEncrypted()) throw new Error("entry is encrypted");
  const header = await source.read(entry.relativeOffsetOfLocalHeader, LOCAL_HEADER_BYTES);
  if (header.length < LOCAL_HEADER_BYTES || header.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE)
    throw new Error("invalid local file header");
  const dataStart =
    entry.relativeOffsetOfLocalHeader + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw = await source.read(dataStart, entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new Error("entry data runs past the end of the archive");
  let data: Buffer;
  if (entry.compressionMethod === STORED) data = raw;
  else if (entry.compressionMethod === DEFLATED)
    data = inflateRawSync(raw, {
      maxOutputLength: Math.max(1, maxBytes),
      chunkSize: inflateChunkBytes(entry, maxBytes),
    });
  else throw new Error(`unsupported compression method ${entry.compressionMethod}`);
  if (data.length !== entry.uncompressedSize)
    throw new Error(`inflated to ${data.length} bytes, the directory says ${entry.uncompressedSize}`);
  return data;
}

/**
 * Opens a zip over random access. The central directory is walked once; entries `keep` rejects
 * are counted and dropped, so a jar of 100,000 classes costs no memory beyond its count.
 */
export async function openZip(
  source: ByteSource,
  maxEntries: number,
  keep: (entry: ZipEntry) => boolean,
): Promise<OpenZip> {
  windowedReader ??= defineWindowedReader();
  const zip = await yauzl().fromRandomAccessReaderPromise(new windowedReader(source), source.size, {
    lazyEntries: true,
    autoClose: false,
    validateEntrySizes: true,
    strictFileNames: false,
  });
  if (zip.entryCount > maxEntries) {
    zip.close();
    throw new EntryCountError(`${zip.entryCount} entries, over the ${maxEntries} limit`);
  }
  const entries: ZipEntry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on("entry", (entry: ZipEntry) => {
        if (keep(entry)) entries.push(entry);
        zip.readEntry();
      });
      zip.on("end", () => resolve());
      zip.on("error", reject);
      zip.readEntry();
    });
  } catch (error) {
    zip.close();
    throw error;
  }

  const openStream = (entry: ZipEntry): Promise<Readable> => zip.openReadStreamPromise(entry);

  return {
    entryCount: zip.entryCount,
    entries,
    async readEntry(entry, maxBytes) {
      if (entry.uncompressedSize > maxBytes)
        throw new LimitExceeded(`${entry.uncompressedSize} bytes, over the ${maxBytes} limit`);
      return readWhole(source, entry, maxBytes);
    },
    async spillEntry(entry, maxBytes, tempDir) {
      if (entry.uncompressedSize > maxBytes)
        throw new LimitExceeded(`${entry.uncompressedSize} bytes, over the ${maxBytes} limit`);
      const dir = await mkdtemp(path.join(tempDir || os.tmpdir(), "stowaway-jar-"));
      const file = path.join(dir, "nested");
      const dispose = () => rm(dir, { recursive: true, force: true });
      try {
        await pipeline(await openStream(entry), createWriteStream(file, { mode: 0o600 }));
        const handle = await open(file, "r");
        const size = entry.uncompressedSize;
        return {
          size,
          async read(offset, length) {
            const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
            const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
            return buffer.subarray(0, bytesRead);
          },
          async dispose() {
            await handle.close();
            await dispose();
          },
        };
      } catch (error) {
        await dispose();
        throw error;
      }
    },
    close: () => zip.close(),
  };
}

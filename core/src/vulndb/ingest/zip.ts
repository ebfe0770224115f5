import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { Readable } from "node:stream";
import { inflateRawSync } from "node:zlib";
import yauzl from "yauzl";
import { HostileVulnDataError, VulnDbError } from "../errors.js";

export interface ZipLimits {
  maxEntries: number;
  /** Uncompressed bytes allowed for one member (OSV records are a few KB; the largest are ~1 MB). */
  maxEntryBytes: number;
  /** Uncompressed bytes allowed for the whole archive. */
  maxTotalBytes: number;
}

// OSV's largest all.zip (Ubuntu, Debian) holds well under a million records of at most a few MB.
export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 2_000_000,
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 16 * 1024 * 1024 * 1024,
};

export interface ZipMember {
  name: string;
  data: Buffer;
}

const BLOCK = 1 << 20;

/**
 * yauzl's stock file reader builds a read stream for every central-directory record and local header
 * (~80 µs each), which dominates reading an all.zip of 100k+ small records. This reader answers those
 * small reads from a 1 MiB block cache instead; the directory and the members are read front to back,
 * so nearly every read is a cache hit.
 */
class BlockCachedReader extends yauzl.RandomAccessReader {
  // Two cursors move through the file at once (central directory near the end, members from the
  // start), so a few blocks are kept rather than one.
  private readonly blocks: Array<{ start: number; data: Buffer }> = [];

  constructor(
    private readonly file: string,
    readonly fd: number,
  ) {
    super();
  }

  readInto(buffer: Buffer, offset: number, length: number, position: number): void {
    if (length > BLOCK / 4) {
      const read = readSync(this.fd, buffer, offset, length, position);
      if (read !== length) throw new Error("unexpected end of file");
      return;
    }
    let block = this.blocks.find((b) => position >= b.start && position + length <= b.start + b.data.length);
    if (!block) {
      const data = Buffer.allocUnsafe(BLOCK);
      const read = readSync(this.fd, data, 0, BLOCK, position);
      if (read < length) throw new Error("unexpected end of file");
      block = { start: position, data: data.subarray(0, read) };
      this.blocks.unshift(block);
      if (this.blocks.length > 4) this.blocks.pop();
    }
    block.data.copy(buffer, offset, position - block.start, position - block.start + length);
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    let failure: Error | null = null;
    try {
      this.readInto(buffer, offset, length, position);
    } catch (error) {
      failure = error as Error;
    }
    process.nextTick(callback, failure);
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return createReadStream(this.file, { start, end: end - 1 });
  }

  private closed = false;

  override close(callback: (err: Error | null) => void): void {
    if (!this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
    process.nextTick(callback, null);
  }
}

/**
 * Reads one member with a single positioned read and a synchronous inflate: OSV members are small,
 * and yauzl's per-entry read streams cost ~250 µs each, which dominates a 500k-record build. The
 * inflate is capped at `cap` bytes (declared sizes can lie) and the result must match the declared size.
 */
async function readMember(
  zip: yauzl.ZipFile,
  reader: BlockCachedReader,
  entry: yauzl.Entry,
  cap: number,
): Promise<Buffer> {
  if (entry.isEncrypted()) throw new Error("encrypted members are not supported");
  if (entry.compressedSize > cap) throw new RangeError("compressed member over the limit");
  const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  const compressed = Buffer.alloc(entry.compressedSize);
  reader.readInto(compressed, 0, compressed.length, fileDataStart);
  let data: Buffer;
  if (entry.compressionMethod === 0) data = compressed;
  else if (entry.compressionMethod === 8) data = inflateRawSync(compressed, { maxOutputLength: Math.max(cap, 1) });
  else throw new Error(`compression method ${entry.compressionMethod} is not supported`);
  if (data.length !== entry.uncompressedSize) {
    throw new Error(`inflated to ${data.length} bytes, the directory says ${entry.uncompressedSize}`);
  }
  return data;
}

/**
 * Yields the file members of a zip one at a time, refusing archives that exceed `limits` (zip bombs)
 * before inflating the offending member, and failing on any structural damage so a truncated
 * download is never mistaken for a complete feed.
 */
export async function* readZipMembers(
  file: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  /** Members this returns true for are passed over unread (e.g. a nested archive read by extractZipMembers). */
  skip?: (name: string) => boolean,
): AsyncGenerator<ZipMember> {
  const reader = new BlockCachedReader(file, openSync(file, "r"));
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, fstatSync(reader.fd).size, {
      lazyEntries: true,
      autoClose: true,
      validateEntrySizes: true,
    });
  } catch (error) {
    reader.close(() => undefined);
    throw new VulnDbError(`${file}: not a readable zip archive (${(error as Error).message}); re-download it`, {
      cause: error,
    });
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new HostileVulnDataError(
        `${file}: ${zip.entryCount} zip entries exceed the limit of ${limits.maxEntries}; refusing to read it`,
      );
    }
    let total = 0;
    for (let index = 0; index < zip.entryCount; index++) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const onEntry = (value: yauzl.Entry) => {
          zip.off("error", onError);
          zip.off("end", onEnd);
          resolve(value);
        };
        const onError = (error: Error) => {
          zip.off("entry", onEntry);
          zip.off("end", onEnd);
          reject(error);
        };
        const onEnd = () => {
          zip.off("entry", onEntry);
          zip.off("error", onError);
          resolve(undefined);
        };
        zip.once("entry", onEntry);
        zip.once("error", onError);
        zip.once("end", onEnd);
        zip.readEntry();
      }).catch((error: Error) => {
        throw new VulnDbError(`${file}: damaged zip archive (${error.message}); re-download it`, { cause: error });
      });
      if (!entry) {
        throw new VulnDbError(`${file}: the zip ends after ${index} of ${zip.entryCount} entries; re-download it`);
      }
      if (entry.fileName.endsWith("/")) continue;
      const name = entry.fileName;
      if (skip?.(name)) continue;
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        throw new HostileVulnDataError(
          `${file}: member ${name} inflates to ${entry.uncompressedSize} bytes, over the ${limits.maxEntryBytes}-byte limit; refusing it`,
        );
      }
      if (total + entry.uncompressedSize > limits.maxTotalBytes) {
        throw new HostileVulnDataError(
          `${file}: members inflate to more than ${limits.maxTotalBytes} bytes; refusing it as a zip bomb`,
        );
      }
      let data: Buffer;
      try {
        data = await readMember(zip, reader, entry, Math.min(limits.maxEntryBytes, limits.maxTotalBytes - total));
      } catch (error) {
        if (error instanceof RangeError || (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
          throw new HostileVulnDataError(`${file}: member ${name} inflates past its limit; refusing it as a zip bomb`);
        }
        if (error instanceof VulnDbError) throw error;
        throw new VulnDbError(`${file}: member ${name} cannot be read (${(error as Error).message}); re-download it`, {
          cause: error,
        });
      }
      total += data.length;
      yield { name, data };
    }
  } finally {
    zip.close();
  }
}

/** True when the first bytes are a zip local-file or empty-archive signature. */
export function looksLikeZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
}

/**
 * Streams the members `wanted` selects to files under `dir` (named by `target`), for archives
 * nested in an archive (the CVE List V5 baseline is a zip holding `cves.zip`), which are too large
 * to inflate in memory. The same limits apply: the member count, and each member's inflated size.
 */
export async function extractZipMembers(
  file: string,
  wanted: (name: string) => boolean,
  target: (name: string, index: number) => string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<string[]> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
  } catch (error) {
    throw new VulnDbError(`${file}: not a readable zip archive (${(error as Error).message}); re-download it`, {
      cause: error,
    });
  }
  const written: string[] = [];
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new HostileVulnDataError(
        `${file}: ${zip.entryCount} zip entries exceed the limit of ${limits.maxEntries}; refusing to read it`,
      );
    }
    const entries: yauzl.Entry[] = [];
    await new Promise<void>((resolve, reject) => {
      zip.on("entry", (entry: yauzl.Entry) => {
        if (!entry.fileName.endsWith("/") && wanted(entry.fileName)) entries.push(entry);
        zip.readEntry();
      });
      zip.once("end", () => resolve());
      zip.once("error", reject);
      zip.readEntry();
    }).catch((error: Error) => {
      throw new VulnDbError(`${file}: damaged zip archive (${error.message}); re-download it`, { cause: error });
    });
    for (const [index, entry] of entries.entries()) {
      if (entry.uncompressedSize > limits.maxTotalBytes) {
        throw new HostileVulnDataError(
          `${file}: member ${entry.fileName} inflates to ${entry.uncompressedSize} bytes, over the ${limits.maxTotalBytes}-byte limit; refusing it`,
        );
      }
      const out = target(entry.fileName, index);
      let bytes = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > limits.maxTotalBytes) done(new RangeError("over the limit"));
          else done(null, chunk);
        },
      });
      try {
        const stream = await zip.openReadStreamPromise(entry);
        await pipeline(stream, cap, createWriteStream(out));
      } catch (error) {
        if (error instanceof RangeError) {
          throw new HostileVulnDataError(`${file}: member ${entry.fileName} inflates past its limit; refusing it`);
        }
        throw new VulnDbError(
          `${file}: member ${entry.fileName} cannot be read (${(error as Error).message}); re-download it`,
          { cause: error },
        );
      }
      written.push(out);
    }
  } finally {
    zip.close();
  }
  return written;
}

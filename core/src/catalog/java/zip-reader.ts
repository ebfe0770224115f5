import { createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createInflateRaw, crc32, inflateRawSync } from "node:zlib";
import type { ByteSource } from "../elf/index.js";
import { LimitExceeded } from "../warnings.js";

/**
 * Zip archives (jars, wars, eggs) read through random access: the end-of-central-directory record,
 * the central directory, and the few entries a cataloger asks for. Nothing else of the archive is
 * read or inflated.
 *
 * The central directory is walked here rather than through yauzl: yauzl reads every record in two
 * callbacks, decodes every name (byte by byte for CP437), splits it to validate it and builds an
 * entry object for each, which cost more main-thread time than inflating the entries we read, for
 * jars of hundreds of classes of which we keep two or three entries. The checks and messages are
 * yauzl's (3.x), so an archive it refused is still refused, with the same words.
 */

/** Central-directory records are parsed from windows of this size, not one read per record. */
const WINDOW_BYTES = 256 * 1024;
const STREAM_CHUNK_BYTES = 64 * 1024;

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_BYTES = 56;
const MAX_COMMENT_BYTES = 0xffff;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const CENTRAL_HEADER_BYTES = 46;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;
const ZIP64_EXTRA_FIELD = 0x0001;
const UNICODE_PATH_EXTRA_FIELD = 0x7075;
const FLAG_ENCRYPTED = 0x1;
const FLAG_STRONG_ENCRYPTION = 0x40;
const FLAG_UTF8 = 0x800;
const STORED = 0;
const DEFLATED = 8;

/** One central-directory record: what reading the entry needs. */
export interface ZipEntry {
  fileName: string;
  generalPurposeBitFlag: number;
  compressionMethod: number;
  compressedSize: number;
  uncompressedSize: number;
  relativeOffsetOfLocalHeader: number;
}

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

const isEncrypted = (entry: ZipEntry): boolean => (entry.generalPurposeBitFlag & FLAG_ENCRYPTED) !== 0;

/** Sizes and offsets of 64 bits; exact up to 2^53, and every use is bounds-checked against the archive. */
function readUInt64LE(buffer: Buffer, offset: number): number {
  return buffer.readUInt32LE(offset + 4) * 0x100000000 + buffer.readUInt32LE(offset);
}

/** Reads exactly `length` bytes at `offset`, or fails as a truncated archive does. */
async function readExactly(source: ByteSource, offset: number, length: number): Promise<Buffer> {
  const data = length === 0 ? Buffer.alloc(0) : await source.read(offset, length);
  if (data.length < length) throw new Error("unexpected EOF");
  return data;
}

/** The code page zip names are in unless flagged UTF-8; its first 32 and last code points are not ASCII's. */
const CP437 =
  "\u0000☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼ !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ";

/**
 * Decodes a name or comment: UTF-8 when flagged, else CP437. Nearly every name is printable ASCII,
 * which reads the same in both: that is one latin1 slice, not a string built a character at a time.
 */
function decodeName(buffer: Buffer, start: number, end: number, utf8: boolean): string {
  if (utf8) return buffer.toString("utf8", start, end);
  let i = start;
  while (i < end) {
    const byte = buffer[i]!;
    if (byte < 0x20 || byte > 0x7e) break;
    i++;
  }
  if (i === end) return buffer.toString("latin1", start, end);
  let name = buffer.toString("latin1", start, i);
  for (; i < end; i++) name += CP437[buffer[i]!];
  return name;
}

/** yauzl's validateFileName (the backslashes were already turned into slashes). */
function invalidName(name: string): string | undefined {
  if (name.includes("\\")) return `invalid characters in fileName: ${name}`;
  if (/^[a-zA-Z]:/.test(name) || name.startsWith("/")) return `absolute path: ${name}`;
  if (name.split("/").includes("..")) return `invalid relative path: ${name}`;
  return undefined;
}

interface Directory {
  entryCount: number;
  offset: number;
}

/** Finds the (zip64) end-of-central-directory record: how many entries there are and where they start. */
async function readDirectoryEnd(source: ByteSource): Promise<Directory> {
  const totalSize = source.size;
  const bufferSize = Math.min(ZIP64_LOCATOR_BYTES + EOCD_BYTES + MAX_COMMENT_BYTES, totalSize);
  const buffer = await readExactly(source, totalSize - bufferSize, bufferSize);
  for (let i = bufferSize - EOCD_BYTES; i >= 0; i -= 1) {
    if (buffer.readUInt32LE(i) !== EOCD_SIGNATURE) continue;
    const diskNumber = buffer.readUInt16LE(i + 4);
    let entryCount = buffer.readUInt16LE(i + 10);
    let offset = buffer.readUInt32LE(i + 16);
    const commentLength = buffer.readUInt16LE(i + 20);
    const expectedCommentLength = bufferSize - i - EOCD_BYTES;
    if (commentLength !== expectedCommentLength)
      throw new Error(
        `Invalid comment length. Expected: ${expectedCommentLength}. Found: ${commentLength}. Are there extra bytes at the end of the file? Or is the end of central dir signature \`PK☺☻\` in the comment?`,
      );
    if (i - ZIP64_LOCATOR_BYTES >= 0 && buffer.readUInt32LE(i - ZIP64_LOCATOR_BYTES) === ZIP64_LOCATOR_SIGNATURE) {
      const zip64EndOffset = readUInt64LE(buffer, i - ZIP64_LOCATOR_BYTES + 8);
      const zip64End = await readExactly(source, zip64EndOffset, ZIP64_EOCD_BYTES);
      if (zip64End.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE)
        throw new Error("invalid zip64 end of central directory record signature");
      const zip64Disk = zip64End.readUInt32LE(16);
      if (zip64Disk !== 0) throw new Error(`multi-disk zip files are not supported: found disk number: ${zip64Disk}`);
      entryCount = readUInt64LE(zip64End, 32);
      offset = readUInt64LE(zip64End, 48);
      return { entryCount, offset };
    }
    if (diskNumber !== 0) throw new Error(`multi-disk zip files are not supported: found disk number: ${diskNumber}`);
    return { entryCount, offset };
  }
  throw new Error("End of central directory record signature not found. Either not a zip file, or file is truncated.");
}

/** Serves the central directory's records from a few large reads of the archive. */
class Window {
  private data: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(private readonly source: ByteSource) {}

  /** The bytes at [offset, offset + length) and where they start in the returned buffer. */
  async view(offset: number, length: number): Promise<{ buffer: Buffer; at: number }> {
    if (offset < this.start || offset + length > this.start + this.data.length) {
      const wanted = Math.max(length, Math.min(WINDOW_BYTES, this.source.size - offset));
      this.data = wanted > 0 ? await this.source.read(offset, wanted) : Buffer.alloc(0);
      this.start = offset;
      if (this.data.length < length) throw new Error("unexpected EOF");
    }
    return { buffer: this.data, at: offset - this.start };
  }
}

/**
 * Walks the central directory. An entry `keep` rejects costs its name and nothing else, so a jar of
 * 100,000 classes costs no memory beyond its count.
 */
async function readEntries(
  source: ByteSource,
  directory: Directory,
  keep: (fileName: string) => boolean,
): Promise<ZipEntry[]> {
  const window = new Window(source);
  const entries: ZipEntry[] = [];
  let cursor = directory.offset;
  for (let index = 0; index < directory.entryCount; index++) {
    let { buffer, at } = await window.view(cursor, CENTRAL_HEADER_BYTES);
    const signature = buffer.readUInt32LE(at);
    if (signature !== CENTRAL_HEADER_SIGNATURE)
      throw new Error(`invalid central directory file header signature: 0x${signature.toString(16)}`);
    const flags = buffer.readUInt16LE(at + 8);
    const compressionMethod = buffer.readUInt16LE(at + 10);
    let compressedSize = buffer.readUInt32LE(at + 20);
    let uncompressedSize = buffer.readUInt32LE(at + 24);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extraLength = buffer.readUInt16LE(at + 30);
    const commentLength = buffer.readUInt16LE(at + 32);
    let relativeOffsetOfLocalHeader = buffer.readUInt32LE(at + 42);
    if (flags & FLAG_STRONG_ENCRYPTION) throw new Error("strong encryption is not supported");
    cursor += CENTRAL_HEADER_BYTES;
    const variableLength = nameLength + extraLength + commentLength;
    ({ buffer, at } = await window.view(cursor, variableLength));
    cursor += variableLength;
    const nameStart = at;
    const nameEnd = at + nameLength;
    const extraEnd = nameEnd + extraLength;

    let fileName: string | undefined;
    let zip64: Buffer | undefined;
    // yauzl's parseExtraFields: header id, size, data; a field running past the extra area is an error.
    for (let i = nameEnd; i < extraEnd - 3;) {
      const id = buffer.readUInt16LE(i);
      const dataStart = i + 4;
      const dataEnd = dataStart + buffer.readUInt16LE(i + 2);
      if (dataEnd > extraEnd) throw new Error("extra field length exceeds extra field buffer size");
      if (id === ZIP64_EXTRA_FIELD) zip64 ??= buffer.subarray(dataStart, dataEnd);
      // Info-ZIP Unicode Path: used when its version is 1 and its CRC matches the header's name.
      else if (
        id === UNICODE_PATH_EXTRA_FIELD &&
        fileName === undefined &&
        dataEnd - dataStart >= 6 &&
        buffer[dataStart] === 1 &&
        buffer.readUInt32LE(dataStart + 1) === crc32(buffer.subarray(nameStart, nameEnd))
      )
        fileName = buffer.toString("utf8", dataStart + 5, dataEnd);
      i = dataEnd;
    }
    fileName ??= decodeName(buffer, nameStart, nameEnd, (flags & FLAG_UTF8) !== 0);
    if (fileName.includes("\\")) fileName = fileName.replace(/\\/g, "/");
    // Only a name with "..", a leading "/" or a drive letter can fail the check: skip the split for the rest.
    if (fileName.includes("..") || fileName.charCodeAt(0) === 47 || fileName.charCodeAt(1) === 58) {
      const invalid = invalidName(fileName);
      if (invalid) throw new Error(invalid);
    }

    if (zip64) {
      let at64 = 0;
      if (uncompressedSize === 0xffffffff) {
        if (at64 + 8 > zip64.length)
          throw new Error("zip64 extended information extra field does not include uncompressed size");
        uncompressedSize = readUInt64LE(zip64, at64);
        at64 += 8;
      }
      if (compressedSize === 0xffffffff) {
        if (at64 + 8 > zip64.length)
          throw new Error("zip64 extended information extra field does not include compressed size");
        compressedSize = readUInt64LE(zip64, at64);
        at64 += 8;
      }
      if (relativeOffsetOfLocalHeader === 0xffffffff) {
        if (at64 + 8 > zip64.length)
          throw new Error("zip64 extended information extra field does not include relative header offset");
        relativeOffsetOfLocalHeader = readUInt64LE(zip64, at64);
      }
    }
    if (compressionMethod === STORED) {
      const expected = uncompressedSize + (flags & FLAG_ENCRYPTED ? 12 : 0);
      if (compressedSize !== expected)
        throw new Error(
          `compressed/uncompressed size mismatch for stored file: ${compressedSize} != ${uncompressedSize}`,
        );
    }
    if (keep(fileName))
      entries.push({
        fileName,
        generalPurposeBitFlag: flags,
        compressionMethod,
        compressedSize,
        uncompressedSize,
        relativeOffsetOfLocalHeader,
      });
  }
  return entries;
}

/** Where an entry's data starts, from its local header, checked to lie inside the archive. */
async function dataStart(source: ByteSource, entry: ZipEntry): Promise<number> {
  const header = await source.read(entry.relativeOffsetOfLocalHeader, LOCAL_HEADER_BYTES);
  if (header.length < LOCAL_HEADER_BYTES || header.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE)
    throw new Error("invalid local file header");
  return entry.relativeOffsetOfLocalHeader + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
}

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
  if (isEncrypted(entry)) throw new Error("entry is encrypted");
  const start = await dataStart(source, entry);
  const raw = await source.read(start, entry.compressedSize);
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

/** Passes bytes through, failing once they are more than `expected` or, at the end, fewer. */
class ByteCount extends Transform {
  private seen = 0;

  constructor(private readonly expected: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected)
      return callback(new Error(`too many bytes in the stream. expected ${this.expected}. got at least ${this.seen}`));
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen < this.expected)
      return callback(new Error(`not enough bytes in the stream. expected ${this.expected}. got only ${this.seen}`));
    callback();
  }
}

/** An entry's (inflated) bytes as a stream, for entries too big to hold in memory. */
async function entryStream(source: ByteSource, entry: ZipEntry): Promise<Readable[]> {
  if (isEncrypted(entry)) throw new Error("entry is encrypted, and options.decodeFileData !== false");
  if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED)
    throw new Error(`unsupported compression method: ${entry.compressionMethod}`);
  const start = await dataStart(source, entry);
  const end = start + entry.compressedSize;
  if (end > source.size)
    throw new Error(`file data overflows file bounds: ${start} + ${entry.compressedSize} > ${source.size}`);
  const raw = Readable.from(
    (async function* () {
      for (let offset = start; offset < end; offset += STREAM_CHUNK_BYTES) {
        const data = await source.read(offset, Math.min(STREAM_CHUNK_BYTES, end - offset));
        if (data.length === 0) throw new Error("unexpected end of archive");
        yield data;
      }
    })(),
    { objectMode: false },
  );
  return entry.compressionMethod === STORED ? [raw] : [raw, createInflateRaw(), new ByteCount(entry.uncompressedSize)];
}

/**
 * Opens a zip over random access. The central directory is walked once; entries `keep` rejects
 * (by name) are counted and dropped.
 */
export async function openZip(
  source: ByteSource,
  maxEntries: number,
  keep: (fileName: string) => boolean,
): Promise<OpenZip> {
  if (source.size > Number.MAX_SAFE_INTEGER)
    throw new Error("zip file too large. only file sizes up to 2^52 are supported");
  const directory = await readDirectoryEnd(source);
  if (directory.entryCount > maxEntries)
    throw new EntryCountError(`${directory.entryCount} entries, over the ${maxEntries} limit`);
  const entries = await readEntries(source, directory, keep);

  return {
    entryCount: directory.entryCount,
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
        await pipeline([...(await entryStream(source, entry)), createWriteStream(file, { mode: 0o600 })]);
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
    close: () => undefined,
  };
}

import {
  addressToOffset,
  ElfError,
  PF_W,
  PF_X,
  PT_LOAD,
  readElf,
  readExact,
  type ByteSource,
  type ElfFile,
} from "../elf/index.js";

/** The two strings the Go linker embeds: the toolchain version and the module information. */
export interface RawBuildInfo {
  goVersion: string;
  modInfo: string;
}

const MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const HEADER_BYTES = 32;
const ALIGN = 16;
/** Where the header may sit when only segments are left: Go's own reader searches this much. */
const SEARCH_BYTES = 64 * 1024;
/** A module list for thousands of dependencies is well under this; beyond it the header is lying. */
const MAX_STRING_BYTES = 4 * 1024 * 1024;
const FLAG_BIG_ENDIAN = 0x1;
/** Go 1.18+ stores both strings inline after the header instead of behind pointers. */
const FLAG_INLINE_STRINGS = 0x2;

/** Where the build info header can start: the `.go.buildinfo` section, else the first writable segment. */
function searchArea(elf: ElfFile, size: number): { offset: number; length: number } | undefined {
  const section = elf.sections.find((candidate) => candidate.name === ".go.buildinfo");
  if (section && section.size >= HEADER_BYTES)
    return { offset: section.offset, length: Math.min(section.size, SEARCH_BYTES) };
  // Go's own reader takes the first writable, non-executable loadable segment.
  const data = elf.segments.find((segment) => segment.type === PT_LOAD && (segment.flags & (PF_W | PF_X)) === PF_W);
  if (!data || data.offset >= size) return undefined;
  return { offset: data.offset, length: Math.min(data.fileSize, SEARCH_BYTES, size - data.offset) };
}

/**
 * Reads the build info of a Go ELF binary, or undefined when it has none (not Go, or Go before
 * modules). Throws ElfError on a damaged file.
 */
export async function readGoBuildInfo(source: ByteSource): Promise<RawBuildInfo | undefined> {
  const elf = await readElf(source);
  const area = searchArea(elf, source.size);
  if (!area || area.length < HEADER_BYTES) return undefined;
  const data = await readExact(source, area.offset, area.length);
  const start = alignedMagic(data);
  if (start < 0) return undefined;
  const header = data.subarray(start, start + HEADER_BYTES);
  const pointerSize = header[14]!;
  const flags = header[15]!;
  if (flags & FLAG_INLINE_STRINGS) {
    let offset = area.offset + start + HEADER_BYTES;
    const goVersion = await readVarintString(source, offset);
    offset = goVersion.next;
    const modInfo = await readVarintString(source, offset);
    return { goVersion: goVersion.value.toString("utf8"), modInfo: stripSentinels(modInfo.value) };
  }
  if (pointerSize !== 4 && pointerSize !== 8) throw new ElfError(`Go build info pointer size ${pointerSize}`);
  const littleEndian = (flags & FLAG_BIG_ENDIAN) === 0;
  const pointer = (buffer: Buffer, at: number): number =>
    pointerSize === 8
      ? Number(littleEndian ? buffer.readBigUInt64LE(at) : buffer.readBigUInt64BE(at))
      : littleEndian
        ? buffer.readUInt32LE(at)
        : buffer.readUInt32BE(at);
  const readStringAt = async (address: number): Promise<Buffer> => {
    // A Go string header is {data pointer, length}, both pointer-sized.
    const headerAt = addressToOffset(elf, address);
    if (!headerAt || headerAt.available < pointerSize * 2)
      throw new ElfError("Go build info string header outside the file");
    const stringHeader = await readExact(source, headerAt.offset, pointerSize * 2);
    const dataAddress = pointer(stringHeader, 0);
    const length = pointer(stringHeader, pointerSize);
    if (length === 0) return Buffer.alloc(0);
    if (length > MAX_STRING_BYTES) throw new ElfError(`Go build info string of ${length} bytes`);
    const dataAt = addressToOffset(elf, dataAddress);
    if (!dataAt || dataAt.available < length) throw new ElfError("Go build info string outside the file");
    return readExact(source, dataAt.offset, length);
  };
  const goVersion = await readStringAt(pointer(header, 16));
  const modInfo = await readStringAt(pointer(header, 16 + pointerSize));
  return { goVersion: goVersion.toString("utf8"), modInfo: stripSentinels(modInfo) };
}

/**
 * The first ALIGN-aligned offset where the header magic starts with a whole header after it, or -1.
 * Most executables are not Go: indexOf scans their data segment natively instead of comparing a
 * view of every 16th offset (a Buffer object each, 4,096 for a 64 KiB search).
 */
export function alignedMagic(data: Buffer): number {
  for (let at = data.indexOf(MAGIC); at >= 0; at = data.indexOf(MAGIC, at + 1)) {
    if (at + HEADER_BYTES > data.length) return -1;
    if (at % ALIGN === 0) return at;
  }
  return -1;
}

async function readVarintString(source: ByteSource, offset: number): Promise<{ value: Buffer; next: number }> {
  const prefix = await source.read(offset, 10);
  let length = 0;
  let shift = 0;
  let used = 0;
  for (;;) {
    if (used >= prefix.length || shift > 28) throw new ElfError("bad Go build info string length");
    const byte = prefix[used++]!;
    length += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  if (length > MAX_STRING_BYTES) throw new ElfError(`Go build info string of ${length} bytes`);
  const value = length === 0 ? Buffer.alloc(0) : await readExact(source, offset + used, length);
  return { value, next: offset + used + length };
}

/**
 * The linker wraps the module text in two 16-byte sentinels so it can be found in memory; the text
 * counts only when both are there (the layout `go version -m` checks).
 */
function stripSentinels(bytes: Buffer): string {
  if (bytes.length >= 33 && bytes[bytes.length - 17] === 0x0a)
    return bytes.subarray(16, bytes.length - 16).toString("utf8");
  return "";
}

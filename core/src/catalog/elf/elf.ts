import { LimitExceeded } from "../warnings.js";

/**
 * Just enough of the ELF format to find a named section or map a virtual address to a file offset,
 * reading through random access so a 200 MB binary costs a few small reads.
 */

/** Random access to a file's bytes; FileContent satisfies it. */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  fileSize: number;
}

export interface ElfFile {
  is64: boolean;
  littleEndian: boolean;
  sections: ElfSection[];
  segments: ElfSegment[];
}

export class ElfError extends Error {}

export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
const SHT_NOBITS = 8;
const ET_EXEC = 2;
const ET_DYN = 3;
/** Section and program header tables past this are not a real binary's. */
const MAX_TABLE_BYTES = 4 * 1024 * 1024;
const MAX_SECTION_NAMES_BYTES = 1024 * 1024;

/** True for the start of an ELF executable or shared object (the only kinds that carry build metadata). */
export function isElfExecutable(head: Buffer): boolean {
  if (head.length < 18 || head.readUInt32BE(0) !== 0x7f454c46) return false;
  const type = head[5] === 2 ? head.readUInt16BE(16) : head.readUInt16LE(16);
  return type === ET_EXEC || type === ET_DYN;
}

/*
 * Field readers over a DataView of a header or table, with the byte order as an argument: V8 compiles
 * a DataView read to one load, where a Buffer read is a bounds-checked call per byte order (two per
 * field, every section header of every binary), which made the table decoders large to compile.
 * The tables are read whole (readExact) and every field lies inside its entry, so no read is out of range.
 */
function view(buffer: Buffer): DataView {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** 64-bit fields as numbers; a value past 2^53 is no offset or size a real file has. */
function u64(table: DataView, at: number, littleEndian: boolean): number {
  // Two 32-bit halves, not a BigInt: every section header of every binary goes through here.
  const high = table.getUint32(littleEndian ? at + 4 : at, littleEndian);
  const low = table.getUint32(littleEndian ? at : at + 4, littleEndian);
  if (high > 0x1fffff) throw new ElfError("64-bit field out of range");
  return high * 0x1_0000_0000 + low;
}

function word(table: DataView, at: number, is64: boolean, littleEndian: boolean): number {
  return is64 ? u64(table, at, littleEndian) : table.getUint32(at, littleEndian);
}

/**
 * Reads exactly `length` bytes or fails: a short read means the file is truncated. Not an async
 * function: every ELF read goes through here, and V8 inlines a plain call into its callers' compiled
 * code for less than an async function's promise and state machine.
 */
export function readExact(source: ByteSource, offset: number, length: number): Promise<Buffer> {
  if (offset < 0 || length < 0 || offset + length > source.size)
    return Promise.reject(new ElfError(`range ${offset}+${length} is outside the file (${source.size} bytes)`));
  return source.read(offset, length).then((data) => {
    if (data.length !== length) throw new ElfError(`short read at ${offset}`);
    return data;
  });
}

/**
 * Parsed headers by source: the Go and Rust catalogers (and Go's two readers) each ask for the same
 * binary's headers during one walk; parsing them once saves a table read and decode per binary.
 */
const parsed = new WeakMap<ByteSource, Promise<ElfFile>>();

export function readElf(source: ByteSource): Promise<ElfFile> {
  let elf = parsed.get(source);
  if (!elf) {
    elf = parseElf(source);
    parsed.set(source, elf);
  }
  return elf;
}

/** The file header's fields that locate the two tables. */
interface ElfHeader {
  is64: boolean;
  littleEndian: boolean;
  phoff: number;
  shoff: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

/*
 * parseElf only reads; the decoding is in the synchronous functions below. Every ELF file of an image
 * goes through here: one async function with the table loops inside it was a large state machine
 * that V8 compiled twice per scan (60-70 ms each on a background thread), where these small loops
 * compile in a few milliseconds each.
 */
async function parseElf(source: ByteSource): Promise<ElfFile> {
  const header = decodeHeader(await readExact(source, 0, Math.min(64, source.size)));
  const { is64, littleEndian, phoff, phnum, shoff, shnum } = header;
  let segments: ElfSegment[] = [];
  if (phoff > 0 && phnum > 0)
    segments = decodeSegments(await readExact(source, phoff, programTableBytes(header)), header);
  // Stripped-down binaries (sstrip, some packers) have no section table; callers fall back to segments.
  if (!(shoff > 0 && shnum > 0 && shoff < source.size)) return { is64, littleEndian, sections: [], segments };
  const table = decodeSections(await readExact(source, shoff, sectionTableBytes(header)), header);
  const names = table.sections[header.shstrndx];
  let nameTable: Buffer = Buffer.alloc(0);
  if (names && names.type !== SHT_NOBITS && table.namesSize <= MAX_SECTION_NAMES_BYTES)
    nameTable = await readExact(source, names.offset, table.namesSize);
  nameSections(table.sections, table.nameOffsets, nameTable);
  return { is64, littleEndian, sections: table.sections, segments };
}

function decodeHeader(ident: Buffer): ElfHeader {
  if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) throw new ElfError("not an ELF file");
  if (ident[4] !== 1 && ident[4] !== 2) throw new ElfError(`unknown ELF class ${ident[4]}`);
  if (ident[5] !== 1 && ident[5] !== 2) throw new ElfError(`unknown ELF data encoding ${ident[5]}`);
  const is64 = ident[4] === 2;
  const littleEndian = ident[5] === 1;
  if (is64 && ident.length < 64) throw new ElfError("truncated ELF header");
  const fields = view(ident);
  return {
    is64,
    littleEndian,
    phoff: word(fields, is64 ? 0x20 : 0x1c, is64, littleEndian),
    shoff: word(fields, is64 ? 0x28 : 0x20, is64, littleEndian),
    phentsize: fields.getUint16(is64 ? 0x36 : 0x2a, littleEndian),
    phnum: fields.getUint16(is64 ? 0x38 : 0x2c, littleEndian),
    shentsize: fields.getUint16(is64 ? 0x3a : 0x2e, littleEndian),
    shnum: fields.getUint16(is64 ? 0x3c : 0x30, littleEndian),
    shstrndx: fields.getUint16(is64 ? 0x3e : 0x32, littleEndian),
  };
}

function programTableBytes(header: ElfHeader): number {
  const { phentsize, phnum } = header;
  if (phentsize < (header.is64 ? 56 : 32) || phentsize * phnum > MAX_TABLE_BYTES)
    throw new ElfError("bad program headers");
  return phentsize * phnum;
}

function sectionTableBytes(header: ElfHeader): number {
  const { shentsize, shnum } = header;
  if (shentsize < (header.is64 ? 64 : 40) || shentsize * shnum > MAX_TABLE_BYTES)
    throw new ElfError("bad section headers");
  return shentsize * shnum;
}

function decodeSegments(bytes: Buffer, header: ElfHeader): ElfSegment[] {
  const table = view(bytes);
  const { is64, littleEndian: le, phentsize, phnum } = header;
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    segments.push(
      is64
        ? {
            type: table.getUint32(at, le),
            flags: table.getUint32(at + 4, le),
            offset: u64(table, at + 8, le),
            vaddr: u64(table, at + 16, le),
            fileSize: u64(table, at + 32, le),
          }
        : {
            type: table.getUint32(at, le),
            offset: table.getUint32(at + 4, le),
            vaddr: table.getUint32(at + 8, le),
            fileSize: table.getUint32(at + 16, le),
            flags: table.getUint32(at + 24, le),
          },
    );
  }
  return segments;
}

/**
 * One object per section, named by nameSections once the name table is read (every header is decoded
 * first, so a damaged one fails before the table is read), with where each name starts and the raw
 * size of the name table's own header (its `size` may read 0 as SHT_NOBITS).
 */
function decodeSections(
  bytes: Buffer,
  header: ElfHeader,
): { sections: ElfSection[]; nameOffsets: number[]; namesSize: number } {
  const table = view(bytes);
  const { is64, littleEndian: le, shentsize, shnum, shstrndx } = header;
  const sections: ElfSection[] = [];
  const nameOffsets: number[] = [];
  let namesSize = 0;
  for (let i = 0; i < shnum; i++) {
    const at = i * shentsize;
    nameOffsets.push(table.getUint32(at, le));
    const type = table.getUint32(at + 4, le);
    const flags = word(table, at + 8, is64, le);
    const addr = word(table, at + (is64 ? 16 : 12), is64, le);
    const offset = word(table, at + (is64 ? 24 : 16), is64, le);
    const size = word(table, at + (is64 ? 32 : 20), is64, le);
    if (i === shstrndx) namesSize = size;
    sections.push({ name: "", type, flags, addr, offset, size: type === SHT_NOBITS ? 0 : size });
  }
  return { sections, nameOffsets, namesSize };
}

function nameSections(sections: ElfSection[], nameOffsets: number[], nameTable: Buffer): void {
  // Decoded once: latin1 maps each byte to one character, so offsets into the string are offsets
  // into the table, and each name is a slice of it rather than a Buffer search and decode per section.
  const names = nameTable.toString("latin1");
  for (let i = 0; i < sections.length; i++) {
    const nameOffset = nameOffsets[i]!;
    if (nameOffset >= names.length) continue;
    const end = names.indexOf("\0", nameOffset);
    sections[i]!.name = names.slice(nameOffset, end < 0 ? undefined : end);
  }
}

/** The bytes of a section, refused past `maxBytes` so a hostile header cannot make us read a gigabyte. */
export async function readSection(source: ByteSource, section: ElfSection, maxBytes: number): Promise<Buffer> {
  if (section.size > maxBytes)
    throw new LimitExceeded(`section ${section.name} is ${section.size} bytes, over the ${maxBytes} limit`);
  return readExact(source, section.offset, section.size);
}

/** Maps a virtual address to a file offset through the loadable segments, with how many bytes follow it there. */
export function addressToOffset(elf: ElfFile, address: number): { offset: number; available: number } | undefined {
  for (const segment of elf.segments) {
    if (segment.type !== PT_LOAD) continue;
    if (address >= segment.vaddr && address < segment.vaddr + segment.fileSize)
      return {
        offset: segment.offset + (address - segment.vaddr),
        available: segment.vaddr + segment.fileSize - address,
      };
  }
  for (const section of elf.sections) {
    if (section.addr === 0 || section.size === 0) continue;
    if (address >= section.addr && address < section.addr + section.size)
      return { offset: section.offset + (address - section.addr), available: section.addr + section.size - address };
  }
  return undefined;
}

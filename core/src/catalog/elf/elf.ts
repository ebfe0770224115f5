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

class Reader {
  constructor(
    private readonly buffer: Buffer,
    private readonly littleEndian: boolean,
  ) {}
  u16(at: number): number {
    return this.littleEndian ? this.buffer.readUInt16LE(at) : this.buffer.readUInt16BE(at);
  }
  u32(at: number): number {
    return this.littleEndian ? this.buffer.readUInt32LE(at) : this.buffer.readUInt32BE(at);
  }
  /** 64-bit fields as numbers; a value past 2^53 is no offset or size a real file has. */
  u64(at: number): number {
    // Two 32-bit halves, not a BigInt: every section header of every binary goes through here.
    const high = this.littleEndian ? this.buffer.readUInt32LE(at + 4) : this.buffer.readUInt32BE(at);
    const low = this.littleEndian ? this.buffer.readUInt32LE(at) : this.buffer.readUInt32BE(at + 4);
    if (high > 0x1fffff) throw new ElfError("64-bit field out of range");
    return high * 0x1_0000_0000 + low;
  }
  word(at: number, is64: boolean): number {
    return is64 ? this.u64(at) : this.u32(at);
  }
}

/** Reads exactly `length` bytes or fails: a short read means the file is truncated. */
export async function readExact(source: ByteSource, offset: number, length: number): Promise<Buffer> {
  if (offset < 0 || length < 0 || offset + length > source.size)
    throw new ElfError(`range ${offset}+${length} is outside the file (${source.size} bytes)`);
  const data = await source.read(offset, length);
  if (data.length !== length) throw new ElfError(`short read at ${offset}`);
  return data;
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

async function parseElf(source: ByteSource): Promise<ElfFile> {
  const ident = await readExact(source, 0, Math.min(64, source.size));
  if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) throw new ElfError("not an ELF file");
  if (ident[4] !== 1 && ident[4] !== 2) throw new ElfError(`unknown ELF class ${ident[4]}`);
  if (ident[5] !== 1 && ident[5] !== 2) throw new ElfError(`unknown ELF data encoding ${ident[5]}`);
  const is64 = ident[4] === 2;
  const littleEndian = ident[5] === 1;
  if (is64 && ident.length < 64) throw new ElfError("truncated ELF header");
  const header = new Reader(ident, littleEndian);
  const phoff = header.word(is64 ? 0x20 : 0x1c, is64);
  const shoff = header.word(is64 ? 0x28 : 0x20, is64);
  const phentsize = header.u16(is64 ? 0x36 : 0x2a);
  const phnum = header.u16(is64 ? 0x38 : 0x2c);
  const shentsize = header.u16(is64 ? 0x3a : 0x2e);
  const shnum = header.u16(is64 ? 0x3c : 0x30);
  const shstrndx = header.u16(is64 ? 0x3e : 0x32);

  const segments: ElfSegment[] = [];
  if (phoff > 0 && phnum > 0) {
    if (phentsize < (is64 ? 56 : 32) || phentsize * phnum > MAX_TABLE_BYTES) throw new ElfError("bad program headers");
    const table = new Reader(await readExact(source, phoff, phentsize * phnum), littleEndian);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      segments.push(
        is64
          ? {
              type: table.u32(at),
              flags: table.u32(at + 4),
              offset: table.u64(at + 8),
              vaddr: table.u64(at + 16),
              fileSize: table.u64(at + 32),
            }
          : {
              type: table.u32(at),
              offset: table.u32(at + 4),
              vaddr: table.u32(at + 8),
              fileSize: table.u32(at + 16),
              flags: table.u32(at + 24),
            },
      );
    }
  }

  const sections: ElfSection[] = [];
  // Stripped-down binaries (sstrip, some packers) have no section table; callers fall back to segments.
  if (shoff > 0 && shnum > 0 && shoff < source.size) {
    if (shentsize < (is64 ? 64 : 40) || shentsize * shnum > MAX_TABLE_BYTES) throw new ElfError("bad section headers");
    const table = new Reader(await readExact(source, shoff, shentsize * shnum), littleEndian);
    // One object per section, named once the name table is read (every header is decoded first,
    // so a damaged one fails before the table is read, as it did when headers were decoded twice).
    const nameOffsets: number[] = [];
    const rawSizes: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const at = i * shentsize;
      nameOffsets.push(table.u32(at));
      const type = table.u32(at + 4);
      const flags = table.word(at + 8, is64);
      const addr = table.word(at + (is64 ? 16 : 12), is64);
      const offset = table.word(at + (is64 ? 24 : 16), is64);
      const size = table.word(at + (is64 ? 32 : 20), is64);
      rawSizes.push(size);
      sections.push({ name: "", type, flags, addr, offset, size: type === SHT_NOBITS ? 0 : size });
    }
    const names = sections[shstrndx];
    let nameTable: Buffer = Buffer.alloc(0);
    if (names && names.type !== SHT_NOBITS && rawSizes[shstrndx]! <= MAX_SECTION_NAMES_BYTES)
      nameTable = await readExact(source, names.offset, rawSizes[shstrndx]!);
    for (let i = 0; i < shnum; i++) {
      const nameOffset = nameOffsets[i]!;
      if (nameOffset >= nameTable.length) continue;
      const end = nameTable.indexOf(0, nameOffset);
      sections[i]!.name = nameTable.toString("latin1", nameOffset, end < 0 ? undefined : end);
    }
  }
  return { is64, littleEndian, sections, segments };
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

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readElf, type ByteSource } from "../../src/catalog/elf/index.js";

/** Random access over bytes in memory, as the walker hands small files to the catalogers. */
function source(bytes: Buffer): ByteSource {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

interface Layout {
  is64: boolean;
  littleEndian: boolean;
  segments: { type: number; flags: number; offset: number; vaddr: number; fileSize: number }[];
  sections: { name: string; type: number; flags: number; addr: number; offset: number; size: number }[];
}

/**
 * Writes an ELF file field by field at the offsets the ELF specification gives (gABI, "ELF Header",
 * "Program Header", "Sections"), in either class and byte order, with the section names in a
 * .shstrtab appended as the last section.
 */
function buildElf(layout: Layout): Buffer {
  const { is64, littleEndian: le } = layout;
  const file = Buffer.alloc(8192);
  const u16 = (at: number, value: number) => (le ? file.writeUInt16LE(value, at) : file.writeUInt16BE(value, at));
  const u32 = (at: number, value: number) => (le ? file.writeUInt32LE(value, at) : file.writeUInt32BE(value, at));
  const word = (at: number, value: number) =>
    is64 ? (le ? file.writeBigUInt64LE(BigInt(value), at) : file.writeBigUInt64BE(BigInt(value), at)) : u32(at, value);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]).copy(file);
  u16(16, 2); // ET_EXEC
  const phoff = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const names = ["", ...layout.sections.map((section) => section.name), ".shstrtab"];
  const nameTable = Buffer.from(names.join("\0") + "\0", "latin1");
  const nameTableOffset = 4096;
  nameTable.copy(file, nameTableOffset);
  const shoff = 6144;
  word(is64 ? 0x20 : 0x1c, phoff);
  word(is64 ? 0x28 : 0x20, shoff);
  u16(is64 ? 0x36 : 0x2a, phentsize);
  u16(is64 ? 0x38 : 0x2c, layout.segments.length);
  u16(is64 ? 0x3a : 0x2e, shentsize);
  u16(is64 ? 0x3c : 0x30, layout.sections.length + 2);
  u16(is64 ? 0x3e : 0x32, layout.sections.length + 1);
  layout.segments.forEach((segment, i) => {
    const at = phoff + i * phentsize;
    u32(at, segment.type);
    if (is64) {
      u32(at + 4, segment.flags);
      word(at + 8, segment.offset);
      word(at + 16, segment.vaddr);
      word(at + 32, segment.fileSize);
    } else {
      u32(at + 4, segment.offset);
      u32(at + 8, segment.vaddr);
      u32(at + 16, segment.fileSize);
      u32(at + 24, segment.flags);
    }
  });
  const headers = [
    { type: 0, flags: 0, addr: 0, offset: 0, size: 0 },
    ...layout.sections,
    { type: 3, flags: 0, addr: 0, offset: nameTableOffset, size: nameTable.length },
  ];
  let nameAt = 0;
  headers.forEach((section, i) => {
    const at = shoff + i * shentsize;
    u32(at, nameAt);
    nameAt += names[i]!.length + 1;
    u32(at + 4, section.type);
    word(at + 8, section.flags);
    word(at + (is64 ? 16 : 12), section.addr);
    word(at + (is64 ? 24 : 16), section.offset);
    word(at + (is64 ? 32 : 20), section.size);
  });
  return file;
}

const LAYOUT = {
  segments: [
    { type: 1, flags: 5, offset: 0, vaddr: 0x400000, fileSize: 0x800 },
    { type: 1, flags: 6, offset: 0x800, vaddr: 0x600800, fileSize: 0x200 },
  ],
  sections: [
    { name: ".text", type: 1, flags: 6, addr: 0x400100, offset: 0x100, size: 0x300 },
    { name: ".go.buildinfo", type: 1, flags: 3, addr: 0x600800, offset: 0x800, size: 0x100 },
    { name: ".bss", type: 8, flags: 3, addr: 0x600900, offset: 0x900, size: 0 },
  ],
};

describe("ELF headers", () => {
  for (const is64 of [true, false])
    for (const littleEndian of [true, false])
      it(`reads the tables of a ${is64 ? 64 : 32}-bit ${littleEndian ? "little" : "big"}-endian file`, async () => {
        const elf = await readElf(source(buildElf({ is64, littleEndian, ...LAYOUT })));
        expect(elf.is64).toBe(is64);
        expect(elf.littleEndian).toBe(littleEndian);
        expect(elf.segments).toEqual(LAYOUT.segments);
        expect(elf.sections.map((section) => section.name)).toEqual([
          "",
          ".text",
          ".go.buildinfo",
          ".bss",
          ".shstrtab",
        ]);
        expect(elf.sections.slice(1, 4)).toEqual(LAYOUT.sections);
      });

  it("reports a SHT_NOBITS section with size 0, whatever its header says", async () => {
    const layout = { is64: true, littleEndian: true, ...LAYOUT };
    layout.sections = [{ ...LAYOUT.sections[2]!, size: 0x5000 }];
    const elf = await readElf(source(buildElf(layout)));
    expect(elf.sections[1]).toMatchObject({ name: ".bss", type: 8, size: 0 });
  });

  it("refuses a 64-bit field past 2^53 and tables outside the file", async () => {
    const huge = buildElf({ is64: true, littleEndian: true, ...LAYOUT });
    huge.writeUInt32LE(0x00200000, 6144 + 64 + 24 + 4); // high half of .text's sh_offset
    await expect(readElf(source(huge))).rejects.toThrow("64-bit field out of range");
    const truncated = buildElf({ is64: false, littleEndian: false, ...LAYOUT }).subarray(0, 6200);
    await expect(readElf(source(truncated))).rejects.toThrow(/range 6144\+200 is outside the file \(6200 bytes\)/);
    const notElf = Buffer.alloc(64);
    await expect(readElf(source(notElf))).rejects.toThrow("not an ELF file");
  });

  const readelfPresent = (() => {
    try {
      execFileSync("readelf", ["--version"]);
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!readelfPresent)("names the sections of a real binary as readelf does", async () => {
    const path = process.execPath;
    const listing = execFileSync("readelf", ["-S", "-W", path], { encoding: "utf8" });
    const expected = [...listing.matchAll(/^\s*\[\s*\d+\]\s+(\S*)\s+[A-Z_0-9]+\s+([0-9a-f]+)\s+([0-9a-f]+)\s/gm)].map(
      (match) => ({ name: match[1], addr: parseInt(match[2]!, 16), offset: parseInt(match[3]!, 16) }),
    );
    expect(expected.length).toBeGreaterThan(10);
    const elf = await readElf(source(readFileSync(path)));
    expect(elf.sections.map(({ name, addr, offset }) => ({ name, addr, offset }))).toEqual([
      { name: "", addr: 0, offset: 0 },
      ...expected.slice(1),
    ]);
  });
});

import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import yauzl from "yauzl";
import { buildZip } from "../helpers/zip-builder.js";
import { openZip } from "../../src/catalog/java/zip-reader.js";

const zip = (entries: Record<string, Buffer>): Promise<Buffer> => buildZip(entries);

const inMemory = (bytes: Buffer) => ({
  size: bytes.length,
  read: async (offset: number, length: number) => bytes.subarray(offset, offset + length),
});

/** Rewrites the uncompressed size the central directory records for the first entry. */
function claimUncompressedSize(archive: Buffer, size: number): Buffer {
  const copy = Buffer.from(archive);
  const record = copy.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  copy.writeUInt32LE(size, record + 24);
  return copy;
}

describe("zip reader: entries read whole", () => {
  // Sizes around zlib's 16 KiB output chunk and past the 64 KiB the walker's chunks often have.
  const contents: Record<string, Buffer> = {
    "empty.txt": Buffer.alloc(0),
    "tiny.txt": Buffer.from("Manifest-Version: 1.0\n"),
    "chunk.bin": Buffer.alloc(16 * 1024, 0x41),
    "chunk-plus-one.bin": Buffer.alloc(16 * 1024 + 1, 0x42),
    "random.bin": randomBytes(100_000),
    "nested.jar": Buffer.concat([randomBytes(150_000), Buffer.alloc(200_000, 0x43)]),
  };

  it("inflates every entry to exactly the bytes that were zipped", async () => {
    const zipped = await openZip(inMemory(await zip(contents)), 100, () => true);
    expect(zipped.entries.map((entry) => entry.fileName)).toEqual(Object.keys(contents));
    for (const entry of zipped.entries) {
      const data = await zipped.readEntry(entry, 16 * 1024 * 1024);
      expect(data.equals(contents[entry.fileName]!), entry.fileName).toBe(true);
    }
    zipped.close();
  });

  it("refuses an entry that inflates to more or less than its directory record says", async () => {
    const content = Buffer.alloc(50_000, 0x44);
    const archive = await zip({ "a.bin": content });
    for (const claimed of [1_000, 49_999, 50_001, 300_000]) {
      const zipped = await openZip(inMemory(claimUncompressedSize(archive, claimed)), 100, () => true);
      await expect(zipped.readEntry(zipped.entries[0]!, 1024 * 1024)).rejects.toThrow(
        new RegExp(`^inflated to 50000 bytes, the directory says ${claimed}$`),
      );
      zipped.close();
    }
  });
});

/** What yauzl (an independent reader, which this one replaced) lists for an archive, or its error. */
async function yauzlListing(archive: Buffer): Promise<string[] | string> {
  try {
    const zip = await yauzl.fromBufferPromise(archive, { lazyEntries: true, strictFileNames: false });
    const listed: string[] = [];
    try {
      for await (const entry of zip.eachEntry())
        listed.push(
          [
            entry.fileName,
            entry.compressionMethod,
            entry.compressedSize,
            entry.uncompressedSize,
            entry.relativeOffsetOfLocalHeader,
          ].join(" "),
        );
    } finally {
      zip.close();
    }
    return listed;
  } catch (error) {
    return (error as Error).message;
  }
}

async function ourListing(archive: Buffer): Promise<string[] | string> {
  try {
    const zip = await openZip(inMemory(archive), 1000, () => true);
    return zip.entries.map((entry) =>
      [
        entry.fileName,
        entry.compressionMethod,
        entry.compressedSize,
        entry.uncompressedSize,
        entry.relativeOffsetOfLocalHeader,
      ].join(" "),
    );
  } catch (error) {
    return (error as Error).message;
  }
}

/** Every central-directory record of `archive`, as offsets into it. */
function centralRecords(archive: Buffer): number[] {
  const records: number[] = [];
  for (let at = archive.indexOf(CENTRAL_SIGNATURE); at >= 0; at = archive.indexOf(CENTRAL_SIGNATURE, at + 4))
    records.push(at);
  return records;
}
const CENTRAL_SIGNATURE = Buffer.from([0x50, 0x4b, 0x01, 0x02]);

/** Rewrites a name in the central directory only (same length), where the listing reads it. */
function renameInDirectory(archive: Buffer, from: string, to: string): Buffer {
  const copy = Buffer.from(archive);
  const at = copy.indexOf(Buffer.from(from), centralRecords(copy)[0]);
  Buffer.from(to, "latin1").copy(copy, at);
  return copy;
}

describe("zip reader: the central directory as yauzl reads it", () => {
  const contents = {
    "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\n",
    "META-INF/maven/org.x/y/pom.properties": "groupId=org.x\nartifactId=y\nversion=1\n",
    "lib/inner.jar": Buffer.alloc(3000, 0x45),
    "café/ünïcode.txt": "naïve",
    "a_b.txt": "backslash later",
    "zz/evil.txt": "relative later",
  };

  it("lists the same names, sizes and offsets for plain, zip64 and commented archives", async () => {
    for (const options of [{}, { store: true }, { zip64: true }, { comment: "built by hand" }]) {
      const archive = await buildZip(contents, options);
      const expected = await yauzlListing(archive);
      expect(Array.isArray(expected), JSON.stringify(options)).toBe(true);
      expect(await ourListing(archive), JSON.stringify(options)).toEqual(expected);
    }
  });

  it("decodes names without the UTF-8 flag as CP437, and backslashes as slashes", async () => {
    const archive = renameInDirectory(await buildZip(contents), "a_b.txt", "a\\b.txt");
    for (const record of centralRecords(archive))
      archive.writeUInt16LE(archive.readUInt16LE(record + 8) & ~0x800, record + 8);
    const expected = await yauzlListing(archive);
    expect((expected as string[]).some((line) => line.startsWith("a/b.txt 8 "))).toBe(true);
    // "é" is C3 A9 in UTF-8: "├⌐" in CP437.
    expect((expected as string[]).some((line) => line.startsWith("caf├⌐/"))).toBe(true);
    expect(await ourListing(archive)).toEqual(expected);
  });

  it("refuses what yauzl refuses, with its words", async () => {
    const archive = await buildZip(contents);
    const storedMismatch = Buffer.from(await buildZip({ "a.txt": "stored" }, { store: true }));
    storedMismatch.writeUInt32LE(5, centralRecords(storedMismatch)[0]! + 20);
    const badSignature = Buffer.from(archive);
    badSignature.writeUInt32LE(0x02014b51, centralRecords(badSignature)[2]!);
    const strong = Buffer.from(archive);
    strong.writeUInt16LE(strong.readUInt16LE(centralRecords(strong)[1]! + 8) | 0x40, centralRecords(strong)[1]! + 8);
    const cases: Record<string, Buffer> = {
      "relative path": renameInDirectory(archive, "zz/evil.txt", "../evil.txt"),
      "absolute path": renameInDirectory(archive, "zz/evil.txt", "/z/evil.txt"),
      "drive letter": renameInDirectory(archive, "zz/evil.txt", "C:/evil.txt"),
      "stored size mismatch": storedMismatch,
      "bad record signature": badSignature,
      "strong encryption": strong,
      "truncated directory": Buffer.concat([archive.subarray(0, centralRecords(archive)[3]!), archive.subarray(-22)]),
      "extra bytes after the end": Buffer.concat([archive, Buffer.from("trailing")]),
      "not a zip": Buffer.from("just some text, no central directory"),
      empty: Buffer.alloc(0),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const expected = await yauzlListing(bytes);
      expect(typeof expected, name).toBe("string");
      expect(await ourListing(bytes), name).toBe(expected);
    }
  });
});

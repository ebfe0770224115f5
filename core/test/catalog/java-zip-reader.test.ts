import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
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

import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildZip } from "../helpers/zip-builder.js";
import { createJavaCataloger } from "../../src/catalog/java/cataloger.js";
import { InflateCache, openZip } from "../../src/catalog/java/zip-reader.js";
import { analyzeFile } from "./lang-helpers.js";

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

describe("zip reader: nested archives inflated once", () => {
  const library = async (version: string) =>
    zip({
      "META-INF/MANIFEST.MF": Buffer.from("Manifest-Version: 1.0\n"),
      "META-INF/maven/com.example/lib/pom.properties": Buffer.from(
        `groupId=com.example\nartifactId=lib\nversion=${version}\n`,
      ),
      "payload.bin": Buffer.concat([randomBytes(60_000), Buffer.alloc(60_000, 0x45)]),
    });

  it("serves a deflated entry again only for the very same compressed bytes", async () => {
    const zipped = await openZip(inMemory(await zip({ "lib.jar": await library("1.0") })), 100, () => true);
    const entry = zipped.entries[0]!;
    const cache = new InflateCache(16 * 1024 * 1024);
    const first = await zipped.readEntry(entry, 16 * 1024 * 1024, cache);
    expect(await zipped.readEntry(entry, 16 * 1024 * 1024, cache)).toBe(first);

    // The same directory record (CRC-32, sizes) over different compressed bytes is not a hit.
    const raw = Buffer.alloc(entry.compressedSize, 0x01);
    expect(cache.get(entry, raw)).toBeUndefined();
    zipped.close();
  });

  it("keeps its own copy of the compressed bytes, which may be a view of reused buffers", () => {
    const entry = { crc32: 1, compressionMethod: 8, compressedSize: 4, uncompressedSize: 4 } as never;
    const cache = new InflateCache(1024);
    const raw = Buffer.from("abcd");
    cache.set(entry, raw, Buffer.from("ABCD"));
    raw.write("wxyz");
    expect(cache.get(entry, raw)).toBeUndefined();
    expect(cache.get(entry, Buffer.from("abcd"))?.toString()).toBe("ABCD");
  });

  it("drops the oldest entries past its bound", () => {
    const cache = new InflateCache(20);
    const entry = (crc32: number) => ({ crc32, compressionMethod: 8, compressedSize: 4, uncompressedSize: 4 }) as never;
    for (let crc = 1; crc <= 3; crc++) cache.set(entry(crc), Buffer.from(`raw${crc}`), Buffer.from(`out${crc}`));
    expect(cache.get(entry(1), Buffer.from("raw1"))).toBeUndefined();
    expect(cache.get(entry(2), Buffer.from("raw2"))?.toString()).toBe("out2");
    expect(cache.get(entry(3), Buffer.from("raw3"))?.toString()).toBe("out3");
  });

  it("reports the same library nested in two archives at both places, and a changed one as itself", async () => {
    const cataloger = createJavaCataloger();
    const nested = await library("1.0");
    const first = await analyzeFile(cataloger, "srv/a/app.war", await zip({ "WEB-INF/lib/lib.jar": nested }));
    const second = await analyzeFile(cataloger, "srv/b/app.war", await zip({ "WEB-INF/lib/lib.jar": nested }));
    const other = await analyzeFile(
      cataloger,
      "srv/c/app.war",
      await zip({ "WEB-INF/lib/lib.jar": await library("2.0") }),
    );
    const coordinates = (result: typeof first) =>
      result.packages.map((found) => `${found.name}@${found.version} ${found.locations.join(",")}`);
    expect(coordinates(first)).toContain("com.example:lib@1.0 srv/a/app.war!/WEB-INF/lib/lib.jar");
    expect(coordinates(second)).toContain("com.example:lib@1.0 srv/b/app.war!/WEB-INF/lib/lib.jar");
    expect(coordinates(other)).toContain("com.example:lib@2.0 srv/c/app.war!/WEB-INF/lib/lib.jar");
  });
});

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline, Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { DigestVerifier } from "../../src/image/digest.js";
import { LayerCache } from "../../src/image/layer-cache.js";
import { walkLayer } from "../../src/image/layer-walker.js";
import { HeaderSums } from "../../src/image/tar-index.js";
import { TarParser } from "../../src/image/tar-parser.js";
import { readLayerSnapshots } from "../../src/image/layers.js";
import type { ResolvedImage } from "../../src/image/types.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The walker parses layer tars itself (TarParser). These archives are written by GNU tar, an
 * independent implementation, in each header format, and the expected names and contents come
 * from the files tar was given, never from the parser.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-tar-parser-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const longDir = `usr/share/${"very-long-directory-name-".repeat(6)}x`;
const files: Record<string, string> = {
  "etc/os-release": "ID=debian\n",
  [`${longDir}/${"long-file-name-".repeat(8)}.txt`]: "long name\n",
  "var/lib/dpkg/status": "Package: a\n".repeat(300),
  empty: "",
  "exactly-512": "y".repeat(512),
};
const root = path.join(dir, "root");
for (const [name, content] of Object.entries(files)) {
  mkdirSync(path.join(root, path.dirname(name)), { recursive: true });
  writeFileSync(path.join(root, name), content);
}
const linkName = `${longDir}/link-to-${"l".repeat(90)}`;
symlinkSync(`../../../../${"target-".repeat(20)}`, path.join(root, linkName));

/** ustar has no long-name records: names up to 255 bytes are split into its prefix and name fields. */
const prefixed = `usr/lib/${"prefix-".repeat(9)}/${"split-".repeat(10)}/file-in-a-deep-directory.txt`;
const ustarRoot = path.join(dir, "ustar-root");
mkdirSync(path.join(ustarRoot, path.dirname(prefixed)), { recursive: true });
writeFileSync(path.join(ustarRoot, prefixed), "split name\n");
writeFileSync(path.join(ustarRoot, "etc-hostname"), "h\n");
const ustarFiles: Record<string, string> = { [prefixed]: "split name\n", "etc-hostname": "h\n" };

const tarAvailable = spawnSync("tar", ["--version"]).status === 0;

function gnuTar(format: string): Buffer {
  const file = path.join(dir, `${format}.tar`);
  const from = format === "ustar" ? ustarRoot : root;
  const result = spawnSync("tar", [`--format=${format}`, "-C", from, "-cf", file, "."]);
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return readFileSync(file);
}

const diffId = (tar: Buffer): string => `sha256:${createHash("sha256").update(tar).digest("hex")}`;

/** Every directory above `names`, as tar lists them (with a trailing slash). */
function dirsOf(names: string[]): string[] {
  const dirs = new Set<string>();
  for (const name of names) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join("/")}/`);
  }
  return [...dirs];
}

/** The tar handed over in pieces of `size` bytes, so headers and records straddle chunk boundaries. */
function chunked(tar: Buffer, size: number): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < tar.length; at += size) pieces.push(tar.subarray(at, at + size));
  return Readable.from(pieces);
}

describe.skipIf(!tarAvailable)("layer tar parsing", () => {
  it.each(["gnu", "pax", "ustar"])("reads GNU tar's %s format in any chunking", async (format) => {
    const tar = gnuTar(format);
    for (const size of [1, 7, 511, 512, 4096, tar.length]) {
      const snapshot = await walkLayer(chunked(tar, size), diffId(tar), { what: "test layer", wants: () => true });
      const expected = format === "ustar" ? ustarFiles : files;
      expect([...snapshot.files.keys()].sort()).toEqual(Object.keys(expected).sort());
      for (const [name, content] of Object.entries(expected))
        expect(snapshot.files.get(name)?.toString()).toBe(content);
      if (format !== "ustar") expect(snapshot.symlinks.get(linkName)).toBe(`../../../../${"target-".repeat(20)}`);
      expect(snapshot.stats.uncompressedBytes).toBe(tar.length);
    }
  });

  it("lets a reader step over the data no one reads (skippable/skip), with the same entries as reading it all", async () => {
    const tar = gnuTar("pax");
    const wanted = "var/lib/dpkg/status";
    for (const size of [7, 512, 1000, 4096]) {
      const seen: string[] = [];
      let got = "";
      let skipped = 0;
      const parser = new TarParser("test layer", (header) => {
        seen.push(header.name.replace(/^\.\//, ""));
        if (!header.name.endsWith(wanted)) return undefined;
        return {
          write(data) {
            got += data.toString();
            return undefined;
          },
          end: () => undefined,
        };
      });
      // Reads `size` bytes at a time from where the parser stands, skipping what it says it may.
      let at = 0;
      while (at < tar.length && !parser.ended) {
        const chunk = tar.subarray(at, at + size);
        expect(parser.write(chunk)).toBeUndefined();
        at += chunk.length;
        const skippable = parser.skippable;
        // Never more than the rest of the archive, and never inside the wanted file's data.
        expect(at + skippable).toBeLessThanOrEqual(tar.length);
        if (skippable > 0) {
          expect(parser.skip(skippable)).toBeUndefined();
          at += skippable;
          skipped += skippable;
        }
      }
      parser.end();
      expect(got).toBe(files[wanted]);
      expect(seen.filter((name) => name !== "" && name !== ".").sort()).toEqual(
        [...Object.keys(files), linkName, ...dirsOf(Object.keys(files))].map((n) => n).sort(),
      );
      // The other files' data (and padding) was stepped over, not read.
      if (size === 7) expect(skipped).toBeGreaterThan(512);
    }
    const parser = new TarParser("test layer", () => undefined);
    expect(() => parser.skip(1)).toThrow(RangeError);
  });

  it("stops at the end-of-archive blocks, as runtimes do, yet hashes every byte", async () => {
    const tar = Buffer.concat([gnuTar("pax"), Buffer.from("trailing bytes that are not a tar header")]);
    const snapshot = await walkLayer(Readable.from([tar]), diffId(tar), { what: "test layer", wants: () => true });
    expect(snapshot.files.get("etc/os-release")?.toString()).toBe("ID=debian\n");
  });

  it("refuses a tar cut inside an entry or a header, naming the layer", async () => {
    const tar = gnuTar("pax");
    const status = tar.indexOf(Buffer.from("Package: a"));
    for (const cut of [status + 100, Math.floor(status / 512) * 512 + 200]) {
      const error = await walkLayer(Readable.from([tar.subarray(0, cut)]), diffId(tar.subarray(0, cut)), {
        what: "test layer",
        wants: () => true,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageError);
      expect((error as Error).message).toMatch(/^test layer is not a readable layer tar \(unexpected end of data/);
    }
  });

  it("refuses a header whose checksum does not match", async () => {
    const tar = Buffer.from(gnuTar("gnu"));
    tar[10] = tar[10]! ^ 0x01; // a bit of the first header's name

    const error = await walkLayer(Readable.from([tar]), diffId(tar), { what: "test layer", wants: () => true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(/corrupt tar header at offset 0/);
  });
});

describe.skipIf(!tarAvailable)("the digest check of the in-place parse", () => {
  /**
   * An image whose one uncompressed layer is `blob` but whose manifest and config promise `diffId`;
   * its stream verifies the digest as a ResolvedImage's does (the walker does not hash again).
   */
  const imageOf = (blob: Buffer, diffId: string): ResolvedImage => ({
    reference: "test",
    manifestDigest: `sha256:${"0".repeat(64)}`,
    configDigest: `sha256:${"1".repeat(64)}`,
    platform: { os: "linux", architecture: "amd64" },
    config: {} as ResolvedImage["config"],
    layers: [
      { index: 0, digest: diffId, diffId, mediaType: "application/vnd.oci.image.layer.v1.tar", size: blob.length },
    ],
    openLayer: async () => {
      const verifier = new DigestVerifier(diffId, "test layer", blob.length);
      pipeline(Readable.from([blob]), verifier, () => {});
      return verifier;
    },
    async close() {},
  });

  it("refuses bytes changed after the end-of-archive blocks, which the parser never reads, and caches nothing", async () => {
    const tar = gnuTar("pax");
    const promised = diffId(Buffer.concat([tar, Buffer.alloc(1024)]));
    const tampered = Buffer.concat([tar, Buffer.from("x"), Buffer.alloc(1023)]);
    const cache = new LayerCache(tempDir("stowaway-tar-parser-cache-"), "fingerprint");
    await expect(readLayerSnapshots(imageOf(tampered, promised), { wants: () => true, cache })).rejects.toThrow(
      /content digest sha256:[0-9a-f]{64} does not match/,
    );
    expect(await cache.get(promised)).toBeUndefined();
    // The untampered bytes pass and are cached under the same key.
    await readLayerSnapshots(imageOf(Buffer.concat([tar, Buffer.alloc(1024)]), promised), { wants: () => true, cache });
    expect((await cache.get(promised))?.files.get("etc/os-release")?.toString()).toBe("ID=debian\n");
  });
});

describe.skipIf(!tarAvailable)("header checksums", () => {
  it("accepts the signed-char checksum old tars wrote, for a name with bytes over 127", async () => {
    const base = path.join(dir, "signed");
    mkdirSync(base, { recursive: true });
    writeFileSync(path.join(base, "café-ñ.txt"), "signed\n");
    const file = path.join(dir, "signed.tar");
    expect(spawnSync("tar", ["--format=gnu", "-C", base, "-cf", file, "café-ñ.txt"]).status).toBe(0);
    const tar = readFileSync(file);
    // POSIX sum: header bytes as unsigned, the checksum field as 8 spaces; old tars used signed chars.
    let signed = 8 * 0x20;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) signed += tar[i]! > 127 ? tar[i]! - 256 : tar[i]!;
    const field = Buffer.from(`${signed.toString(8).padStart(6, "0")}\0 `);
    expect(field.length).toBe(8);
    const old = Buffer.from(tar);
    field.copy(old, 148);
    const snapshot = await walkLayer(Readable.from([old]), diffId(old), { what: "test layer", wants: () => true });
    expect(snapshot.files.get("café-ñ.txt")?.toString()).toBe("signed\n");
    // A checksum that is neither sum is still refused.
    const broken = Buffer.from(old);
    Buffer.from(`${(signed + 1).toString(8).padStart(6, "0")}\0 `).copy(broken, 148);
    await expect(
      walkLayer(Readable.from([broken]), diffId(broken), { what: "test layer", wants: () => true }),
    ).rejects.toThrow(/corrupt tar header at offset 0/);
  });
});

describe.skipIf(!tarAvailable)("headers read in place at any alignment", () => {
  /** `tar` copied into fresh memory `shift` bytes past its start: headers then sit at that alignment. */
  const shifted = (tar: Buffer, shift: number): Buffer => {
    const copy = Buffer.alloc(tar.length + shift).subarray(shift);
    tar.copy(copy);
    return copy;
  };
  /** The plain byte sum, as POSIX defines the checksum's base (independent of HeaderSums). */
  const plainSum = (block: Buffer): number => block.reduce((sum, byte) => sum + byte, 0);

  it("sums a block as a byte loop does, aligned or not, including bytes over 127 and an all-zero block", () => {
    const sums = new HeaderSums();
    const memory = Buffer.alloc(4096 + 3);
    for (let i = 0; i < memory.length; i++) memory[i] = (i * 131 + 7) % 256;
    memory.fill(0xff, 1024, 1536); // the largest sum a block can have
    memory.fill(0, 2048, 2560);
    for (let at = 0; at + 512 <= memory.length; at += 61)
      expect(sums.sum(memory, at)).toBe(plainSum(memory.subarray(at, at + 512)));
    expect(sums.sum(memory, 1024)).toBe(512 * 255);
    expect(sums.sum(memory, 2048)).toBe(0);
    // A view into a buffer at an odd offset of its memory, and a different buffer after it.
    for (let shift = 0; shift < 4; shift++) {
      const view = memory.subarray(shift);
      expect(sums.sum(view, 512)).toBe(plainSum(view.subarray(512, 1024)));
    }
    const other = Buffer.alloc(512, 1);
    expect(sums.sum(other, 0)).toBe(512);
  });

  it.each([0, 1, 2, 3])("reads every entry of GNU tar's archive from memory shifted by %i bytes", async (shift) => {
    const tar = shifted(gnuTar("pax"), shift);
    for (const size of [512, 1000, 4096, tar.length]) {
      const snapshot = await walkLayer(chunked(tar, size), diffId(tar), { what: "test layer", wants: () => true });
      expect([...snapshot.files.keys()].sort()).toEqual(Object.keys(files).sort());
      for (const [name, content] of Object.entries(files)) expect(snapshot.files.get(name)?.toString()).toBe(content);
    }
  });

  it.each([0, 1, 2, 3])("refuses a changed header byte in memory shifted by %i bytes", async (shift) => {
    const tar = shifted(gnuTar("gnu"), shift);
    const status = tar.indexOf(Buffer.from("Package: a"));
    // A byte of the prefix area (345..500) of the status file's header, far from its name and sizes.
    const header = Math.floor(status / 512) * 512 - 512;
    tar[header + 400] = 1;
    await expect(walkLayer(chunked(tar, 4096), diffId(tar), { what: "test layer", wants: () => true })).rejects.toThrow(
      new RegExp(`corrupt tar header at offset ${header}`),
    );
  });
});

describe.skipIf(!tarAvailable)("what an open entry holds", () => {
  it("holds the chunks while a sink may keep views of them, not when it says it copied what it keeps", () => {
    const tar = gnuTar("pax");
    const status = tar.indexOf(Buffer.from("Package: a"));
    // Up to the middle of the status file's data: its entry is open when the chunk ends.
    const head = tar.subarray(0, status + 100);
    for (const copies of [undefined, true, false]) {
      const parser = new TarParser("test layer", (header) =>
        header.name.endsWith("var/lib/dpkg/status")
          ? { write: () => undefined, end: () => undefined, ...(copies === undefined ? {} : { holdsChunks: !copies }) }
          : undefined,
      );
      expect(parser.write(head)).toBeUndefined();
      expect(parser.holdsChunks).toBe(copies !== true);
    }
    // Inside a PAX record the parser itself holds views of the record's chunks.
    const parser = new TarParser("test layer", () => ({
      write: () => undefined,
      end: () => undefined,
      holdsChunks: false,
    }));
    expect(tar.toString("latin1", 156, 157)).toBe("x");
    parser.write(tar.subarray(0, 520));
    expect(parser.holdsChunks).toBe(true);
  });
});

/**
 * Decoder choice (issue 13): each zstd and gzip decoder a run can pick yields the same bytes, and
 * a corrupt stream is one ImageError whichever decoder ran. The expected bytes are the input we
 * compressed (with the zstd program and with zlib), not the output of the code under test.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { decompressAuto, gzipDecoder, zstdDecoder } from "../../src/image/decompress.js";
import { zstdUnavailableReason } from "../helpers/image-builder.js";

const onPath = (program: string): boolean => spawnSync("sh", ["-c", `command -v ${program}`]).status === 0;
const nativeZstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === "function";

/** Compressible but not trivial: 3 MiB of repeated random blocks, several decoder chunks long. */
const plain = Buffer.concat(
  Array.from({ length: 48 }, (_, i) => Buffer.concat([randomBytes(32 * 1024), Buffer.alloc(32 * 1024, i)])),
);

async function decode(blob: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of decompressAuto(Readable.from([blob.subarray(0, 3), blob.subarray(3)]))) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const saved = { zstd: process.env.STOWAWAY_ZSTD, gunzip: process.env.STOWAWAY_GUNZIP };
afterEach(() => {
  for (const [name, value] of [
    ["STOWAWAY_ZSTD", saved.zstd],
    ["STOWAWAY_GUNZIP", saved.gunzip],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("zstd decoders", () => {
  const zstdBlob = (): Buffer => spawnSync("zstd", ["-c", "-q"], { input: plain, maxBuffer: 1 << 26 }).stdout;
  const decoders = ["program", "js", ...(nativeZstd ? ["native"] : [])] as const;

  it("prefers native zstd, else the zstd program when it is on PATH, else the JS decoder", () => {
    const expected = nativeZstd ? "native" : onPath("zstd") ? "program" : "js";
    expect(zstdDecoder({})).toBe(expected);
    expect(zstdDecoder({ STOWAWAY_ZSTD: "js" })).toBe("js");
    expect(zstdDecoder({ STOWAWAY_ZSTD: "program" })).toBe(onPath("zstd") ? "program" : expected);
  });

  it.skipIf(zstdUnavailableReason() !== undefined).each(decoders)(
    "%s decodes what the zstd program wrote",
    async (decoder) => {
      process.env.STOWAWAY_ZSTD = decoder;
      expect(zstdDecoder()).toBe(decoder);
      expect((await decode(zstdBlob())).equals(plain)).toBe(true);
    },
  );

  it.skipIf(zstdUnavailableReason() !== undefined).each(decoders)(
    "%s rejects a corrupt stream with an ImageError",
    async (decoder) => {
      process.env.STOWAWAY_ZSTD = decoder;
      const blob = zstdBlob();
      const corrupt = Buffer.concat([blob.subarray(0, 8), Buffer.alloc(400, 0x41), blob.subarray(408)]);
      await expect(decode(corrupt)).rejects.toThrow(ImageError);
    },
  );
});

describe("gzip decoders", () => {
  const gzipBlob = zlib.gzipSync(plain);
  const decoders = ["zlib", ...(onPath("gzip") ? ["gzip"] : []), ...(onPath("pigz") ? ["pigz"] : [])] as const;

  it("uses pigz when installed, else zlib; the gzip program only on request", () => {
    expect(gzipDecoder({})).toBe(onPath("pigz") ? "pigz" : "zlib");
    expect(gzipDecoder({ STOWAWAY_GUNZIP: "zlib" })).toBe("zlib");
    if (onPath("gzip")) expect(gzipDecoder({ STOWAWAY_GUNZIP: "gzip" })).toBe("gzip");
  });

  it.each(decoders)("%s decodes what zlib wrote", async (decoder) => {
    process.env.STOWAWAY_GUNZIP = decoder;
    expect(gzipDecoder()).toBe(decoder);
    expect((await decode(gzipBlob)).equals(plain)).toBe(true);
  });

  it.each(decoders)("%s rejects a truncated stream with an ImageError", async (decoder) => {
    process.env.STOWAWAY_GUNZIP = decoder;
    await expect(decode(gzipBlob.subarray(0, gzipBlob.length - 5000))).rejects.toThrow(ImageError);
  });
});

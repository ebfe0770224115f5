/**
 * Layer blobs stored in files (OCI layouts, image archives) are read by position into reused
 * buffers, hashed as they are read, and fed to the decoder directly (FileBlob). Whatever decoder
 * runs, the bytes are those we compressed, and a blob whose bytes do not match its digest, or whose
 * file is shorter than declared, is refused without the decoded stream ever ending. Expected bytes
 * and digests come from the input, node:crypto over the whole buffer, and the zstd program.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { decompressAuto } from "../../src/image/decompress.js";
import { FileBlob } from "../../src/image/file-blob.js";
import { LayerCache } from "../../src/image/layer-cache.js";
import { readLayerSnapshots } from "../../src/image/layers.js";
import { openImage } from "../../src/image/open.js";
import {
  buildImage,
  buildLayer,
  writeOciArchive,
  writeOciLayout,
  zstdUnavailableReason,
} from "../helpers/image-builder.js";
import { tempDir } from "../helpers/temp-dir.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-file-blob-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = process.env.STOWAWAY_ZSTD;
afterEach(() => {
  if (saved === undefined) delete process.env.STOWAWAY_ZSTD;
  else process.env.STOWAWAY_ZSTD = saved;
});

/** Several read buffers long (5.5 MiB), compressible but not trivially. */
const plain = Buffer.concat(
  Array.from({ length: 88 }, (_, i) => Buffer.concat([randomBytes(32 * 1024), Buffer.alloc(32 * 1024, i)])),
);
const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Writes `blob` between two runs of other bytes, as a member sits inside an image archive. */
function stored(blob: Buffer, name: string): { file: string; start: number; size: number } {
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat([Buffer.alloc(1536, 7), blob, Buffer.alloc(700, 0)]));
  return { file, start: 1536, size: blob.length };
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const zstdOk = zstdUnavailableReason() === undefined;
const nativeZstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === "function";
const cases: { name: string; blob: () => Buffer; zstd?: string; skip?: boolean }[] = [
  { name: "gzip (zlib)", blob: () => zlib.gzipSync(plain) },
  { name: "uncompressed", blob: () => plain },
  {
    name: "zstd (program)",
    zstd: "program",
    skip: !zstdOk,
    blob: () => spawnSync("zstd", ["-c", "-q"], { input: plain, maxBuffer: 1 << 26 }).stdout,
  },
  // The in-process zstd decoder: Node's own where it has one (>= 22.15), else fzstd, so every Node
  // feeds a decoder in this process from the file's reused buffers.
  {
    name: nativeZstd ? "zstd (native)" : "zstd (fzstd: this Node has no native zstd)",
    zstd: nativeZstd ? "native" : "js",
    skip: !zstdOk,
    blob: () => spawnSync("zstd", ["-c", "-q"], { input: plain, maxBuffer: 1 << 26 }).stdout,
  },
];

describe("layer blobs read from a file", () => {
  for (const c of cases) {
    it.skipIf(c.skip)(`${c.name}: decodes to the original bytes from a range inside a file`, async () => {
      if (c.zstd) process.env.STOWAWAY_ZSTD = c.zstd;
      const blob = c.blob();
      const range = stored(blob, `ok-${c.name.replace(/\W/g, "")}`);
      const opened = await FileBlob.open(range, sha256(blob), "test blob", blob.length);
      expect((await drain(decompressAuto(opened))).equals(plain)).toBe(true);
    });

    it.skipIf(c.skip)(`${c.name}: a tampered blob fails with the digest error and never ends`, async () => {
      if (c.zstd) process.env.STOWAWAY_ZSTD = c.zstd;
      const blob = c.blob();
      const tampered = Buffer.from(blob);
      // The last byte: for gzip and zstd a checksum or size field the decoder may or may not check,
      // so it is the digest that must refuse it.
      tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
      const range = stored(tampered, `bad-${c.name.replace(/\W/g, "")}`);
      const opened = await FileBlob.open(range, sha256(blob), "test blob", blob.length);
      const output = decompressAuto(opened);
      let ended = false;
      output.on("end", () => (ended = true));
      const error = await drain(output).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ImageError);
      expect(ended).toBe(false);
    });
  }

  it("refuses a range shorter than the descriptor declares before reading it", async () => {
    const blob = zlib.gzipSync(plain);
    const range = stored(blob, "short");
    await expect(FileBlob.open(range, sha256(blob), "test blob", blob.length + 1)).rejects.toThrow(
      /blob is \d+ bytes but its descriptor declares \d+/,
    );
  });

  it("refuses a file cut short under an open blob", async () => {
    const blob = zlib.gzipSync(plain);
    const file = path.join(dir, "cut");
    writeFileSync(file, blob.subarray(0, 1000));
    const opened = await FileBlob.open({ file, start: 0, size: blob.length }, sha256(blob), "test blob");
    await expect(drain(decompressAuto(opened))).rejects.toThrow(/the download or archive is truncated/);
  });

  it("names the blob when the tampered bytes are no longer valid gzip", async () => {
    const blob = zlib.gzipSync(plain);
    const tampered = Buffer.from(blob);
    tampered.fill(0x55, 100, 4000);
    const range = stored(tampered, "garbled");
    const opened = await FileBlob.open(range, sha256(blob), "test blob", blob.length);
    await expect(drain(decompressAuto(opened))).rejects.toThrow(ImageError);
  });
});

describe("a layer blob changed where only its digest can tell", () => {
  // Bytes 4-7 of a gzip member are its MTIME, which gunzip ignores: the blob decodes to the very same
  // tar (so the diff_id matches), and only the blob digest, checked as the file is read, refuses it.
  for (const layout of ["directory", "archive"] as const) {
    it(`refuses it in an OCI ${layout} and caches nothing for the layer`, async () => {
      const layer = await buildLayer([{ path: "etc/os-release", content: "ID=debian\n" }]);
      const image = buildImage({ layers: [layer] });
      const target = path.join(dir, `mtime-${layout}${layout === "archive" ? ".tar" : ""}`);
      if (layout === "directory") {
        await writeOciLayout(target, { images: [{ image }] });
        const blobFile = path.join(target, "blobs/sha256", layer.digest.slice("sha256:".length));
        const blob = readFileSync(blobFile);
        blob[4] = blob[4]! ^ 1;
        expect(zlib.gunzipSync(blob).equals(layer.tar)).toBe(true);
        writeFileSync(blobFile, blob);
      } else {
        await writeOciArchive(target, { images: [{ image }] });
        const archive = readFileSync(target);
        const at = archive.indexOf(layer.blob);
        expect(at).toBeGreaterThan(0);
        archive[at + 4] = archive[at + 4]! ^ 1;
        writeFileSync(target, archive);
      }
      const opened = await openImage(layout === "directory" ? `oci:${target}` : `oci-archive:${target}`);
      const cache = new LayerCache(tempDir("stowaway-file-blob-cache-"), "fingerprint");
      try {
        await expect(readLayerSnapshots(opened, { wants: (name) => name === "etc/os-release", cache })).rejects.toThrow(
          /content digest sha256:[0-9a-f]{64} does not match/,
        );
        expect(await cache.get(layer.diffId)).toBeUndefined();
      } finally {
        await opened.close();
      }
    });
  }
});

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline as pipe, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DigestVerifier } from "../../src/image/digest.js";
import { LayerCache } from "../../src/image/layer-cache.js";
import { readLayerSnapshots } from "../../src/image/layers.js";
import type { ResolvedImage } from "../../src/image/types.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The blob digest is checked only after every byte was hashed, and a mismatch anywhere, even in
 * data no cataloger reads, refuses the layer before anything is cached. The walker does not hash the
 * uncompressed stream again: an uncompressed layer's diff_id must equal its (verified) digest, and a
 * compressed layer's diff_id is the image's claim (README "Caching and speed"). Expected digests come
 * from node:crypto over the whole buffer at once, from sha256sum and from gzip(1).
 */
describe("digest checks over streamed layers", () => {
  it("still refuses a blob whose digest does not match, after every byte was hashed", async () => {
    const blob = randomBytes(3 * 1024 * 1024);
    const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
    const ok = new DigestVerifier(digest, "blob", blob.length);
    await pipeline(
      Readable.from([blob.subarray(0, 1000), blob.subarray(1000)]),
      ok,
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) void chunk;
      },
    );
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    const bad = new DigestVerifier(digest, "blob", blob.length);
    await expect(
      pipeline(Readable.from([tampered]), bad, async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) void chunk;
      }),
    ).rejects.toThrow(/content digest sha256:[0-9a-f]{64} does not match/);
  });
});

const dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-digest-checks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const toolsAvailable =
  spawnSync("tar", ["--version"]).status === 0 &&
  spawnSync("sha256sum", ["--version"]).status === 0 &&
  spawnSync("gzip", ["--version"]).status === 0;

const sha256sum = (file: string): string =>
  `sha256:${spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0]}`;

/** One-layer image whose blob stream verifies `digest` as a ResolvedImage's does. */
const imageOf = (blob: Buffer, digest: string, diffId: string): ResolvedImage => ({
  reference: "test",
  manifestDigest: `sha256:${"0".repeat(64)}`,
  configDigest: `sha256:${"1".repeat(64)}`,
  platform: { os: "linux", architecture: "amd64" },
  config: {} as ResolvedImage["config"],
  layers: [{ index: 0, digest, diffId, mediaType: "application/vnd.oci.image.layer.v1.tar", size: blob.length }],
  openLayer: async () => {
    const verifier = new DigestVerifier(digest, "test layer", blob.length);
    pipe(Readable.from([blob.subarray(0, 100_000), blob.subarray(100_000)]), verifier, () => {});
    return verifier;
  },
  async close() {},
});

describe.skipIf(!toolsAvailable)("the digest checks of a streamed layer", () => {
  let tar: Buffer, tarDigest: string, gz: Buffer, gzDigest: string;
  beforeAll(() => {
    writeFileSync(path.join(dir, "big.bin"), randomBytes(6 * 1024 * 1024));
    writeFileSync(path.join(dir, "os-release"), "ID=debian\n");
    const file = path.join(dir, "layer.tar");
    expect(spawnSync("tar", ["-C", dir, "-cf", file, "big.bin", "os-release"]).status).toBe(0);
    tar = readFileSync(file);
    tarDigest = sha256sum(file);
    expect(spawnSync("gzip", ["-k", "-n", file]).status).toBe(0);
    gz = readFileSync(`${file}.gz`);
    gzDigest = sha256sum(`${file}.gz`);
  });
  const wants = (name: string): boolean => name === "os-release";

  it("refuses a multi-MiB uncompressed layer whose content differs from its digest and caches nothing", async () => {
    const tampered = Buffer.from(tar);
    tampered[4096] = tampered[4096]! ^ 1; // inside big.bin's data, which no one reads
    const cache = new LayerCache(tempDir("stowaway-digest-checks-cache-"), "fingerprint");
    await expect(readLayerSnapshots(imageOf(tampered, tarDigest, tarDigest), { wants, cache })).rejects.toThrow(
      /content digest sha256:[0-9a-f]{64} does not match/,
    );
    expect(await cache.get(tarDigest)).toBeUndefined();
    await readLayerSnapshots(imageOf(tar, tarDigest, tarDigest), { wants, cache });
    expect((await cache.get(tarDigest))?.files.get("os-release")?.toString()).toBe("ID=debian\n");
  });

  it("refuses a tampered compressed blob even when it still decompresses to the promised tar", async () => {
    const tampered = Buffer.from(gz);
    tampered[4] = tampered[4]! ^ 1; // the gzip header's MTIME: the tar inside is unchanged
    const cache = new LayerCache(tempDir("stowaway-digest-checks-cache-"), "fingerprint");
    await expect(readLayerSnapshots(imageOf(tampered, gzDigest, tarDigest), { wants, cache })).rejects.toThrow(
      /content digest sha256:[0-9a-f]{64} does not match/,
    );
    expect(await cache.get(gzDigest)).toBeUndefined();
    expect(await cache.get(tarDigest)).toBeUndefined();
  });

  it("refuses an uncompressed layer whose config names another diff_id, read cold or from the cache", async () => {
    const other = `sha256:${"2".repeat(64)}`;
    const cold = new LayerCache(tempDir("stowaway-digest-checks-cache-"), "fingerprint");
    await expect(readLayerSnapshots(imageOf(tar, tarDigest, other), { wants, cache: cold })).rejects.toThrow(
      /uncompressed tar, so its diff_id must be its digest, but the config says sha256:2{64}/,
    );
    expect(await cold.get(tarDigest)).toBeUndefined();
    // The same verified blob cached by an honest image does not make the false claim pass.
    const warm = new LayerCache(tempDir("stowaway-digest-checks-cache-"), "fingerprint");
    await readLayerSnapshots(imageOf(tar, tarDigest, tarDigest), { wants, cache: warm });
    await expect(readLayerSnapshots(imageOf(tar, tarDigest, other), { wants, cache: warm })).rejects.toThrow(
      /diff_id must be its digest/,
    );
  });

  it("takes a compressed layer's diff_id as claimed: the verified blob digest identifies it", async () => {
    const claimed = `sha256:${"3".repeat(64)}`;
    const cache = new LayerCache(tempDir("stowaway-digest-checks-cache-"), "fingerprint");
    const [snapshot] = await readLayerSnapshots(imageOf(gz, gzDigest, claimed), { wants, cache });
    expect(snapshot!.diffId).toBe(claimed);
    expect(snapshot!.files.get("os-release")?.toString()).toBe("ID=debian\n");
    expect((await cache.get(gzDigest))?.files.get("os-release")?.toString()).toBe("ID=debian\n");
    expect(await cache.get(claimed)).toBeUndefined();
  });
});

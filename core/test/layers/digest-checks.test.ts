import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, describe, expect, it } from "vitest";
import { DigestVerifier } from "../../src/image/digest.js";
import { LayerCache } from "../../src/image/layer-cache.js";
import { readLayerSnapshots } from "../../src/image/layers.js";
import type { ResolvedImage } from "../../src/image/types.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The blob digest and the diff_id are checked only after every byte was hashed, and a mismatch
 * anywhere, even in data no cataloger reads, refuses the layer before anything is cached. Expected
 * digests come from node:crypto over the whole buffer at once and from sha256sum.
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
const tarAvailable = spawnSync("tar", ["--version"]).status === 0 && spawnSync("sha256sum", ["--version"]).status === 0;

describe.skipIf(!tarAvailable)("the diff_id check of a streamed layer", () => {
  it("refuses a multi-MiB layer whose content differs from its diff_id and caches nothing under that key", async () => {
    writeFileSync(path.join(dir, "big.bin"), randomBytes(6 * 1024 * 1024));
    writeFileSync(path.join(dir, "os-release"), "ID=debian\n");
    const file = path.join(dir, "layer.tar");
    expect(spawnSync("tar", ["-C", dir, "-cf", file, "big.bin", "os-release"]).status).toBe(0);
    const tar = readFileSync(file);
    const promised = `sha256:${spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0]}`;
    const tampered = Buffer.from(tar);
    tampered[4096] = tampered[4096]! ^ 1; // inside big.bin's data, which no one reads
    const imageOf = (blob: Buffer): ResolvedImage => ({
      reference: "test",
      manifestDigest: `sha256:${"0".repeat(64)}`,
      configDigest: `sha256:${"1".repeat(64)}`,
      platform: { os: "linux", architecture: "amd64" },
      config: {} as ResolvedImage["config"],
      layers: [
        {
          index: 0,
          digest: promised,
          diffId: promised,
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          size: blob.length,
        },
      ],
      openLayer: async () => Readable.from([blob.subarray(0, 100_000), blob.subarray(100_000)]),
      async close() {},
    });
    const cache = new LayerCache(tempDir("stowaway-digest-checks-cache-"), "fingerprint");
    const wants = (name: string): boolean => name === "os-release";
    await expect(readLayerSnapshots(imageOf(tampered), { wants, cache })).rejects.toThrow(
      /does not match the config's diff_id/,
    );
    expect(await cache.get(promised)).toBeUndefined();
    await readLayerSnapshots(imageOf(tar), { wants, cache });
    expect((await cache.get(promised))?.files.get("os-release")?.toString()).toBe("ID=debian\n");
  });
});

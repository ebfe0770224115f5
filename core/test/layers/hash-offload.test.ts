import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, describe, expect, it } from "vitest";
import { DigestVerifier } from "../../src/image/digest.js";
import { streamHash } from "../../src/image/hash-offload.js";

// The worker is opt-in (hash-offload.ts): these tests are about it.
process.env.STOWAWAY_HASH_WORKER = "1";
import { LayerCache } from "../../src/image/layer-cache.js";
import { readLayerSnapshots } from "../../src/image/layers.js";
import type { ResolvedImage } from "../../src/image/types.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * Streams past 1 MiB are hashed on a worker thread through a shared ring buffer. Expected digests
 * come from node:crypto over the whole buffer at once (and, for the layer, from sha256sum).
 */
const feed = (hash: ReturnType<typeof streamHash>, data: Buffer, sizes: number[]): void => {
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    hash.update(data.subarray(at, at + size));
    at += size;
  }
};

describe("hashing streams off the main thread", () => {
  it("matches a one-shot hash for streams that wrap the ring many times, interleaved, in odd chunk sizes", async () => {
    const a = randomBytes(40 * 1024 * 1024 + 3);
    const b = randomBytes(9 * 1024 * 1024 + 17);
    const ha = streamHash("sha256");
    const hb = streamHash("sha512");
    // Interleave the two streams chunk by chunk, the way concurrent layers share the worker.
    const sizes = [1, 65_536, 4 * 1024 * 1024 + 5, 777, 1024 * 1024 - 1, 10 * 1024 * 1024];
    let atA = 0;
    let atB = 0;
    for (let i = 0; atA < a.length || atB < b.length; i++) {
      const size = sizes[i % sizes.length]!;
      if (atA < a.length) ha.update(a.subarray(atA, (atA += size)));
      if (atB < b.length) hb.update(b.subarray(atB, (atB += size)));
    }
    const [digestA, digestB] = await Promise.all([ha.digest(), hb.digest()]);
    expect(digestA).toBe(createHash("sha256").update(a).digest("hex"));
    expect(digestB).toBe(createHash("sha512").update(b).digest("hex"));
  });

  it("hashes small and empty streams inline, with the same result", async () => {
    for (const data of [Buffer.alloc(0), Buffer.from("x"), randomBytes(1024 * 1024 - 1)]) {
      const hash = streamHash("sha256");
      feed(hash, data, [1000]);
      expect(await hash.digest()).toBe(createHash("sha256").update(data).digest("hex"));
    }
  });

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

const dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-hash-offload-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tarAvailable = spawnSync("tar", ["--version"]).status === 0 && spawnSync("sha256sum", ["--version"]).status === 0;

describe.skipIf(!tarAvailable)("the diff_id check of a layer hashed on the worker", () => {
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
    const cache = new LayerCache(tempDir("stowaway-hash-offload-cache-"), "fingerprint");
    const wants = (name: string): boolean => name === "os-release";
    await expect(readLayerSnapshots(imageOf(tampered), { wants, cache })).rejects.toThrow(
      /does not match the config's diff_id/,
    );
    expect(await cache.get(promised)).toBeUndefined();
    await readLayerSnapshots(imageOf(tar), { wants, cache });
    expect((await cache.get(promised))?.files.get("os-release")?.toString()).toBe("ID=debian\n");
  });
});

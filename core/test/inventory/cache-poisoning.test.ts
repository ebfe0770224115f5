/**
 * The layer and inventory caches are keyed by what reading a layer verified (the blob digest the
 * manifest addresses; for a legacy docker-archive's compressed layer, the hashed diff_id), never by
 * a diff_id nobody hashed. An image whose config claims another layer's diff_id for other content
 * therefore cannot plant its inventory under that layer for a later scan of the legitimate image.
 * Expected packages come from the apk databases written into the fixtures here.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ScanResult } from "../../src/result.js";
import { scan } from "../../src/scan.js";
import {
  buildImage,
  buildLayer,
  dockerArchiveFiles,
  writeOciLayout,
  writeTar,
  type BuiltImage,
  type LayerEntry,
} from "../helpers/image-builder.js";
import { tempDir } from "../helpers/temp-dir.js";

const root = tempDir("stowaway-cache-poisoning-");
const OS_RELEASE = { path: "etc/os-release", content: 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine"\n' };
const apkDb = (...packages: [string, string][]): LayerEntry => ({
  path: "lib/apk/db/installed",
  content: packages.map(([name, version]) => `P:${name}\nV:${version}\nA:x86_64\nL:MIT\n\n`).join(""),
});

const scanned = async (target: string, cacheDir: string): Promise<{ packages: string[]; walked: number }> => {
  let walked = 0;
  const result: ScanResult = await scan(target, {
    cacheDir,
    now: new Date("2025-01-01T00:00:00Z"),
    onProgress: (event) => {
      if (event.kind === "layer-start") walked += 1;
    },
  });
  return { packages: result.packages.map((pkg) => `${pkg.name}@${pkg.version}:${pkg.layerIndex}`).sort(), walked };
};

async function layout(name: string, image: BuiltImage): Promise<string> {
  const dir = path.join(root, name);
  await writeOciLayout(dir, { images: [{ image, tag: "t" }] });
  return `oci:${dir}:t`;
}

describe("a config claiming another layer's diff_id", () => {
  it("does not poison the caches for the legitimate image (OCI layout, gzip layers)", async () => {
    const base = await buildLayer([OS_RELEASE, apkDb(["musl", "1.2.4-r2"])]);
    const legitTop = await buildLayer([apkDb(["musl", "1.2.4-r2"], ["zlib", "1.3.1-r0"])]);
    const evilTop = await buildLayer([apkDb(["musl", "1.2.4-r2"], ["evil", "6.6.6-r0"])]);
    const legit = buildImage({ layers: [base, legitTop] });
    // Image A carries evilTop's blob, but its config claims legitTop's diff_id for it.
    const claiming = buildImage({
      layers: [base, evilTop],
      config: { rootfs: { type: "layers", diff_ids: [base.diffId, legitTop.diffId] } },
    });
    expect(claiming.config.rootfs).toEqual(legit.config.rootfs);
    const cacheDir = path.join(root, "cache-oci");

    // A compressed layer's diff_id is not hashed (README "Caching and speed"): A is read for what it carries.
    const first = await scanned(await layout("claiming", claiming), cacheDir);
    expect(first.packages).toEqual(["evil@6.6.6-r0:1", "musl@1.2.4-r2:0"]);

    const second = await scanned(await layout("legit", legit), cacheDir);
    expect(second.packages).toEqual(["musl@1.2.4-r2:0", "zlib@1.3.1-r0:1"]);
    // The shared base came from the layer cache; the top layer, another blob, was read.
    expect(second.walked).toBe(1);

    // And the other way round: A rescanned after the legitimate image still shows its own content.
    const again = await scanned(await layout("claiming", claiming), cacheDir);
    expect(again.packages).toEqual(["evil@6.6.6-r0:1", "musl@1.2.4-r2:0"]);
  });

  it("is refused for a legacy docker-archive's compressed layer, whose diff_id is what reading it checks", async () => {
    const base = await buildLayer([OS_RELEASE, apkDb(["musl", "1.2.4-r2"])], { mediaTypes: "docker" });
    const legitTop = await buildLayer([apkDb(["musl", "1.2.4-r2"], ["zlib", "1.3.1-r0"])], { mediaTypes: "docker" });
    const evilTop = await buildLayer([apkDb(["musl", "1.2.4-r2"], ["evil", "6.6.6-r0"])], { mediaTypes: "docker" });
    const legit = buildImage({ layers: [base, legitTop], mediaTypes: "docker" });
    /** A `docker save`-shaped archive whose layer members hold gzip blobs (as skopeo writes them). */
    const compressedArchive = async (name: string, image: BuiltImage, blobs: Buffer[]): Promise<string> => {
      const files = dockerArchiveFiles([{ image }]);
      for (const [i, layer] of image.layers.entries()) files.set(`${layer.diffId.slice(7)}/layer.tar`, blobs[i]!);
      const file = path.join(root, `${name}.tar`);
      await writeTar(
        file,
        [...files].map(([member, content]) => ({ path: member, content })),
      );
      return `docker-archive:${file}`;
    };
    const cacheDir = path.join(root, "cache-docker");
    const claiming = await compressedArchive("claiming-docker", legit, [base.blob, evilTop.blob]);
    await expect(scan(claiming, { cacheDir, now: new Date("2025-01-01T00:00:00Z") })).rejects.toThrow(
      /layer 1 .*does not match the config's diff_id/,
    );
    const second = await scanned(await compressedArchive("legit-docker", legit, [base.blob, legitTop.blob]), cacheDir);
    expect(second.packages).toEqual(["musl@1.2.4-r2:0", "zlib@1.3.1-r0:1"]);
  });
});

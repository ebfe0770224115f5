/** Sources exercised with images built in the test, so each property is pinned by construction. */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { openImage } from "../../src/image/open.js";
import { parsePlatform } from "../../src/image/platform.js";
import type { ResolvedImage } from "../../src/image/types.js";
import {
  buildImage,
  buildIndex,
  buildLayer,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  zstdUnavailableReason,
  type BuiltImage,
} from "../helpers/image-builder.js";

let dir: string;
let single: BuiltImage;
let amd: BuiltImage;
let arm: BuiltImage;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-built-"));
  const base = await buildLayer([
    { path: "etc", type: "dir" },
    { path: "etc/os-release", content: "ID=test\n" },
    { path: "bin/sh", type: "symlink", linkname: "busybox" },
  ]);
  const app = await buildLayer([{ path: "app/main.js", content: "console.log(1)\n" }], { compression: "none" });
  single = buildImage({
    layers: [base, app],
    history: [
      { created_by: "ADD rootfs /" },
      { created_by: "ENV X=1", empty_layer: true },
      { created_by: "COPY app /app" },
    ],
  });
  amd = buildImage({ layers: [await buildLayer([{ path: "arch", content: "amd64" }])] });
  arm = buildImage({
    layers: [await buildLayer([{ path: "arch", content: "arm64" }])],
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
  });
  await writeDockerArchive(path.join(dir, "legacy.tar"), [{ image: single, repoTags: ["app:1"] }]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function readAll(image: ResolvedImage): Promise<Buffer[]> {
  const blobs: Buffer[] = [];
  for (const layer of image.layers) {
    const chunks: Buffer[] = [];
    for await (const chunk of await image.openLayer(layer.index)) chunks.push(chunk as Buffer);
    blobs.push(Buffer.concat(chunks));
  }
  return blobs;
}

function expectSingle(image: ResolvedImage): void {
  expect(image.configDigest).toBe(single.configDigest);
  expect(image.layers.map((l) => l.diffId)).toEqual(single.layers.map((l) => l.diffId));
  expect(image.layers.map((l) => l.createdBy)).toEqual(["ADD rootfs /", "COPY app /app"]);
  expect(image.platform).toEqual({ os: "linux", architecture: "amd64" });
}

describe("OCI layout directory", () => {
  it("selects by tag, by digest, and lists tags when the tag is unknown", async () => {
    const layout = path.join(dir, "layout");
    await writeOciLayout(layout, {
      images: [
        { image: single, tag: "1.0" },
        { image: arm, tag: "arm" },
      ],
    });
    const byTag = await openImage(`oci:${layout}:1.0`);
    expectSingle(byTag);
    expect(byTag.manifestDigest).toBe(single.manifestDigest);
    expect(await readAll(byTag)).toEqual(single.layers.map((l) => l.blob));
    const byDigest = await openImage(`oci:${layout}@${arm.manifestDigest}`);
    expect(byDigest.manifestDigest).toBe(arm.manifestDigest);
    expect(byDigest.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    await expect(openImage(`oci:${layout}:2.0`)).rejects.toThrow(/no image tagged "2.0"; tags present: 1.0, arm/);
    await expect(openImage(`oci:${layout}@sha256:${"0".repeat(64)}`)).rejects.toThrow(
      /no manifest or index with digest/,
    );
  });

  it("picks among untagged platform-less manifests by reading their configs", async () => {
    const layout = path.join(dir, "untagged");
    await writeOciLayout(layout, { images: [{ image: amd }, { image: arm }] });
    expect((await openImage(`oci:${layout}`)).manifestDigest).toBe(amd.manifestDigest);
    expect((await openImage(`oci:${layout}`, { platform: parsePlatform("linux/arm64") })).manifestDigest).toBe(
      arm.manifestDigest,
    );
    await expect(openImage(`oci:${layout}`, { platform: parsePlatform("linux/s390x") })).rejects.toThrow(
      /no image for linux\/s390x in oci:.*; available: linux\/amd64, linux\/arm64\/v8; pass --platform/,
    );
  });

  it("refuses a blob symlinked outside the layout", async () => {
    const layout = path.join(dir, "symlinked");
    await writeOciLayout(layout, { images: [{ image: single }] });
    const config = path.join(layout, "blobs/sha256", single.configDigest.slice(7));
    const outside = path.join(dir, "outside-config.json");
    writeFileSync(outside, readFileSync(config));
    await rm(config);
    execFileSync("ln", ["-s", outside, config]);
    await expect(openImage(`oci:${layout}`)).rejects.toThrow(/outside the layout/);
  });
});

describe("OCI archive", () => {
  it("resolves a multi-arch index with attestations nested under index.json", async () => {
    const file = path.join(dir, "multi.tar");
    await writeOciArchive(file, { index: buildIndex([amd, arm], { attestations: true }), tag: "latest" });
    const image = await openImage(`oci-archive:${file}`, { platform: parsePlatform("linux/arm64") });
    expect(image.manifestDigest).toBe(arm.manifestDigest);
    expect(await readAll(image)).toEqual([arm.layers[0]!.blob]);
    expect((await openImage(file)).manifestDigest).toBe(amd.manifestDigest);
  });

  it("resolves an index nested two levels deep", async () => {
    const file = path.join(dir, "nested.tar");
    const inner = buildIndex([arm], { attestations: true });
    await writeOciArchive(file, { index: buildIndex([amd], { children: [inner] }) });
    expect((await openImage(file, { platform: parsePlatform("linux/arm64/v8") })).manifestDigest).toBe(
      arm.manifestDigest,
    );
  });

  it.skipIf(zstdUnavailableReason() !== undefined)("streams zstd layers as stored", async () => {
    const layer = await buildLayer([{ path: "z", content: "zstd".repeat(100) }], { compression: "zstd" });
    const image = buildImage({ layers: [layer] });
    const file = path.join(dir, "zstd.tar");
    await writeOciArchive(file, { images: [{ image }] });
    const opened = await openImage(file);
    expect(opened.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
    expect(await readAll(opened)).toEqual([layer.blob]);
  });

  it("detects a tampered layer when it is read", async () => {
    const file = path.join(dir, "tampered.tar");
    await writeOciArchive(file, { images: [{ image: single }] });
    const data = readFileSync(file);
    // Flip one byte inside the uncompressed app layer; sizes stay the same.
    const offset = data.indexOf(Buffer.from("console.log(1)"));
    expect(offset).toBeGreaterThan(0);
    data[offset] = "C".charCodeAt(0);
    writeFileSync(file, data);
    const image = await openImage(file);
    const error = await readAll(image).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(
      new RegExp(`layer 1 .*content digest sha256:[a-f0-9]{64} does not match ${single.layers[1]!.digest}`),
    );
  });

  it("detects a tampered config before returning", async () => {
    const file = path.join(dir, "tampered-config.tar");
    await writeOciArchive(file, { images: [{ image: single }] });
    const data = readFileSync(file);
    const offset = data.indexOf(Buffer.from("ADD rootfs /"));
    expect(offset).toBeGreaterThan(0);
    data[offset] = "a".charCodeAt(0);
    writeFileSync(file, data);
    await expect(openImage(file)).rejects.toThrow(/config .* does not match/);
  });

  it("rejects a config whose diff_ids disagree with the manifest's layers", async () => {
    const broken = buildImage({
      layers: single.layers,
      config: { rootfs: { type: "layers", diff_ids: [single.layers[0]!.diffId] } },
    });
    const file = path.join(dir, "count.tar");
    await writeOciArchive(file, { images: [{ image: broken }] });
    await expect(openImage(file)).rejects.toThrow(/2 layer blob\(s\) but its config lists 1 diff_ids/);
  });

  it("omits createdBy when history does not align with the layers", async () => {
    const misaligned = buildImage({ layers: single.layers, history: [{ created_by: "only one" }] });
    const file = path.join(dir, "history.tar");
    await writeOciArchive(file, { images: [{ image: misaligned }] });
    expect((await openImage(file)).layers.map((l) => l.createdBy)).toEqual([undefined, undefined]);
  });
});

describe("docker-archive", () => {
  it("reads the legacy form, verifying uncompressed layers against diff_ids", async () => {
    const image = await openImage(`docker-archive:${path.join(dir, "legacy.tar")}`);
    expectSingle(image);
    // docker save stores uncompressed tars, so the blob digest is the diff_id.
    expect(image.layers.map((l) => l.digest)).toEqual(single.layers.map((l) => l.diffId));
    expect(await readAll(image)).toEqual(single.layers.map((l) => l.tar));
  });

  it("reads the Docker 25+ form through its OCI layout", async () => {
    const file = path.join(dir, "docker25.tar");
    await writeDockerArchive(file, [{ image: single, repoTags: ["app:1"] }], "oci");
    const image = await openImage(`docker-archive:${file}`);
    expect(image.manifestDigest).toBe(single.manifestDigest);
    expectSingle(image);
  });

  it("detects a legacy layer rewritten after docker save", async () => {
    const file = path.join(dir, "legacy-tampered.tar");
    await writeDockerArchive(file, [{ image: single }]);
    const data = readFileSync(file);
    data[data.indexOf(Buffer.from("ID=test"))] = "X".charCodeAt(0);
    writeFileSync(file, data);
    const image = await openImage(file);
    await expect(readAll(image)).rejects.toThrow(/layer 0 .*does not match/);
  });

  it("opens a gzip-compressed archive given with an explicit prefix", async () => {
    const file = path.join(dir, "legacy.tar.gz");
    await writeDockerArchive(path.join(dir, "for-gzip.tar"), [{ image: single }]);
    await writeFile(file, gzipSync(readFileSync(path.join(dir, "for-gzip.tar"))));
    const image = await openImage(`docker-archive:${file}`);
    expectSingle(image);
    await readAll(image);
    await image.close();
  });

  it("reports a truncated gzip archive", async () => {
    const file = path.join(dir, "cut.tar.gz");
    const whole = gzipSync(readFileSync(path.join(dir, "legacy.tar")));
    await writeFile(file, whole.subarray(0, whole.length >> 1));
    await expect(openImage(file)).rejects.toThrow(/cannot decompress the gzip archive/);
  });

  it.each(["gnu", "pax", "ustar"])("reads long member names written by GNU tar --format=%s", async (format) => {
    const root = path.join(dir, `long-${format}`);
    await mkdir(root, { recursive: true });
    execFileSync("tar", ["-xf", path.join(dir, "legacy.tar"), "-C", root]);
    // 150-character directory names overflow the 100-byte ustar name field: GNU tar writes a
    // GNU long-name record, a PAX path record, or splits into the ustar prefix field.
    const manifestFile = path.join(root, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { Config: string; Layers: string[] }[];
    manifest[0]!.Layers = manifest[0]!.Layers.map((layer) => {
      const [id, base] = layer.split("/") as [string, string];
      const long = `${id}-${"x".repeat(150 - id.length - 1)}`;
      execFileSync("mv", [path.join(root, id), path.join(root, long)]);
      return `${long}/${base}`;
    });
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const file = path.join(dir, `long-${format}.tar`);
    // Only regular files: ustar cannot split a bare 150-character directory name.
    const members = ["manifest.json", manifest[0]!.Config, ...manifest[0]!.Layers].map((m) => `./${m}`);
    execFileSync("tar", [`--format=${format}`, "-cf", file, "-C", root, ...members]);
    expect(execFileSync("tar", ["-tf", file]).toString()).toContain("x".repeat(80));
    const image = await openImage(`docker-archive:${file}`);
    expectSingle(image);
    expect(await readAll(image)).toEqual(single.layers.map((l) => l.tar));
  });
});

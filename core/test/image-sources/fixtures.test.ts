/**
 * Every real archive under ../shared/images either resolves (with values read here from the
 * archive's own JSON, independently of the code under test) or fails with a clean ImageError.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { openImage } from "../../src/image/open.js";
import { parsePlatform } from "../../src/image/platform.js";
import type { ResolvedImage } from "../../src/image/types.js";
import { writeTar } from "../helpers/image-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const blobName = (digest: string): string => `blobs/sha256/${digest.slice("sha256:".length)}`;

type Json = Record<string, unknown> & {
  manifests?: Json[];
  config?: Json;
  layers?: Json[];
  digest?: string;
  platform?: { architecture: string; variant?: string };
  rootfs?: { diff_ids: string[] };
  history?: { created_by?: string; empty_layer?: boolean }[];
};

/** Reads a member with the system tar (or from a directory), never through the code under test. */
function reader(source: string): (name: string) => Buffer {
  if (statSync(source).isDirectory()) return (name) => readFileSync(path.join(source, name));
  const flags = source.endsWith(".gz") ? "-xzOf" : "-xOf";
  return (name) => execFileSync("tar", [flags, source, name], { maxBuffer: 256 << 20 });
}

interface Expected {
  manifestDigest?: string;
  configDigest: string;
  diffIds: string[];
  layerDigests?: string[];
  createdBy: (string | undefined)[];
}

function fromConfig(config: Json): Pick<Expected, "diffIds" | "createdBy"> {
  const diffIds = config.rootfs!.diff_ids;
  const history = (config.history ?? []).filter((h) => h.empty_layer !== true);
  const createdBy = diffIds.map((_, i) =>
    history.length === diffIds.length && history[i]!.created_by ? history[i]!.created_by : undefined,
  );
  return { diffIds, createdBy };
}

/** Walks index.json to the manifest a test names (by architecture/variant of a nested child). */
function expectedOci(source: string, arch?: { architecture: string; variant?: string }): Expected {
  const read = reader(source);
  const parse = (name: string) => JSON.parse(read(name).toString()) as Json;
  let descriptor = parse("index.json").manifests![0]!;
  let manifest = parse(blobName(descriptor.digest!));
  while (manifest.manifests) {
    const children = manifest.manifests.filter(
      (m) =>
        !arch ||
        (m.platform?.architecture === arch.architecture && (!arch.variant || m.platform?.variant === arch.variant)),
    );
    descriptor = children.find((m) => existsInSource(read, blobName(m.digest!)))!;
    manifest = parse(blobName(descriptor.digest!));
  }
  const configDigest = manifest.config!.digest!;
  return {
    manifestDigest: descriptor.digest!,
    configDigest,
    layerDigests: manifest.layers!.map((l) => l.digest!),
    ...fromConfig(parse(blobName(configDigest))),
  };
}

function existsInSource(read: (name: string) => Buffer, name: string): boolean {
  try {
    read(name);
    return true;
  } catch {
    return false;
  }
}

function expectedDocker(source: string): Expected {
  const read = reader(source);
  const entry = (JSON.parse(read("manifest.json").toString()) as { Config: string }[])[0]!;
  const configData = read(entry.Config);
  return { configDigest: sha256(configData), ...fromConfig(JSON.parse(configData.toString()) as Json) };
}

async function drain(image: ResolvedImage): Promise<number[]> {
  const sizes: number[] = [];
  for (const layer of image.layers) {
    let bytes = 0;
    for await (const chunk of await image.openLayer(layer.index)) bytes += (chunk as Buffer).length;
    sizes.push(bytes);
  }
  return sizes;
}

function checkImage(image: ResolvedImage, expected: Expected, reference: string): void {
  expect(image.reference).toBe(reference);
  if (expected.manifestDigest) expect(image.manifestDigest).toBe(expected.manifestDigest);
  else expect(image.manifestDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
  expect(image.configDigest).toBe(expected.configDigest);
  expect(image.layers.map((l) => l.diffId)).toEqual(expected.diffIds);
  if (expected.layerDigests) expect(image.layers.map((l) => l.digest)).toEqual(expected.layerDigests);
  expect(image.layers.map((l) => l.createdBy)).toEqual(expected.createdBy);
}

const IMAGES = "images/snyk-docker-plugin";
const OCI_RESOLVING: [string, { architecture: string; variant?: string }?][] = [
  ["images/debian/bookworm-minbase.oci-archive.tar"],
  [`${IMAGES}/containerd-archives/alpine.tar`],
  [`${IMAGES}/containerd-archives/busybox.amd64.tar`, { architecture: "amd64" }],
  [`${IMAGES}/containerd-archives/busybox.arm64.tar`, { architecture: "arm64" }],
  [`${IMAGES}/containerd-archives/busybox.armv7.tar`, { architecture: "arm", variant: "v7" }],
  [`${IMAGES}/containerd-archives/busybox-single-arch-with-attestation-manifest.tar`, { architecture: "arm64" }],
  [`${IMAGES}/docker-oci-archives/busybox.armv7.tar`],
  [`${IMAGES}/docker-archives/docker-save/hello-world.tar`],
  [`${IMAGES}/docker-archives/skopeo-copy/node-removed.tar`],
  [`${IMAGES}/oci-archives/busybox-1.31.1.tar`],
  ["images/stereoscope/oci/testdata/valid-oci.tar"],
  ["images/stereoscope/oci/testdata/valid_oci_dir"],
  ["images/stereoscope/oci/testdata/multiplatform_oci_dir", { architecture: "amd64" }],
  ["images/trivy/oci-layouts/test.oci"],
  ["images/trivy/oci-layouts/test_image_tag.oci"],
];

const DOCKER_RESOLVING = [
  ...[
    "3-level-jar",
    "gemfile",
    "java-uberjar",
    "java",
    "openjdk",
    "poetry",
    "sibling-uberjars-deepest-first",
    "sibling-uberjars-shallowest-first",
    "top-level",
    "war-with-3-level-jar",
  ].map((n) => `${IMAGES}/docker-archives/docker-save/${n}.tar`),
  ...["busybox", "centos-6", "nodes-fake", "nodes-fake-multi"].map(
    (n) => `${IMAGES}/docker-archives/skopeo-copy/${n}.tar`,
  ),
  `${IMAGES}/kaniko-archives/kaniko-busybox.tar`,
  "images/trivy/alpine-310.tar.gz",
  "images/trivy/alpine-311.tar.gz",
];

/** snyk trims these fixtures to the layers its tests read, so the config lists more diff_ids. */
const TRIMMED_DOCKER = [
  ...["dockergoof", "nginx-os-release-link", "nginx-with-buildinfo", "nginx"].map(
    (n) => `${IMAGES}/docker-archives/docker-save/${n}.tar`,
  ),
  ...["nginx", "nginx-compressed-layers"].map((n) => `${IMAGES}/docker-archives/skopeo-copy/${n}.tar`),
];

const FAILING: [string, RegExp][] = [
  [`${IMAGES}/docker-oci-archives/unsupported-image.tar`, /not an image archive/],
  // Blobs were cut down or replaced after the manifests were written.
  [`${IMAGES}/oci-archives/alpine-3.12.0.tar`, /layer 0 blob .* is 6165 bytes but the manifest declares 2797541/],
  [`${IMAGES}/oci-archives/nginx.tar`, /manifest blob .* is 812 bytes but its descriptor declares 971/],
  [`${IMAGES}/oci-archives/oci-with-manifest.tar`, /layer 0 blob .* is 509 bytes but the manifest declares 26689802/],
  ["images/stereoscope/oci/testdata/invalid_file", /index\.json is not valid JSON/],
  ["images/stereoscope/oci/testdata/no_manifests", /index\.json is an image manifest, not an image index/],
  ["images/stereoscope/oci/testdata/valid_manifest", /manifest blob .* is 0 bytes but its descriptor declares 424/],
  ["images/trivy/oci-layouts/test_bad_index_json.oci", /index\.json is not valid JSON/],
  ["images/trivy/oci-layouts/test_index_json_dir.oci", /"index\.json" is a directory/],
  ["images/trivy/oci-layouts/test_invalid_oci_image.oci", /the index holds no image manifest/],
  ["images/trivy/oci-layouts/test_no_valid_manifests.oci", /index\.json has no "manifests" list/],
];

function expectCleanError(error: unknown, message: RegExp, file: string): void {
  expect(error).toBeInstanceOf(ImageError);
  const text = (error as Error).message;
  expect(text).toMatch(message);
  expect(text).not.toContain("\n");
  expect(text).toContain(path.basename(file));
}

describeWithShared("real OCI archives and layouts", () => {
  it.each(OCI_RESOLVING)("%s resolves and every layer verifies", async (file, arch) => {
    const source = sharedPath(file);
    const image = await openImage(
      source,
      arch ? { platform: parsePlatform(`linux/${arch.architecture}${arch.variant ? `/${arch.variant}` : ""}`) } : {},
    );
    try {
      checkImage(image, expectedOci(source, arch), source);
      const sizes = await drain(image);
      expect(sizes).toEqual(image.layers.map((l) => l.size));
    } finally {
      await image.close();
    }
  });

  it("the Debian archive streams its single 51 MB layer to the end with a verified digest", async () => {
    const source = sharedPath("images/debian/bookworm-minbase.oci-archive.tar");
    const image = await openImage(`oci-archive:${source}`);
    const expected = expectedOci(source);
    expect(image.reference).toBe(`oci-archive:${source}`);
    expect(image.layers).toHaveLength(expected.diffIds.length);
    const hash = createHash("sha256");
    for await (const chunk of await image.openLayer(0)) hash.update(chunk as Buffer);
    expect(`sha256:${hash.digest("hex")}`).toBe(expected.layerDigests![0]);
    await image.close();
    await expect(image.openLayer(0)).rejects.toThrow(/closed/);
    await image.close(); // safe twice
  });
});

describeWithShared("multi-arch selection on containerd exports", () => {
  const busybox = (arch: string) => sharedPath(`${IMAGES}/containerd-archives/busybox.${arch}.tar`);

  it("lists what the archive holds, and what the index names without blobs, when nothing matches", async () => {
    const source = busybox("amd64");
    const read = reader(source);
    const top = (JSON.parse(read("index.json").toString()) as Json).manifests![0]!;
    const nested = JSON.parse(read(blobName(top.digest!)).toString()) as Json;
    const format = (p: { os?: string; architecture: string; variant?: string }) =>
      [
        p.os,
        p.architecture,
        p.variant ?? (p.architecture === "arm64" ? "v8" : p.architecture === "arm" ? "v7" : undefined),
      ]
        .filter(Boolean)
        .join("/");
    const images = nested.manifests!.filter((m) => m.platform?.architecture !== "unknown");
    const present = images
      .filter((m) => existsInSource(read, blobName(m.digest!)))
      .map((m) => format(m.platform as never));
    const absent = images
      .filter((m) => !existsInSource(read, blobName(m.digest!)))
      .map((m) => format(m.platform as never));
    expect(present).toEqual(["linux/amd64"]);
    const error = await openImage(source, { platform: parsePlatform("linux/sparc64") }).catch((e: unknown) => e);
    expectCleanError(error, /no image for linux\/sparc64/, source);
    expect((error as Error).message).toBe(
      `no image for linux/sparc64 in ${source}; available: ${present.join(", ")} (the index also lists ${absent.join(", ")}, whose blobs are not in this source); pass --platform`,
    );
  });

  it("skips the attestation manifest beside a single-arch image", async () => {
    const source = sharedPath(`${IMAGES}/containerd-archives/busybox-single-arch-with-attestation-manifest.tar`);
    const error = await openImage(source, { platform: parsePlatform("linux/amd64") }).catch((e: unknown) => e);
    expectCleanError(error, /available: linux\/arm64\/v8; pass --platform$/, source);
    expect((error as Error).message).not.toContain("unknown");
    const image = await openImage(source);
    expect(image.platform).toMatchObject({ os: "linux", architecture: "arm64" });
    await image.close();
  });

  it("the arm/v7 export is not taken for arm/v6", async () => {
    const error = await openImage(busybox("armv7"), { platform: parsePlatform("linux/arm/v6") }).catch(
      (e: unknown) => e,
    );
    expectCleanError(error, /no image for linux\/arm\/v6 .*available: linux\/arm\/v7 /, busybox("armv7"));
  });
});

describeWithShared("real docker-archive files", () => {
  it.each(DOCKER_RESOLVING)("%s resolves and every layer verifies", async (file) => {
    const source = sharedPath(file);
    const image = await openImage(source);
    try {
      checkImage(image, expectedDocker(source), source);
      await drain(image);
    } finally {
      await image.close();
    }
  });

  it("docker-archive: with Docker 25+ output reads the OCI side (real manifest digest)", async () => {
    const source = sharedPath(`${IMAGES}/docker-archives/docker-save/hello-world.tar`);
    const image = await openImage(`docker-archive:${source}`);
    checkImage(image, expectedOci(source), `docker-archive:${source}`);
    await image.close();
  });

  it.each(TRIMMED_DOCKER)("%s (trimmed fixture) fails on the layer count", async (file) => {
    const source = sharedPath(file);
    const read = reader(source);
    const entry = (JSON.parse(read("manifest.json").toString()) as { Config: string; Layers: string[] }[])[0]!;
    const diffIds = (JSON.parse(read(entry.Config).toString()) as Json).rootfs!.diff_ids;
    const error = await openImage(source).catch((e: unknown) => e);
    expectCleanError(
      error,
      new RegExp(`lists ${entry.Layers.length} layer\\(s\\) but the config has ${diffIds.length} diff_ids`),
      source,
    );
  });

  it("java-windows.tar resolves but its rewritten layer fails digest verification when read", async () => {
    const source = sharedPath(`${IMAGES}/docker-archives/docker-save/java-windows.tar`);
    const read = reader(source);
    const entry = (JSON.parse(read("manifest.json").toString()) as { Config: string; Layers: string[] }[])[0]!;
    const diffId = (JSON.parse(read(entry.Config).toString()) as Json).rootfs!.diff_ids[0];
    // The fixture's own content shows the mismatch.
    expect(sha256(read(entry.Layers[0]!))).not.toBe(diffId);
    const image = await openImage(source);
    const error = await drain(image).catch((e: unknown) => e);
    expectCleanError(error, /content digest .* does not match/, source);
    await image.close();
  });

  it("a gzip-compressed archive is decompressed to a temp dir that close() removes", async () => {
    const before = new Set(readdirSync(os.tmpdir()).filter((n) => n.startsWith("stowaway-archive-")));
    const image = await openImage(sharedPath("images/trivy/alpine-310.tar.gz"));
    const created = readdirSync(os.tmpdir()).filter((n) => n.startsWith("stowaway-archive-") && !before.has(n));
    expect(created.length).toBeGreaterThanOrEqual(1);
    await image.close();
    for (const dir of created) expect(existsSync(path.join(os.tmpdir(), dir))).toBe(false);
  });
});

describeWithShared("broken real fixtures fail cleanly", () => {
  it.each(FAILING)("%s", async (file, message) => {
    const source = sharedPath(file);
    const error = await openImage(source).catch((e: unknown) => e);
    expectCleanError(error, message, source);
  });

  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-fixtures-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  // stereoscope's manifest.json test data, wrapped in an archive the way docker save would ship it.
  it.each([
    ["no-descriptors.json", /manifest\.json lists no images/],
    ["single-blank-manifest.json", /manifest\.json entry 0 lacks Config or Layers/],
    ["empty-file", /manifest\.json is not valid JSON/],
    [
      "valid-multi-manifest-with-tags.json",
      /holds 2 images \(anchore\/anchore-engine:latest, anchore\/anchore-engine:v0\.8\.2\)/,
    ],
  ])("docker manifest.json %s", async (name, message) => {
    const archive = path.join(dir, `${name}.tar`);
    await writeTar(archive, [
      { path: "manifest.json", content: readFileSync(sharedPath("images/stereoscope/docker/testdata", name)) },
    ]);
    const error = await openImage(`docker-archive:${archive}`).catch((e: unknown) => e);
    expectCleanError(error, message, archive);
  });
});

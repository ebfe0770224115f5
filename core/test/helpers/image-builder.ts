/**
 * Builds tiny OCI / Docker images in memory for tests, and writes them as an OCI layout directory,
 * an OCI archive or a legacy `docker save` archive. Everything is deterministic (fixed mtimes,
 * sorted JSON is not needed because we keep insertion order) so digests are stable across runs.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import * as zlib from "node:zlib";
import { pack as tarPack, type Header } from "tar-stream";

export type Compression = "gzip" | "zstd" | "none";

export interface LayerEntry {
  path: string;
  type?: "file" | "dir" | "symlink" | "hardlink";
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export interface BuiltLayer {
  /** The blob as stored (compressed unless compression is "none"). */
  blob: Buffer;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** sha256 of `blob`. */
  digest: string;
  mediaType: string;
  /** The uncompressed tar. */
  tar: Buffer;
}

export interface BuiltImage {
  manifest: Record<string, unknown>;
  manifestBlob: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  config: Record<string, unknown>;
  configBlob: Buffer;
  configDigest: string;
  platform: TestPlatform;
  layers: BuiltLayer[];
  /** Every blob the manifest references, plus the manifest itself. */
  blobs: Map<string, Buffer>;
}

export interface BuiltIndex {
  index: Record<string, unknown>;
  indexBlob: Buffer;
  indexDigest: string;
  images: BuiltImage[];
  /** Every blob reachable from the index, including the index itself. */
  blobs: Map<string, Buffer>;
}

export interface TestPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";

const LAYER_MEDIA_TYPES: Record<"oci" | "docker", Record<Compression, string>> = {
  oci: {
    gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
    zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
    none: "application/vnd.oci.image.layer.v1.tar",
  },
  docker: {
    gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    zstd: "application/vnd.docker.image.rootfs.diff.tar.zstd",
    none: "application/vnd.docker.image.rootfs.diff.tar",
  },
};

const FIXED_MTIME = new Date(0);

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

function jsonBlob(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

let zstdCliChecked: boolean | undefined;

/**
 * Why zstd is unavailable, or undefined when it can be produced. node:zlib gained zstd in 22.15;
 * on Node 20 the `zstd` CLI (apt install zstd) is used instead. Tests use this with `it.skipIf`.
 */
export function zstdUnavailableReason(): string | undefined {
  if (typeof (zlib as Record<string, unknown>).zstdCompressSync === "function") return undefined;
  if (zstdCliChecked === undefined) {
    zstdCliChecked = spawnSync("zstd", ["--version"], { stdio: "ignore" }).status === 0;
  }
  return zstdCliChecked
    ? undefined
    : "zstd cases skipped: node:zlib has no zstd before Node 22.15 and the `zstd` CLI is not installed (apt-get install zstd)";
}

function zstdCompress(data: Buffer): Buffer {
  const native = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
  if (native) return native(data);
  const reason = zstdUnavailableReason();
  if (reason) throw new Error(reason);
  const result = spawnSync("zstd", ["-q", "-c", "-"], { input: data, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`zstd failed: ${result.stderr.toString()}`);
  return result.stdout;
}

const TAR_TYPES: Record<NonNullable<LayerEntry["type"]>, Header["type"]> = {
  file: "file",
  dir: "directory",
  symlink: "symlink",
  hardlink: "link",
};

/** Builds an uncompressed tar from entries, in order. Names are written as given (even hostile ones). */
export async function buildTar(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const type = entry.type ?? "file";
    const content = type === "file" ? Buffer.from(entry.content ?? "") : undefined;
    const header: Partial<Header> & Pick<Header, "name"> = {
      name: entry.path,
      type: TAR_TYPES[type],
      mode: entry.mode ?? (type === "dir" ? 0o755 : 0o644),
      mtime: FIXED_MTIME,
      uid: 0,
      gid: 0,
      ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
      size: content?.length ?? 0,
    };
    await new Promise<void>((resolve, reject) => {
      pack.entry(header, content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function buildLayer(
  entries: LayerEntry[],
  options: { compression?: Compression; mediaTypes?: "oci" | "docker" } = {},
): Promise<BuiltLayer> {
  const compression = options.compression ?? "gzip";
  const tar = await buildTar(entries);
  const blob =
    compression === "gzip" ? zlib.gzipSync(tar, { level: 6 }) : compression === "zstd" ? zstdCompress(tar) : tar;
  return {
    blob,
    tar,
    diffId: sha256(tar),
    digest: sha256(blob),
    mediaType: LAYER_MEDIA_TYPES[options.mediaTypes ?? "oci"][compression],
  };
}

export interface BuildImageOptions {
  layers: BuiltLayer[];
  platform?: TestPlatform;
  /** Written to the config as-is; defaults to one `created_by` entry per layer. */
  history?: { created_by?: string; empty_layer?: boolean; comment?: string }[];
  /** Merged over the generated config (e.g. to break rootfs.diff_ids on purpose). */
  config?: Record<string, unknown>;
  /** "docker" writes Docker v2 schema 2 media types. */
  mediaTypes?: "oci" | "docker";
  annotations?: Record<string, string>;
}

export function buildImage(options: BuildImageOptions): BuiltImage {
  const platform = options.platform ?? { os: "linux", architecture: "amd64" };
  const docker = options.mediaTypes === "docker";
  const config: Record<string, unknown> = {
    created: "1970-01-01T00:00:00Z",
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
    rootfs: { type: "layers", diff_ids: options.layers.map((l) => l.diffId) },
    history: options.history ?? options.layers.map((_, i) => ({ created_by: `RUN step ${i}` })),
    ...options.config,
  };
  const configBlob = jsonBlob(config);
  const configDigest = sha256(configBlob);
  const manifestMediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: { mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG, digest: configDigest, size: configBlob.length },
    layers: options.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const manifestBlob = jsonBlob(manifest);
  const manifestDigest = sha256(manifestBlob);
  const blobs = new Map<string, Buffer>([
    [manifestDigest, manifestBlob],
    [configDigest, configBlob],
  ]);
  for (const layer of options.layers) blobs.set(layer.digest, layer.blob);
  return {
    manifest,
    manifestBlob,
    manifestDigest,
    manifestMediaType,
    config,
    configBlob,
    configDigest,
    platform,
    layers: options.layers,
    blobs,
  };
}

/** A descriptor pointing at `image`'s manifest, with its platform. */
export function manifestDescriptor(
  image: BuiltImage,
  extra: { annotations?: Record<string, string>; platform?: TestPlatform | null } = {},
): Record<string, unknown> {
  const platform = extra.platform === null ? undefined : (extra.platform ?? image.platform);
  return {
    mediaType: image.manifestMediaType,
    digest: image.manifestDigest,
    size: image.manifestBlob.length,
    ...(platform ? { platform } : {}),
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
}

/**
 * A buildx-style attestation manifest for `subject`: platform unknown/unknown plus the
 * `vnd.docker.reference.*` annotations, and an in-toto layer.
 */
export function buildAttestation(subject: BuiltImage): { image: BuiltImage; descriptor: Record<string, unknown> } {
  const statement = Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v0.1", subject: [] }));
  const layer: BuiltLayer = {
    blob: statement,
    tar: statement,
    diffId: sha256(statement),
    digest: sha256(statement),
    mediaType: "application/vnd.in-toto+json",
  };
  const image = buildImage({
    layers: [layer],
    platform: { os: "unknown", architecture: "unknown" },
    history: [],
  });
  const descriptor = manifestDescriptor(image, {
    annotations: {
      "vnd.docker.reference.digest": subject.manifestDigest,
      "vnd.docker.reference.type": "attestation-manifest",
    },
  });
  return { image, descriptor };
}

/** A multi-arch index over `images`, optionally with one attestation manifest per image. */
export function buildIndex(
  images: BuiltImage[],
  options: { attestations?: boolean; mediaTypes?: "oci" | "docker"; children?: BuiltIndex[] } = {},
): BuiltIndex {
  const docker = options.mediaTypes === "docker";
  const manifests: Record<string, unknown>[] = [];
  const blobs = new Map<string, Buffer>();
  const all: BuiltImage[] = [];
  for (const image of images) {
    manifests.push(manifestDescriptor(image));
    for (const [d, b] of image.blobs) blobs.set(d, b);
    all.push(image);
    if (options.attestations) {
      const att = buildAttestation(image);
      manifests.push(att.descriptor);
      for (const [d, b] of att.image.blobs) blobs.set(d, b);
    }
  }
  for (const child of options.children ?? []) {
    manifests.push({ mediaType: OCI_INDEX, digest: child.indexDigest, size: child.indexBlob.length });
    for (const [d, b] of child.blobs) blobs.set(d, b);
    all.push(...child.images);
  }
  const index = { schemaVersion: 2, mediaType: docker ? DOCKER_LIST : OCI_INDEX, manifests };
  const indexBlob = jsonBlob(index);
  const indexDigest = sha256(indexBlob);
  blobs.set(indexDigest, indexBlob);
  return { index, indexBlob, indexDigest, images: all, blobs };
}

/** What goes into an OCI layout: single images (each tagged) or one multi-arch index. */
export type LayoutContent = { images: { image: BuiltImage; tag?: string }[] } | { index: BuiltIndex; tag?: string };

function layoutFiles(content: LayoutContent): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set("oci-layout", jsonBlob({ imageLayoutVersion: "1.0.0" }));
  let manifests: Record<string, unknown>[];
  const blobs = new Map<string, Buffer>();
  if ("images" in content) {
    manifests = content.images.map(({ image, tag }) => {
      for (const [d, b] of image.blobs) blobs.set(d, b);
      return manifestDescriptor(image, {
        annotations: tag ? { "org.opencontainers.image.ref.name": tag } : undefined,
        platform: null,
      });
    });
  } else {
    for (const [d, b] of content.index.blobs) blobs.set(d, b);
    manifests = [
      {
        mediaType: OCI_INDEX,
        digest: content.index.indexDigest,
        size: content.index.indexBlob.length,
        ...(content.tag ? { annotations: { "org.opencontainers.image.ref.name": content.tag } } : {}),
      },
    ];
  }
  files.set("index.json", jsonBlob({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  for (const [digest, blob] of blobs) files.set(`blobs/sha256/${hexOf(digest)}`, blob);
  return files;
}

async function writeFiles(dir: string, files: Map<string, Buffer>): Promise<void> {
  for (const [name, data] of files) {
    const target = path.join(dir, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, data);
  }
}

function filesToTar(files: Map<string, Buffer>): Promise<Buffer> {
  return buildTar([...files].map(([name, content]) => ({ path: name, content })));
}

export async function writeOciLayout(dir: string, content: LayoutContent): Promise<void> {
  await writeFiles(dir, layoutFiles(content));
}

export async function writeOciArchive(file: string, content: LayoutContent): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await filesToTar(layoutFiles(content)));
}

export interface DockerArchiveImage {
  image: BuiltImage;
  repoTags?: string[];
}

/**
 * The members of a `docker save` archive. "legacy" is the pre-25 form (`<id>/layer.tar`,
 * `<config-hex>.json`, uncompressed layers); "oci" is Docker 25+ (an OCI layout plus a
 * manifest.json whose paths point into blobs/sha256).
 */
export function dockerArchiveFiles(
  images: DockerArchiveImage[],
  form: "legacy" | "oci" = "legacy",
): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const manifest: Record<string, unknown>[] = [];
  if (form === "oci") {
    for (const [name, data] of layoutFiles({
      images: images.map(({ image, repoTags }) => ({ image, tag: repoTags?.[0] })),
    })) {
      files.set(name, data);
    }
  }
  for (const { image, repoTags } of images) {
    if (form === "oci") {
      manifest.push({
        Config: `blobs/sha256/${hexOf(image.configDigest)}`,
        RepoTags: repoTags ?? null,
        Layers: image.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
      });
      continue;
    }
    const configName = `${hexOf(image.configDigest)}.json`;
    files.set(configName, image.configBlob);
    const layerNames = image.layers.map((layer) => {
      const name = `${hexOf(layer.diffId)}/layer.tar`;
      files.set(name, layer.tar);
      return name;
    });
    manifest.push({ Config: configName, RepoTags: repoTags ?? null, Layers: layerNames });
  }
  files.set("manifest.json", jsonBlob(manifest));
  return files;
}

export async function writeDockerArchive(
  file: string,
  images: DockerArchiveImage[],
  form: "legacy" | "oci" = "legacy",
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await filesToTar(dockerArchiveFiles(images, form)));
}

/** Writes an arbitrary member list as a tar (for hostile-archive tests). */
export async function writeTar(file: string, entries: LayerEntry[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await buildTar(entries));
}

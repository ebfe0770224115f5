import { createHash } from "node:crypto";
import { ImageError, quoteInput, quoteInputs } from "../errors.js";
import { sha256Digest, verifyDigest } from "./digest.js";
import { FileBlob, readBufferBytes } from "./file-blob.js";
import { MAX_METADATA_BYTES, asImageConfig, layerDescriptors, parseJson, type StoredLayer } from "./manifest.js";
import type { MemberStore } from "./member-store.js";
import { toResolvedImage } from "./resolved-image.js";
import type { ResolvedImage } from "./types.js";

export interface DockerArchiveOptions {
  reference: string;
  release?: () => Promise<void>;
}

interface ManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const DOCKER_LAYER_TYPES = {
  tar: "application/vnd.docker.image.rootfs.diff.tar",
  gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  zstd: "application/vnd.docker.image.rootfs.diff.tar.zstd",
} as const;

/** `blobs/sha256/<hex>` (Docker 25+) or `<hex>.json` / `sha256:<hex>` (older tools) name their own digest. */
function digestInName(name: string): string | undefined {
  const match = /(?:^|\/)(?:sha256[:/])?([a-f0-9]{64})(?:\.json)?$/.exec(name);
  return match ? `sha256:${match[1]}` : undefined;
}

function readEntries(value: unknown, label: string): ManifestEntry[] {
  if (!Array.isArray(value))
    throw new ImageError(`${label}: manifest.json is not a list of images; the archive is malformed`);
  if (value.length === 0) throw new ImageError(`${label}: manifest.json lists no images; the archive is empty`);
  return value.map((entry, i) => {
    const e = entry as Partial<ManifestEntry> | null;
    if (
      !e ||
      typeof e.Config !== "string" ||
      e.Config === "" ||
      !Array.isArray(e.Layers) ||
      !e.Layers.every((l) => typeof l === "string")
    ) {
      throw new ImageError(`${label}: manifest.json entry ${i} lacks Config or Layers; the archive is malformed`);
    }
    return e as ManifestEntry;
  });
}

/**
 * Resolves the legacy `docker save` form (manifest.json + `<id>.json` config + layer tars).
 * manifest.json carries no blob digests, so what can be checked is:
 * - the config's digest, which is its sha256 and which its file name repeats;
 * - uncompressed layers (what docker save writes), whose stored sha256 must equal the config's
 *   diff_id, so the diff_id serves as the blob digest and openLayer verifies it as it streams;
 * - compressed layers (skopeo, kaniko): nothing addresses the blob, so its digest is computed
 *   from the stored bytes here (the layer's reported digest and part of the synthesized manifest
 *   digest), and reading it checks the diff_id instead (verify: "diffId"): that is the only digest
 *   the image itself vouches for.
 */
export async function resolveDockerArchive(store: MemberStore, options: DockerArchiveOptions): Promise<ResolvedImage> {
  const label = store.label;
  if (store.size("manifest.json") === undefined) {
    throw new ImageError(`${label}: manifest.json is missing; this is not a docker save archive`);
  }
  const entries = readEntries(
    parseJson(await store.read("manifest.json", MAX_METADATA_BYTES), `${label}: manifest.json`),
    label,
  );
  if (entries.length > 1) {
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    throw new ImageError(
      `${label}: the archive holds ${entries.length} images${tags.length ? ` (${quoteInputs(tags)})` : ""}; save one image per archive`,
    );
  }
  const entry = entries[0]!;
  if (store.size(entry.Config) === undefined) {
    throw new ImageError(
      `${label}: member ${quoteInput(entry.Config)} (the image config) is missing; the archive is incomplete`,
    );
  }
  const configData = await store.read(entry.Config, MAX_METADATA_BYTES);
  const configDigest = sha256Digest(configData);
  const named = digestInName(entry.Config);
  if (named) verifyDigest(configData, named, `${label}: config ${entry.Config}`);
  const config = asImageConfig(parseJson(configData, `${label}: ${entry.Config}`), `${label}: ${entry.Config}`);
  if (entry.Layers.length !== config.rootfs.diff_ids.length) {
    throw new ImageError(
      `${label}: manifest.json lists ${entry.Layers.length} layer(s) but the config has ${config.rootfs.diff_ids.length} diff_ids; the archive is incomplete or damaged`,
    );
  }

  const stored: StoredLayer[] = [];
  for (const [i, member] of entry.Layers.entries()) {
    const size = store.size(member);
    if (size === undefined)
      throw new ImageError(`${label}: layer ${i} member ${quoteInput(member)} is missing; the archive is incomplete`);
    const compression = await sniffCompression(store, member);
    const inName = digestInName(member);
    const mediaType = DOCKER_LAYER_TYPES[compression];
    if (inName || compression === "tar") stored.push({ digest: inName ?? config.rootfs.diff_ids[i]!, size, mediaType });
    else stored.push({ digest: await hashMember(store, member), size, mediaType, verify: "diffId" });
  }

  return toResolvedImage({
    reference: options.reference,
    manifestDigest: synthesizedManifestDigest(configDigest, configData.length, stored),
    configDigest,
    config,
    layers: layerDescriptors(stored, config, `${label}: ${entry.Config}`),
    layerMembers: entry.Layers,
    store,
    ...(options.release ? { release: options.release } : {}),
  });
}

/**
 * A docker-archive has no manifest; this is the digest of the Docker v2 manifest that describes
 * the stored blobs (what `docker load` + push of these exact blobs would reference), so the same
 * archive always gets the same, content-derived identity.
 */
function synthesizedManifestDigest(configDigest: string, configSize: number, layers: StoredLayer[]): string {
  return sha256Digest(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: configSize, digest: configDigest },
      layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
    }),
  );
}

async function sniffCompression(store: MemberStore, member: string): Promise<keyof typeof DOCKER_LAYER_TYPES> {
  const head = await readHead(store, member, 4);
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "tar";
}

async function readHead(store: MemberStore, member: string, bytes: number): Promise<Buffer> {
  if (store.range && bytes <= 4) {
    // A 4-byte positioned read, not a stream that reads a whole 1 MiB chunk to look at 4 bytes.
    const blob = await FileBlob.open(store.range(member), undefined, `${store.label}: ${member}`);
    blob.destroy();
    return Buffer.concat([blob.head, Buffer.alloc(bytes - blob.head.length)]);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = store.open(member);
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  const head = Buffer.concat(chunks).subarray(0, bytes);
  return head.length === bytes ? head : Buffer.concat([head, Buffer.alloc(bytes - head.length)]);
}

async function hashMember(store: MemberStore, member: string): Promise<string> {
  const hash = createHash("sha256");
  if (store.range) {
    // One reused buffer for the whole member: no allocation (and page faults) per read.
    const blob = await FileBlob.open(store.range(member), undefined, `${store.label}: ${member}`);
    const buffer = Buffer.allocUnsafeSlow(readBufferBytes(blob.range.size));
    try {
      for (let data = await blob.next(buffer); data; data = await blob.next(buffer)) hash.update(data);
    } finally {
      blob.destroy();
    }
    return `sha256:${hash.digest("hex")}`;
  }
  for await (const chunk of store.open(member)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

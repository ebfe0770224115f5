/**
 * The scale image of issue 13, generated once into the bench cache (outside the repository, see
 * bench/nodes.ts) and reused: an OCI layout of about 2 GiB of tar in 40 gzip layers.
 *   layer 0      the real Debian bookworm-minbase layer from ../shared (dpkg database, binaries)
 *   layer 1      a language-heavy layer: BENCH_SCALE_JARS Java archives (the real fixtures from
 *                ../shared under different names) and BENCH_SCALE_DIST_INFOS Python dist-infos
 *   layers 2-39  filler: 1 MiB files cut from the Debian tar's own bytes, so they compress like a
 *                real image rather than like zeros or noise
 * Layers are built and written one at a time, so generating it never holds more than one in memory.
 * `tsx bench/scale-image.ts` only generates it and prints where it is.
 */
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { buildTar, type LayerEntry } from "../core/test/helpers/image-builder.js";
import { benchCacheDir } from "./nodes.js";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const shared = path.resolve(root, "../shared");
const debianArchive = path.join(shared, "images/debian/bookworm-minbase.oci-archive.tar");
const LAYERS = 40;
const TARGET_TAR_BYTES = 2 * 1024 ** 3;
const JARS = Number(process.env.BENCH_SCALE_JARS ?? 500);
const DIST_INFOS = Number(process.env.BENCH_SCALE_DIST_INFOS ?? 3000);
/** Bump when the generated content changes, so a stale cached image is rebuilt. */
const VERSION = `v1-${JARS}-${DIST_INFOS}`;

export interface ScaleImage {
  /** `oci:DIR:scale`, what the bench passes to `stowaway sbom`. */
  target: string;
  /** Every layer blob, for the decompression floor. */
  blobs: string[];
  tarBytes: number;
  compressedBytes: number;
  layers: number;
}

const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

function readMember(archive: string, member: string): Buffer {
  const result = spawnSync("tar", ["-xOf", archive, member], { maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`cannot read ${member} from ${archive}`);
  return result.stdout;
}

/** The Debian layer blob as it is in the shared archive. */
function debianLayer(): Buffer {
  const index = JSON.parse(readMember(debianArchive, "index.json").toString()) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(
    readMember(debianArchive, `blobs/sha256/${index.manifests[0]!.digest.slice(7)}`).toString(),
  ) as { layers: { digest: string }[] };
  return readMember(debianArchive, `blobs/sha256/${manifest.layers[0]!.digest.slice(7)}`);
}

function languageEntries(jars: number): LayerEntry[] {
  const archives = ["trivy-test.jar", "trivy-test.par"].map((name) => ({
    extension: path.extname(name),
    content: readFileSync(path.join(shared, "fixtures/java-archives", name)),
  }));
  const entries: LayerEntry[] = [];
  for (let i = 0; i < jars; i += 1) {
    const { extension, content } = archives[i % archives.length]!;
    entries.push({ path: `opt/service${i % 9}/lib/component-${i}-1.${i}.0${extension}`, content });
  }
  for (let i = 0; i < DIST_INFOS; i += 1) {
    const version = `${i % 10}.${i % 7}.${i}`;
    const dir = `usr/local/lib/python3.12/site-packages/package_${i}-${version}.dist-info`;
    entries.push({
      path: `${dir}/METADATA`,
      content: `Metadata-Version: 2.1\nName: package_${i}\nVersion: ${version}\nLicense: MIT\n\n${"Long description. ".repeat(100)}`,
    });
    entries.push({ path: `${dir}/RECORD`, content: `package_${i}/__init__.py,sha256=abc,10\n`.repeat(10) });
    entries.push({ path: `usr/local/lib/python3.12/site-packages/package_${i}/__init__.py`, content: "x = 1\n" });
  }
  return entries;
}

function fillerEntries(layer: number, bytes: number, source: Buffer, sequential: boolean): LayerEntry[] {
  const entries: LayerEntry[] = [];
  const size = 1024 * 1024;
  for (let j = 0; j * size < bytes; j += 1) {
    // A different window of real bytes per file: deterministic, and not one block repeated. The
    // sequential windows follow the tar in order, so they compress as the Debian layer itself does.
    const offset = sequential
      ? ((layer * 37 + j) * size) % (source.length - size)
      : ((layer * 7919 + j * 104729) * 4096) % (source.length - size);
    entries.push({ path: `srv/data-${layer}/part-${j}.bin`, content: source.subarray(offset, offset + size) });
  }
  return entries;
}

/** The scale image, generated on first use (a few minutes on 2 cores) and cached. */
export function scaleImage(log: (line: string) => void = console.log): Promise<ScaleImage> {
  return generatedImage(`scale-image-${VERSION}`, { layers: LAYERS, tarBytes: TARGET_TAR_BYTES, jars: JARS }, log);
}

/** Java archives in the issue-sized image's language layer (they barely compress). */
const ISSUE_JARS = 50;

/**
 * About the size of image issue 13's table was measured on (120 MiB of gzip, 311 MiB of tar), from
 * the same real bytes: the Debian layer, a language layer (ISSUE_JARS archives, the dist-infos) and
 * a filler layer of the Debian tar's bytes in order, compressed at gzip's default level 6 as image
 * builders do, so it compresses like a real image. The Debian image alone (49 MiB) is small enough
 * for start-up and fixed costs to dominate; this one weighs decoding as the issue's image did.
 */
export function issueSizedImage(log: (line: string) => void = console.log): Promise<ScaleImage> {
  return generatedImage(
    `issue-image-v2-${ISSUE_JARS}-${DIST_INFOS}`,
    { layers: 3, tarBytes: 311 * 1024 ** 2, jars: ISSUE_JARS, fillerLevel: 6, sequential: true },
    log,
  );
}

async function generatedImage(
  name: string,
  shape: { layers: number; tarBytes: number; jars: number; fillerLevel?: number; sequential?: boolean },
  log: (line: string) => void,
): Promise<ScaleImage> {
  const { layers: layerCount, tarBytes: targetTarBytes } = shape;
  const dir = path.join(benchCacheDir(), name);
  const describe = path.join(dir, "bench.json");
  if (existsSync(describe)) return JSON.parse(readFileSync(describe, "utf8")) as ScaleImage;
  log(`generating the ${(targetTarBytes / 1024 ** 2).toFixed(0)} MiB / ${layerCount}-layer image into ${dir} (once)`);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(path.join(partial, "blobs/sha256"), { recursive: true });
  const layers: { digest: string; diffId: string; size: number; tarBytes: number }[] = [];
  const writeLayer = (blob: Buffer, tar: Buffer): void => {
    const digest = sha256(blob);
    writeFileSync(path.join(partial, "blobs/sha256", digest.slice(7)), blob);
    layers.push({ digest, diffId: sha256(tar), size: blob.length, tarBytes: tar.length });
  };
  const debian = debianLayer();
  const debianTar = gunzipSync(debian);
  writeLayer(debian, debianTar);
  const languageTar = await buildTar(languageEntries(shape.jars));
  writeLayer(gzipSync(languageTar, { level: 6 }), languageTar);
  const remaining = targetTarBytes - debianTar.length - languageTar.length;
  const perLayer = Math.floor(remaining / (layerCount - 2));
  for (let layer = 2; layer < layerCount; layer += 1) {
    const tar = await buildTar(fillerEntries(layer, perLayer - 64 * 1024, debianTar, shape.sequential ?? false));
    // Level 1 keeps the 2 GiB image's generation short; decoding speed barely depends on the level.
    writeLayer(gzipSync(tar, { level: shape.fillerLevel ?? 1 }), tar);
  }
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  const config = json({
    created: "1970-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map((_, i) => ({ created_by: `RUN bench layer ${i}` })),
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: layers.map((layer) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: layer.digest,
      size: layer.size,
    })),
  });
  for (const blob of [config, manifest]) writeFileSync(path.join(partial, "blobs/sha256", sha256(blob).slice(7)), blob);
  writeFileSync(path.join(partial, "oci-layout"), json({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    path.join(partial, "index.json"),
    json({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "scale" },
        },
      ],
    }),
  );
  const image: ScaleImage = {
    target: `oci:${dir}:scale`,
    blobs: layers.map((layer) => path.join(dir, "blobs/sha256", layer.digest.slice(7))),
    tarBytes: layers.reduce((sum, layer) => sum + layer.tarBytes, 0),
    compressedBytes: layers.reduce((sum, layer) => sum + layer.size, 0),
    layers: layers.length,
  };
  writeFileSync(path.join(partial, "bench.json"), JSON.stringify(image));
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return image;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const image of [await scaleImage(), await issueSizedImage()])
    console.log(
      `${image.target}: ${image.layers} layers, ${(image.tarBytes / 1024 ** 3).toFixed(2)} GiB of tar, ${(image.compressedBytes / 1024 ** 2).toFixed(0)} MiB gzip`,
    );
}

import type { FileCataloger, StreamCondenser } from "../catalog/types.js";
import { ImageError } from "../errors.js";
import { walkLayer, type LayerLimits, type LayerSnapshot, type PathFilter } from "./layer-walker.js";
import type { LayerCache } from "./layer-cache.js";
import { verifiedDigest, type LayerDescriptor, type ResolvedImage } from "./types.js";

export type LayerProgress =
  | { kind: "layer-start"; index: number; total: number; digest: string; size: number }
  | { kind: "layer-done"; index: number; total: number; cached: boolean };

export interface ReadLayersOptions {
  wants: PathFilter;
  refusedBy?: (path: string, size: number) => readonly string[];
  condense?: (path: string, size: number) => StreamCondenser | undefined;
  fileCatalogers?: FileCataloger[];
  cache?: LayerCache;
  tempDir?: string;
  limits?: LayerLimits;
  /** Layers read at once; decompression runs on libuv's thread pool, so a few overlap well. */
  concurrency?: number;
  onProgress?: (event: LayerProgress) => void;
  /** Cache write failures (read-only home, full disk) must not fail a scan; they are reported here. */
  onWarning?: (message: string) => void;
}

/**
 * Snapshots every layer of `image` in order, from the cache when it has them, reading each missing layer once.
 *
 * Each byte is hashed once: openLayer's stream verifies the blob digest before it ends, so the walker
 * does not hash the uncompressed stream for the diff_id too. For an uncompressed layer that digest is
 * the diff_id (checked below without hashing); for a compressed one the blob digest identifies the
 * layer and the diff_id is the image's unverified claim, as in go-containerregistry (and so Trivy).
 * The layer cache is keyed by that verified digest (verifiedDigest: the diff_id only where nothing
 * addresses the blob and the walker hashes the diff_id instead), never by an unverified claim.
 */
export async function readLayerSnapshots(image: ResolvedImage, options: ReadLayersOptions): Promise<LayerSnapshot[]> {
  const total = image.layers.length;
  const snapshots = new Array<LayerSnapshot>(total);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 3, total));
  let next = 0;

  const readOne = async (index: number): Promise<void> => {
    const layer = image.layers[index]!;
    const cache = options.cache;
    const key = verifiedDigest(layer);
    let cached = await cache?.get(key);
    // Another scan in this process is reading the same layer (or just has): wait and take its entry.
    const elsewhere = cached ? undefined : cache?.readInProgress(key);
    if (elsewhere) {
      await elsewhere;
      cached = await cache!.get(key);
    }
    if (cached) {
      // The same blob may be claimed with another diff_id by this image: the cold read's check applies.
      checkUncompressedDiffId(layer, cached.stats.compression, layerName(index));
      snapshots[index] = { ...cached, diffId: layer.diffId };
      options.onProgress?.({ kind: "layer-done", index, total, cached: true });
      return;
    }
    await (cache ? cache.readOnce(key, () => readAndStore(index)) : readAndStore(index));
  };

  const readAndStore = async (index: number): Promise<void> => {
    const layer = image.layers[index]!;
    options.onProgress?.({ kind: "layer-start", index, total, digest: layer.digest, size: layer.size });
    const blob = await image.openLayer(index);
    const what = layerName(index);
    const snapshot = await walkLayer(blob, layer.diffId, {
      what,
      // openLayer verifies the blob digest before the stream ends (ResolvedImage), and walkLayer
      // returns only after the end: hashing the uncompressed bytes again would verify nothing more.
      verifyDiffId: layer.verify === "diffId",
      wants: options.wants,
      ...(options.refusedBy ? { refusedBy: options.refusedBy } : {}),
      ...(options.condense ? { condense: options.condense } : {}),
      ...(options.fileCatalogers ? { fileCatalogers: options.fileCatalogers } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.tempDir ? { tempDir: options.tempDir } : {}),
    });
    checkUncompressedDiffId(layer, snapshot.stats.compression, what);
    snapshots[index] = snapshot;
    if (options.cache) {
      await options.cache.put(verifiedDigest(layer), snapshot).catch((error: Error) => {
        options.onWarning?.(
          `could not write the layer cache (${error.message}); the next scan will read the layer again`,
        );
      });
    }
    options.onProgress?.({ kind: "layer-done", index, total, cached: false });
  };

  const layerName = (index: number): string => `${image.reference} layer ${index} (${image.layers[index]!.digest})`;

  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      await readOne(index);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return snapshots;
}

/**
 * An uncompressed layer's blob is its tar, so its verified sha256 blob digest is its diff_id: a config
 * naming another diff_id is refused without hashing anything again. (A sha512 blob digest cannot be
 * compared; that diff_id is then unverified, like a compressed layer's.)
 */
function checkUncompressedDiffId(layer: LayerDescriptor, compression: string, what: string): void {
  if (compression !== "none" || layer.verify === "diffId") return;
  if (!layer.digest.startsWith("sha256:") || layer.digest === layer.diffId) return;
  throw new ImageError(
    `${what}: the layer is an uncompressed tar, so its diff_id must be its digest, but the config says ${layer.diffId}; the image is corrupt or was tampered with`,
  );
}

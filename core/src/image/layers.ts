import type { FileCataloger, StreamCondenser } from "../catalog/types.js";
import { walkLayer, type LayerLimits, type LayerSnapshot, type PathFilter } from "./layer-walker.js";
import type { LayerCache } from "./layer-cache.js";
import type { ResolvedImage } from "./types.js";

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

/** Snapshots every layer of `image` in order, from the cache when it has them, reading each missing layer once. */
export async function readLayerSnapshots(image: ResolvedImage, options: ReadLayersOptions): Promise<LayerSnapshot[]> {
  const total = image.layers.length;
  const snapshots = new Array<LayerSnapshot>(total);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 3, total));
  let next = 0;

  const readOne = async (index: number): Promise<void> => {
    const layer = image.layers[index]!;
    const cache = options.cache;
    let cached = await cache?.get(layer.diffId);
    // Another scan in this process is reading the same layer (or just has): wait and take its entry.
    const elsewhere = cached ? undefined : cache?.readInProgress(layer.diffId);
    if (elsewhere) {
      await elsewhere;
      cached = await cache!.get(layer.diffId);
    }
    if (cached) {
      snapshots[index] = cached;
      options.onProgress?.({ kind: "layer-done", index, total, cached: true });
      return;
    }
    await (cache ? cache.readOnce(layer.diffId, () => readAndStore(index)) : readAndStore(index));
  };

  const readAndStore = async (index: number): Promise<void> => {
    const layer = image.layers[index]!;
    options.onProgress?.({ kind: "layer-start", index, total, digest: layer.digest, size: layer.size });
    const blob = await image.openLayer(index);
    const what = `${image.reference} layer ${index} (${layer.digest})`;
    const snapshot = await walkLayer(blob, layer.diffId, {
      what,
      wants: options.wants,
      ...(options.refusedBy ? { refusedBy: options.refusedBy } : {}),
      ...(options.condense ? { condense: options.condense } : {}),
      ...(options.fileCatalogers ? { fileCatalogers: options.fileCatalogers } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.tempDir ? { tempDir: options.tempDir } : {}),
    });
    snapshots[index] = snapshot;
    if (options.cache) {
      await options.cache.put(snapshot).catch((error: Error) => {
        options.onWarning?.(
          `could not write the layer cache (${error.message}); the next scan will read the layer again`,
        );
      });
    }
    options.onProgress?.({ kind: "layer-done", index, total, cached: false });
  };

  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      await readOne(index);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return snapshots;
}

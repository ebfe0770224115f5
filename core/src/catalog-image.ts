import { createHash } from "node:crypto";
import { defaultCatalogers, defaultOsDetector } from "./catalog/index.js";
import {
  catalogLayers,
  condensedBy,
  prepareCatalogers,
  refusedBy,
  wantedBy,
  type Inventory,
} from "./catalog/inventory.js";
import { isFileCataloger, type AnyCataloger, type FileCataloger, type OsDetector } from "./catalog/types.js";
import { LayerCache } from "./image/layer-cache.js";
import { DEFAULT_LAYER_LIMITS, type LayerLimits } from "./image/layer-walker.js";
import { readLayerSnapshots } from "./image/layers.js";
import type { ResolvedImage } from "./image/types.js";
import type { InventoryOptions } from "./image-inventory.js";

/**
 * The cold half of inventoryImage (image-inventory.ts): the catalogers, the layer walk and the layer
 * cache. image-inventory.ts loads this module with import() only when the inventory cache misses (or
 * the caller brings its own catalogers or limits), so a warm rescan never loads or compiles it.
 */
export interface Analyzers {
  catalogers: AnyCataloger[];
  osDetector: OsDetector;
  limits: LayerLimits;
  fingerprint: string;
}

/**
 * Everything that decides which files a layer walk keeps and what the catalogers make of them: part
 * of the layer cache key and of the inventory cache key.
 */
function analyzerFingerprint(catalogers: AnyCataloger[], osDetector: OsDetector, limits: LayerLimits): string {
  const parts = [osDetector, ...catalogers].map((analyzer) => `${analyzer.name}@${analyzer.version}`).sort();
  parts.push(`maxFileBytes=${limits.maxFileBytes}`, `maxCollectedBytes=${limits.maxCollectedBytes}`);
  return createHash("sha256").update(parts.join("\n")).digest("hex");
}

export function analyzersFor(options: Pick<InventoryOptions, "catalogers" | "osDetector" | "limits">): Analyzers {
  const catalogers = options.catalogers ?? defaultCatalogers();
  const osDetector = options.osDetector ?? defaultOsDetector();
  const limits = { ...DEFAULT_LAYER_LIMITS, ...options.limits };
  return { catalogers, osDetector, limits, fingerprint: analyzerFingerprint(catalogers, osDetector, limits) };
}

/** The fingerprint of the default analyzers: what the scan bundle's build bakes in (core/scripts/bundle-scan.mjs). */
export function defaultAnalyzerFingerprint(): string {
  return analyzersFor({}).fingerprint;
}

/**
 * Every layer read once (or taken from the layer cache), the catalogers run over the result, each
 * package placed in the layer that introduced it. `warnings` collects this run's own warnings (cache
 * write failures); the returned inventory's warnings are the ones worth storing.
 */
export async function catalogImage(
  image: ResolvedImage,
  analyzers: Analyzers,
  options: InventoryOptions & { cacheDir: string | false },
  warnings: string[],
): Promise<Inventory> {
  const { catalogers, osDetector, limits, fingerprint } = analyzers;
  const snapshots = await readLayerSnapshots(image, {
    wants: wantedBy(catalogers, osDetector),
    refusedBy: refusedBy(catalogers),
    condense: condensedBy(catalogers, osDetector),
    fileCatalogers: catalogers.filter((cataloger): cataloger is FileCataloger => isFileCataloger(cataloger)),
    ...(options.tempDir ? { tempDir: options.tempDir } : {}),
    cache: options.cacheDir === false ? undefined : new LayerCache(options.cacheDir, fingerprint),
    limits,
    concurrency: options.concurrency,
    onProgress: options.onProgress,
    onWarning: (message) => warnings.push(message),
  });
  await prepareCatalogers(snapshots, catalogers);
  const cataloged = catalogLayers(snapshots, catalogers, osDetector);
  // Snapshot warnings come from the layers themselves, so they are part of what is stored; cache
  // write failures (in `warnings`) belong to this run only.
  return {
    ...cataloged,
    warnings: [...snapshots.flatMap((snapshot) => snapshot.warnings), ...cataloged.warnings],
  };
}
